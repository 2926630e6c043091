/**
 * {@link densityPlot}: filled contours of a 2-D density, on a regular grid or on scattered
 * (pushed-forward) points, with a colour bar of the levels. {@link densityMarks} also draws the
 * background of samplesPlot.
 */
import type { DensityField, Grid2D } from '../targets/grid';
import { loadPlot, plotFigure, type Figure, type PlotLib } from './figure';
import {
  axes2D,
  checkInterval,
  finiteExtent,
  padded,
  COLOR_BAR_MARGIN,
  type Interval,
  type Plot2DOptions,
} from './axes';

/** Default contour levels: enough to read a shape, few enough to keep the SVG ~50 KB. */
export const DEFAULT_CONTOUR_LEVELS = 7;
/** Default span of log-density contours below the maximum, nats (e^-8 ≈ 3e-4 of the peak). */
const DEFAULT_LOG_RANGE = 8;

/** Values on a 2-D region: a field from `flowDensity`, or a row-major grid array (y outer). */
export type DensityInput = DensityField | ArrayLike<number>;

/** Options of {@link densityPlot}. */
export interface DensityPlotOptions extends Plot2DOptions {
  /** Grid of a plain value array (required then; `logProbOnGrid` uses the same layout). */
  grid?: Grid2D;
  /** What the numbers are (default 'logDensity': log p̃ or log q, unnormalised is fine). */
  values?: 'logDensity' | 'density';
  /** Contour the log density over `logRange` nats below its peak instead of the density. */
  log?: boolean;
  /** Span of log contours below the peak, nats (default 8). */
  logRange?: number;
  /** Contour levels (default {@link DEFAULT_CONTOUR_LEVELS}). */
  levels?: number;
  /** A Plot/d3 sequential colour scheme (default 'viridis'; 'blues' behind samples). */
  scheme?: string;
  /** Fill the region below the lowest level too (default true: a viridis background). */
  fillBackground?: boolean;
  /**
   * Draw a colour bar right of the plot: one swatch per contour level, labelled with the level's
   * value relative to the peak (density ÷ peak, or log density − log peak with `log: true`).
   * Default true in {@link densityPlot}, false behind the dots of {@link samplesPlot}.
   */
  colorBar?: boolean;
  /** Label of the colour bar (default 'density ÷ peak' or 'log density − peak'). */
  colorBarLabel?: string;
}

/** Width of the colour bar's swatches, px. */
const COLOR_BAR_WIDTH = 12;
/** Gap between the plot frame and the colour bar, px. */
const COLOR_BAR_GAP = 8;

function isDensityField(f: unknown): f is DensityField {
  return typeof f === 'object' && f !== null && 'logDensity' in f && 'x' in f && 'y' in f;
}

