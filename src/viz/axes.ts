/**
 * What the plots share: intervals and their checks, the axes of the equal-aspect 2-D plots, the
 * curve colours and number labels.
 */
import type { FigureMeta } from './figure';
import { checkInterval } from '../core/validate';
export { checkInterval };

/** An interval [lo, hi] on one axis. */
export type Interval = [number, number];

/** Default figure width, px: ~450 px at PNG scale 1.5 gives 30-80 KB PNGs that read well. */
export const DEFAULT_FIGURE_WIDTH = 450;
/** Ticks per axis on 2-D plots: Plot's default puts one every 35 px vertically (too dense). */
const TICKS_2D = 6;
/** Least room per x tick on 2-D plots, px: a label such as "−3.5" at 12 px is ~30 px wide. */
const MIN_TICK_SPACING = 50;
/** Colours of curves: Tableau 10 blue / orange / red, distinguishable in common colour blindness. */
export const BLUE = '#4e79a7';
export const ORANGE = '#f28e2b';
export const RED = '#e15759';

/** Options shared by the 2-D plots. */
export interface Plot2DOptions extends FigureMeta {
  /** Visible x range (default: the grid's, else the data's). */
  xlim?: Interval;
  /** Visible y range. */
  ylim?: Interval;
  /** Figure width in px (default {@link DEFAULT_FIGURE_WIDTH}); the height follows from equal aspect. */
  width?: number;
  /** Axis labels (default z₁, z₂). */
  xLabel?: string;
  yLabel?: string;
}

/** Right margin that holds the bar, its tick labels ("0.86": ~26 px) and its rotated label, px. */
export const COLOR_BAR_MARGIN = 76;
/** Margins of the 2-D plots, px: room for tick labels and the axis labels (offsets 34 and 48). */
const AXES_MARGIN_LEFT = 60;
const AXES_MARGIN_RIGHT = 24;
const AXES_MARGIN_TOP = 20;
const AXES_MARGIN_BOTTOM = 40;

/** The least and the largest finite value of v ([Infinity, -Infinity] when there is none). */
export function finiteExtent(v: ArrayLike<number>): Interval {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (Number.isFinite(x)) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  return [lo, hi];
}

/** The q-quantile of the finite values of v (0 ≤ q ≤ 1), NaN when there are none. */
export function quantile(v: ArrayLike<number>, q: number): number {
  const s: number[] = [];
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i]!)) s.push(v[i]!);
  if (s.length === 0) return NaN;
  s.sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}

/** lim widened by `fraction` of its span on each side (a zero span counts as |lo|, else 1). */
export function padded(lim: Interval, fraction: number): Interval {
  const span = lim[1] - lim[0] || Math.abs(lim[0]) || 1;
  return [lim[0] - fraction * span, lim[1] + fraction * span];
}

/** Plot options of a 2-D plot with equal aspect: size, margins, axes with their labels and ticks. */
export function axes2D(o: Plot2DOptions, xlim: Interval, ylim: Interval, colorBar = false): Record<string, unknown> {
  const width = o.width ?? DEFAULT_FIGURE_WIDTH;
  // Equal aspect (one unit on x as long as one on y), set through the height: Plot's aspectRatio
  // option left the frame ~10% taller than wide with these margins.
  const inner = width - AXES_MARGIN_LEFT - (colorBar ? COLOR_BAR_MARGIN : AXES_MARGIN_RIGHT);
  const height = Math.round(AXES_MARGIN_TOP + AXES_MARGIN_BOTTOM + (inner * (ylim[1] - ylim[0])) / (xlim[1] - xlim[0]));
  return {
    width,
    height,
    marginTop: AXES_MARGIN_TOP,
    marginRight: colorBar ? COLOR_BAR_MARGIN : AXES_MARGIN_RIGHT,
    // Fewer ticks on a narrow frame, so that labels like "−3.5" do not run into each other.
    x: {
      domain: xlim,
      label: o.xLabel ?? 'z₁',
      ticks: Math.max(3, Math.min(TICKS_2D, Math.floor(inner / MIN_TICK_SPACING))),
      labelAnchor: 'center',
      labelArrow: 'none',
      labelOffset: 34,
    },
    y: {
      domain: ylim,
      label: o.yLabel ?? 'z₂',
      ticks: TICKS_2D,
      labelAnchor: 'center',
      labelArrow: 'none',
      labelOffset: 48,
    },
    marginBottom: AXES_MARGIN_BOTTOM,
    marginLeft: AXES_MARGIN_LEFT,
  };
}

/** A number with 4 significant digits and a true minus sign, for labels. */
export function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString().replace('-', '−');
}