/** The Plot marks and the window of a density's filled contours (shared with samplesPlot). */
export function densityMarks(
  Plot: PlotLib,
  input: DensityInput,
  o: DensityPlotOptions,
): {
  marks: unknown[];
  xlim: Interval;
  ylim: Interval;
  levels: number;
  color: Record<string, unknown>;
  bar: unknown[];
} {
  const levels = o.levels ?? DEFAULT_CONTOUR_LEVELS;
  if (!Number.isInteger(levels) || levels < 2) throw new RangeError(`levels must be an integer ≥ 2, got ${levels}`);
  const logRange = o.logRange ?? DEFAULT_LOG_RANGE;
  const field = isDensityField(input) ? input : null;
  const raw: ArrayLike<number> = field ? field.logDensity : (input as ArrayLike<number>);
  const isLog = field ? true : (o.values ?? 'logDensity') === 'logDensity';
  // Normalise to the peak: density in [0, 1], or log density in [-logRange, 0].
  const [, peakRaw] = finiteExtent(raw);
  if (!Number.isFinite(peakRaw)) throw new RangeError('density values have no finite entry');
  const peakLog = isLog ? peakRaw : Math.log(peakRaw);
  const v = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const l = isLog ? raw[i]! - peakLog : Math.log(raw[i]!) - peakLog;
    v[i] = Number.isNaN(l) ? NaN : o.log ? Math.max(l, -logRange) : Math.exp(l);
  }
  const lo = o.log ? -logRange : 0;
  const hi = o.log ? 0 : 1;
  const thresholds: number[] = [];
  for (let k = o.fillBackground === false ? 1 : 0; k < levels; k++) thresholds.push(lo + ((hi - lo) * k) / levels);
  // Plot fills the region v ≥ t with the colour of t; the lowest threshold at the minimum fills all.
  if (o.fillBackground !== false) thresholds[0] = lo - 1e-9;
  // The top band takes the scheme's last colour (yellow in viridis, dark blue in blues).
  const color = { type: 'linear', scheme: o.scheme ?? 'viridis', domain: [lo, thresholds[thresholds.length - 1]] };
  const common = { thresholds, fill: Plot.identity, stroke: 'white', strokeWidth: 0.4, strokeOpacity: 0.6 };
  let xlim: Interval;
  let ylim: Interval;
  let mark: unknown;
  if (field === null || field.regular) {
    let g = o.grid;
    if (field !== null && g === undefined) {
      // A regular field from flowDensity holds midpoints of a square grid: recover it.
      const n = Math.round(Math.sqrt(v.length));
      const [x0, x1] = finiteExtent(field.x);
      const [y0, y1] = finiteExtent(field.y);
      const nx = n * n === v.length ? n : 0;
      if (nx === 0) throw new RangeError('densityPlot needs options.grid for a non-square regular field');
      const hx = (x1 - x0) / (nx - 1);
      const hy = (y1 - y0) / (nx - 1);
      g = { xlim: [x0 - hx / 2, x1 + hx / 2], ylim: [y0 - hy / 2, y1 + hy / 2], nx, ny: nx };
    }
    if (g === undefined) throw new RangeError('densityPlot needs options.grid for a plain array of grid values');
    if (g.nx * g.ny !== v.length) throw new RangeError(`grid is ${g.nx}x${g.ny} but there are ${v.length} values`);
    xlim = o.xlim ?? g.xlim;
    ylim = o.ylim ?? g.ylim;
    // Row-major with y outer: row 0 is the bottom row (y1 = ylim[0]).
    mark = Plot.contour(Array.from(v), {
      ...common,
      width: g.nx,
      height: g.ny,
      x1: g.xlim[0],
      x2: g.xlim[1],
      y1: g.ylim[0],
      y2: g.ylim[1],
    });
  } else {
    // Default window: where the density is within DEFAULT_LOG_RANGE nats of its peak, padded.
    const near: number[] = [];
    for (let i = 0; i < v.length; i++) if (field.logDensity[i]! >= peakLog - DEFAULT_LOG_RANGE) near.push(i);
    const nx = near.map((i) => field.x[i]!);
    const ny = near.map((i) => field.y[i]!);
    xlim = o.xlim ?? padded(finiteExtent(nx), 0.1);
    ylim = o.ylim ?? padded(finiteExtent(ny), 0.1);
    // Scattered points (a pushed-forward grid): interpolate barycentrically on a coarse raster.
    // Keep points near the window so the triangulation covers it; skip far-away ones.
    const [ax, bx] = padded(xlim, 0.25);
    const [ay, by] = padded(ylim, 0.25);
    const idx: number[] = [];
    for (let i = 0; i < v.length; i++) {
      const x = field.x[i]!;
      const y = field.y[i]!;
      if (x >= ax && x <= bx && y >= ay && y <= by && !Number.isNaN(v[i]!)) idx.push(i);
    }
    mark = Plot.contour(idx, {
      ...common,
      x: (i: number) => field.x[i],
      y: (i: number) => field.y[i],
      fill: (i: number) => v[i],
      interpolate: 'barycentric',
      pixelSize: 2,
      x1: xlim[0],
      x2: xlim[1],
      y1: ylim[0],
      y2: ylim[1],
    });
  }
  checkInterval('xlim', xlim);
  checkInterval('ylim', ylim);
  const edges = thresholds.map((t, k) => (k === 0 && o.fillBackground !== false ? lo : t));
  const barLabel = o.colorBarLabel ?? (o.log ? 'log density − peak' : 'density ÷ peak');
  const bar = colorBarMarks(Plot, edges, hi, thresholds, xlim, ylim, barLabel);
  return { marks: [mark], xlim, ylim, levels, color, bar };
}

/**
 * A colour bar drawn as ordinary marks (Plot's continuous legends need a canvas): one vertical
 * swatch per band [edges[k], edges[k+1]) (the last up to `hi`), coloured by the band's threshold
 * through the figure's colour scale, stacked over the full height right of the frame, with the
 * band edges as tick labels and the bar's label rotated beside them. Placed with pixel offsets
 * (dx) from the frame's right edge, so it needs a right margin of {@link COLOR_BAR_MARGIN}.
 */
function colorBarMarks(
  Plot: PlotLib,
  edges: number[],
  hi: number,
  thresholds: number[],
  xlim: Interval,
  ylim: Interval,
  label: string,
): unknown[] {
  const bands = edges.length;
  const at = (k: number) => ylim[0] + ((ylim[1] - ylim[0]) * k) / bands;
  const idx = Array.from({ length: bands }, (_, k) => k);
  const ticks = Array.from({ length: bands + 1 }, (_, k) => k);
  const value = (k: number) => (k < bands ? edges[k]! : hi);
  const xRight = xlim[1];
  return [
    Plot.ruleX(idx, {
      x: () => xRight,
      y1: (k: number) => at(k),
      y2: (k: number) => at(k + 1),
      stroke: (k: number) => thresholds[k],
      strokeWidth: COLOR_BAR_WIDTH,
      dx: COLOR_BAR_GAP + COLOR_BAR_WIDTH / 2,
    }),
    Plot.text(ticks, {
      x: () => xRight,
      y: (k: number) => at(k),
      text: (k: number) => Number(value(k).toPrecision(2)).toString().replace('-', '−'),
      textAnchor: 'start',
      dx: COLOR_BAR_GAP + COLOR_BAR_WIDTH + 4,
      fontSize: 10,
    }),
    Plot.text([label], {
      x: () => xRight,
      y: () => (ylim[0] + ylim[1]) / 2,
      text: (t: string) => t,
      rotate: 90,
      dx: COLOR_BAR_MARGIN - 10,
      fontSize: 11,
    }),
  ];
}

/**
 * Filled contours of a 2-D density. `field` is a `DensityField` from `flowDensity` (regular
 * grid, or scattered pushed-forward points when `regular` is false), or the values of
 * `logProbOnGrid(logProb, grid)` with `options.grid`. Values are log densities unless
 * `values: 'density'`; they are normalised to the peak, so unnormalised log p̃ is fine.
 * Equal aspect; 7 levels evenly spaced in density (or in log density with `log: true`), with a
 * colour bar of the levels on the right (`colorBar: false` drops it). Axis labels default to
 * z₁, z₂: pass `xLabel`/`yLabel` when the variables are u, x, θ or measurements.
 *
 * @example show(densityPlot(logProbOnGrid(U1.logProb, grid), {grid, title: 'U1'}))
 */
export function densityPlot(field: DensityInput, options: DensityPlotOptions = {}): Figure {
  checkInterval('xlim', options.xlim);
  checkInterval('ylim', options.ylim);
  const d = densityMarks(loadPlot(), field, options);
  const what = options.log
    ? `log density (${d.levels} levels over ${options.logRange ?? DEFAULT_LOG_RANGE} nats)`
    : `density (${d.levels} levels)`;
  const bar = options.colorBar ?? true;
  return plotFigure(
    (Plot) => ({
      ...axes2D(options, d.xlim, d.ylim, bar),
      color: d.color,
      marks: [...d.marks, Plot.frame({ stroke: '#444' }), ...(bar ? d.bar : [])],
    }),
    {
      title: options.title,
      caption: options.caption,
      alt:
        options.alt ??
        `${options.title ?? 'Density'}: filled contours of the ${what} on x ∈ [${d.xlim}], y ∈ [${d.ylim}].`,
    },
  );
}
