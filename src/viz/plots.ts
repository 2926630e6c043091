/**
 * One-line figures for the notebooks and the CLI, drawn with Observable Plot (see figure.ts):
 *
 * - {@link densityPlot}: filled contours of a 2-D density, on a regular grid or scattered points;
 * - {@link samplesPlot}: samples over the target's contours;
 * - {@link lossPlot}: free energy vs step with the floor -log Z drawn in;
 * - {@link warpedGridPlot}: grid lines before and after a 2-D map;
 * - {@link histogramWithCurve}: a 1-D histogram of samples against a density formula;
 * - {@link smallMultiples}: several figures in one grid.
 *
 * Sizes are kept small on purpose (7 contour levels, at most 2000 dots, at most 600 points per
 * curve) so a notebook with a dozen figures, each stored as SVG + PNG, stays under 3 MB.
 */
import type { FlowSamples } from '../diagnostics/evaluate';
import type { DensityField, Grid2D } from '../targets/grid';
import { loadPlot, placeSvg, plotFigure, wrapSvg, type Figure, type FigureMeta, type PlotLib } from './figure';
import type { TrainHistory } from '../train/train';

/** An interval [lo, hi] on one axis. */
export type Interval = [number, number];

/** Default figure width, px: ~450 px at PNG scale 1.5 gives 30-80 KB PNGs that read well. */
export const DEFAULT_FIGURE_WIDTH = 450;
/** Default contour levels: enough to read a shape, few enough to keep the SVG ~50 KB. */
export const DEFAULT_CONTOUR_LEVELS = 7;
/** Most dots drawn per scatter: 2000 dots are ~130 KB of SVG; more adds size, not insight. */
export const MAX_SCATTER_POINTS = 2000;
/** Most points drawn per loss curve; longer histories are averaged into this many bins. */
export const MAX_CURVE_POINTS = 600;
/** Ticks per axis on 2-D plots: Plot's default puts one every 35 px vertically (too dense). */
const TICKS_2D = 6;
/** Least room per x tick on 2-D plots, px: a label such as "−3.5" at 12 px is ~30 px wide. */
const MIN_TICK_SPACING = 50;
/** Default span of log-density contours below the maximum, nats (e^-8 ≈ 3e-4 of the peak). */
const DEFAULT_LOG_RANGE = 8;
/** Colour of sample dots: orange reads on both the blues and viridis schemes. */
const SAMPLE_COLOR = '#e6550d';
/** Colours of curves: Tableau 10 blue / orange / red, distinguishable in common colour blindness. */
const BLUE = '#4e79a7';
const ORANGE = '#f28e2b';
const RED = '#e15759';

/** Values on a 2-D region: a field from `flowDensity`, or a row-major grid array (y outer). */
export type DensityInput = DensityField | ArrayLike<number>;

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
/** Right margin that holds the bar, its tick labels ("0.86": ~26 px) and its rotated label, px. */
const COLOR_BAR_MARGIN = 76;
/** Margins of the 2-D plots, px: room for tick labels and the axis labels (offsets 34 and 48). */
const AXES_MARGIN_LEFT = 60;
const AXES_MARGIN_RIGHT = 24;
const AXES_MARGIN_TOP = 20;
const AXES_MARGIN_BOTTOM = 40;

function finiteExtent(v: ArrayLike<number>): Interval {
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
function quantile(v: ArrayLike<number>, q: number): number {
  const s: number[] = [];
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i]!)) s.push(v[i]!);
  if (s.length === 0) return NaN;
  s.sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}

function padded(lim: Interval, fraction: number): Interval {
  const span = lim[1] - lim[0] || Math.abs(lim[0]) || 1;
  return [lim[0] - fraction * span, lim[1] + fraction * span];
}

function checkInterval(name: string, lim: Interval | undefined): void {
  if (lim === undefined) return;
  if (!Array.isArray(lim) || lim.length !== 2 || !Number.isFinite(lim[0]) || !Number.isFinite(lim[1]) || !(lim[1] > lim[0])) {
    throw new RangeError(`${name} must be [lo, hi] with finite lo < hi, got ${JSON.stringify(lim)}`);
  }
}

function isDensityField(f: unknown): f is DensityField {
  return typeof f === 'object' && f !== null && 'logDensity' in f && 'x' in f && 'y' in f;
}

/** The Plot marks and the window of a density's filled contours (shared with samplesPlot). */
function densityMarks(
  Plot: PlotLib,
  input: DensityInput,
  o: DensityPlotOptions,
): { marks: unknown[]; xlim: Interval; ylim: Interval; levels: number; color: Record<string, unknown>; bar: unknown[] } {
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
    mark = Plot.contour(Array.from(v), { ...common, width: g.nx, height: g.ny, x1: g.xlim[0], x2: g.xlim[1], y1: g.ylim[0], y2: g.ylim[1] });
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

function axes2D(o: Plot2DOptions, xlim: Interval, ylim: Interval, colorBar = false): Record<string, unknown> {
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
    x: { domain: xlim, label: o.xLabel ?? 'z₁', ticks: Math.max(3, Math.min(TICKS_2D, Math.floor(inner / MIN_TICK_SPACING))), labelAnchor: 'center', labelArrow: 'none', labelOffset: 34 },
    y: { domain: ylim, label: o.yLabel ?? 'z₂', ticks: TICKS_2D, labelAnchor: 'center', labelArrow: 'none', labelOffset: 48 },
    marginBottom: AXES_MARGIN_BOTTOM,
    marginLeft: AXES_MARGIN_LEFT,
  };
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
  const what = options.log ? `log density (${d.levels} levels over ${options.logRange ?? DEFAULT_LOG_RANGE} nats)` : `density (${d.levels} levels)`;
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
      alt: options.alt ?? `${options.title ?? 'Density'}: filled contours of the ${what} on x ∈ [${d.xlim}], y ∈ [${d.ylim}].`,
    },
  );
}

/** 2-D samples: interleaved [x0, y0, x1, y1, ...], `{x, y}` arrays, or `sampleFlow`'s result. */
export type Samples2D = ArrayLike<number> | { x: ArrayLike<number>; y: ArrayLike<number> } | Pick<FlowSamples, 'z' | 'n' | 'dim'>;

/** Options of {@link samplesPlot}. */
export interface SamplesPlotOptions extends Plot2DOptions {
  /** Density drawn behind the dots (e.g. the target's `logProbOnGrid`), with `grid` for arrays. */
  background?: DensityInput;
  grid?: Grid2D;
  /**
   * Options of the background contours (default: 'blues', unfilled below the lowest level, no
   * colour bar; `colorBar: true` adds one).
   */
  backgroundOptions?: Omit<DensityPlotOptions, keyof Plot2DOptions | 'grid'>;
  /** Most dots drawn (default {@link MAX_SCATTER_POINTS}); the first ones are taken. */
  maxPoints?: number;
  /** Dot colour and radius (px). */
  color?: string;
  radius?: number;
}

/** x and y of 2-D samples as separate arrays. */
export function samplesXY(samples: Samples2D): { x: ArrayLike<number>; y: ArrayLike<number> } {
  if (typeof samples === 'object' && samples !== null && 'x' in samples && 'y' in samples) return samples;
  let z: ArrayLike<number>;
  if (typeof samples === 'object' && samples !== null && 'z' in samples) {
    if (samples.dim !== 2) throw new RangeError(`samples must be 2-D, got dim ${samples.dim}`);
    z = samples.z;
  } else {
    z = samples as ArrayLike<number>;
  }
  if (z.length % 2 !== 0) throw new RangeError(`interleaved 2-D samples need an even length, got ${z.length}`);
  const n = z.length / 2;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = z[2 * i]!;
    y[i] = z[2 * i + 1]!;
  }
  return { x, y };
}

/**
 * Samples as dots over the contours of a background density (typically the target): shows
 * where the flow puts mass and which modes it misses. At most 2000 dots (the first ones; the
 * samples are i.i.d., so these are a fair subsample); dots outside the window are clipped and
 * counted in the alt text.
 *
 * @example show(samplesPlot(sampleFlow(flow, 2000), {background: lpGrid, grid, title: 'q_K samples'}))
 */
export function samplesPlot(samples: Samples2D, options: SamplesPlotOptions = {}): Figure {
  checkInterval('xlim', options.xlim);
  checkInterval('ylim', options.ylim);
  const { x, y } = samplesXY(samples);
  const maxPoints = options.maxPoints ?? MAX_SCATTER_POINTS;
  const n = Math.min(x.length, maxPoints);
  let bg: ReturnType<typeof densityMarks> | null = null;
  if (options.background !== undefined) {
    bg = densityMarks(loadPlot(), options.background, {
      scheme: 'blues',
      fillBackground: false,
      ...options.backgroundOptions,
      grid: options.grid,
      xlim: options.xlim,
      ylim: options.ylim,
    });
  }
  const xs = Array.from({ length: n }, (_, i) => x[i]!);
  const ys = Array.from({ length: n }, (_, i) => y[i]!);
  const xlim = options.xlim ?? bg?.xlim ?? padded(finiteExtent(xs), 0.05);
  const ylim = options.ylim ?? bg?.ylim ?? padded(finiteExtent(ys), 0.05);
  checkInterval('xlim', xlim);
  checkInterval('ylim', ylim);
  let outside = 0;
  for (let i = 0; i < n; i++) {
    if (!(xs[i]! >= xlim[0] && xs[i]! <= xlim[1] && ys[i]! >= ylim[0] && ys[i]! <= ylim[1])) outside++;
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  const bar = bg !== null && options.backgroundOptions?.colorBar === true;
  return plotFigure(
    (Plot) => ({
      ...axes2D(options, xlim, ylim, bar),
      ...(bg ? { color: bg.color } : {}),
      marks: [
        ...(bg ? bg.marks : []),
        Plot.dot(idx, {
          x: (i: number) => xs[i],
          y: (i: number) => ys[i],
          r: options.radius ?? 1.3,
          fill: options.color ?? SAMPLE_COLOR,
          fillOpacity: 0.55,
          stroke: 'none',
          clip: true,
        }),
        Plot.frame({ stroke: '#444' }),
        ...(bar && bg ? bg.bar : []),
      ],
    }),
    {
      title: options.title,
      caption: options.caption,
      alt:
        options.alt ??
        `${options.title ?? 'Samples'}: ${n} of ${x.length} samples as dots` +
          (bg ? ' over the contours of the background density' : '') +
          (outside > 0 ? `; ${outside} fall outside the window x ∈ [${xlim}], y ∈ [${ylim}]` : '') +
          '.',
    },
  );
}

/** Options of {@link lossPlot}. */
export interface LossPlotOptions extends FigureMeta {
  /** The target's log Z: draws the floor of the free energy, -log Z, as a labelled rule. */
  logZ?: number | null;
  /** Moving-average window in steps (default: 2% of the run, at least 1). */
  smooth?: number;
  /** y range (default: from the smoothed curve after its first 10%, so the start may run off). */
  yDomain?: Interval;
  /** Figure size in px (default 500 x 300). */
  width?: number;
  height?: number;
}

/** Mean, min and max of consecutive bins of ys (at most `maxBins`), at the bins' mean x. */
function binSeries(xs: ArrayLike<number>, ys: ArrayLike<number>, maxBins: number): { x: number[]; mean: number[]; lo: number[]; hi: number[] } {
  const n = Math.min(xs.length, ys.length);
  const per = Math.max(1, Math.ceil(n / maxBins));
  const out = { x: [] as number[], mean: [] as number[], lo: [] as number[], hi: [] as number[] };
  for (let s = 0; s < n; s += per) {
    const e = Math.min(n, s + per);
    let sx = 0;
    let sy = 0;
    let cnt = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = s; i < e; i++) {
      const v = ys[i]!;
      sx += xs[i]!;
      if (Number.isFinite(v)) {
        sy += v;
        cnt++;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    out.x.push(sx / (e - s));
    out.mean.push(cnt ? sy / cnt : NaN);
    out.lo.push(cnt ? lo : NaN);
    out.hi.push(cnt ? hi : NaN);
  }
  return out;
}

/** Trailing moving average over `w` points, ignoring non-finite values. */
function movingAverage(ys: ArrayLike<number>, w: number): number[] {
  const out: number[] = [];
  let s = 0;
  let c = 0;
  for (let i = 0; i < ys.length; i++) {
    if (Number.isFinite(ys[i]!)) {
      s += ys[i]!;
      c++;
    }
    if (i >= w && Number.isFinite(ys[i - w]!)) {
      s -= ys[i - w]!;
      c--;
    }
    out.push(c > 0 ? s / c : NaN);
  }
  return out;
}

/**
 * Training curve: the free energy F = E[log q − log p̃] per step (its noise range light, its
 * moving average solid), the minimised objective when annealing made it differ (β < 1), and
 * the floor F = −log Z as a dashed red rule, labelled, when `logZ` is given. F − (−log Z) is the
 * KL divergence to the target.
 *
 * @example show(lossPlot(history, {logZ: target.logZ, title: 'U1, planar K = 16'}))
 */
export function lossPlot(history: Pick<TrainHistory, 'step' | 'loss' | 'freeEnergy'> & Partial<Pick<TrainHistory, 'beta'>>, options: LossPlotOptions = {}): Figure {
  const steps = history.step;
  const n = steps.length;
  const w = Math.max(1, Math.round(options.smooth ?? n / 50));
  const fe = binSeries(steps, history.freeEnergy, MAX_CURVE_POINTS);
  const feSmooth = binSeries(steps, movingAverage(history.freeEnergy, w), MAX_CURVE_POINTS).mean;
  const annealed = (history.beta ?? []).some((b) => b !== 1);
  const lossSmooth = annealed ? binSeries(steps, movingAverage(history.loss, w), MAX_CURVE_POINTS).mean : [];
  const floor = options.logZ === undefined || options.logZ === null ? null : -options.logZ;
  let yDomain = options.yDomain;
  if (yDomain === undefined) {
    const tail = feSmooth.slice(Math.floor(feSmooth.length / 10));
    const both = [...tail, ...lossSmooth.slice(Math.floor(lossSmooth.length / 10)), ...(floor === null ? [] : [floor])];
    const [lo, hi] = finiteExtent(both.length ? both : [0, 1]);
    yDomain = Number.isFinite(lo) ? padded([lo, hi > lo ? hi : lo + 1], 0.08) : [0, 1];
  }
  checkInterval('yDomain', yDomain);
  const bins = fe.x.map((_, i) => i);
  const xMax = n > 0 ? Math.max(steps[n - 1]!, 1) : 1;
  const legend: { label: string; color: string }[] = [{ label: '— free energy F (β = 1)', color: BLUE }];
  if (annealed) legend.push({ label: '– – objective (annealed β)', color: ORANGE });
  return plotFigure(
    (Plot) => ({
      width: options.width ?? 500,
      height: options.height ?? 300,
      marginLeft: 76, // room for 14 px tick labels like "30.22" and the axis label beside them
      marginRight: 24,
      marginBottom: 40,
      x: { domain: [0, xMax], label: 'step', labelAnchor: 'center', labelArrow: 'none', labelOffset: 34 },
      y: { domain: yDomain, label: 'nats', grid: true, labelAnchor: 'center', labelArrow: 'none', labelOffset: 64 },
      marks: [
        Plot.areaY(bins, { x: (i: number) => fe.x[i], y1: (i: number) => fe.lo[i], y2: (i: number) => fe.hi[i], fill: BLUE, fillOpacity: 0.18, clip: true }),
        ...(annealed ? [Plot.lineY(bins, { x: (i: number) => fe.x[i], y: (i: number) => lossSmooth[i], stroke: ORANGE, strokeWidth: 1.5, strokeDasharray: '5,3', clip: true })] : []),
        Plot.lineY(bins, { x: (i: number) => fe.x[i], y: (i: number) => feSmooth[i], stroke: BLUE, strokeWidth: 1.8, clip: true }),
        ...(floor === null
          ? []
          : [
              Plot.ruleY([floor], { stroke: RED, strokeWidth: 1.5, strokeDasharray: '6,4' }),
              Plot.text([floor], { y: (f: number) => f, frameAnchor: 'right', text: () => `−log Z = ${fmt(floor)}`, textAnchor: 'end', dx: -4, dy: -8, fill: RED, stroke: 'white', strokeWidth: 3, fontWeight: 'bold' }),
            ]),
        ...legend.map((l, k) =>
          Plot.text([l.label], { frameAnchor: 'top-right', text: (s: string) => s, textAnchor: 'end', dx: -6, dy: 8 + 16 * k, fill: l.color }),
        ),
        Plot.frame({ stroke: '#444' }),
      ],
    }),
    {
      title: options.title,
      caption: options.caption,
      alt:
        options.alt ??
        `${options.title ?? 'Training curve'}: free energy over ${n} steps` +
          (n > 0 ? `, last moving average ${fmt(feSmooth[feSmooth.length - 1]!)}` : '') +
          (floor === null ? '' : `; floor −log Z = ${fmt(floor)}`) +
          '.',
    },
  );
}

/** A number with 4 significant digits and a true minus sign, for labels. */
function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString().replace('-', '−');
}

/** A polyline, interleaved [x0, y0, x1, y1, ...]. */
export type Polyline = ArrayLike<number>;

/** Lines of a square grid: `family[i]` says whether `lines[i]` is a vertical or horizontal line. */
export interface GridLines {
  lines: Float32Array[];
  family: ('vertical' | 'horizontal')[];
}

/** Options of {@link gridLines}. */
export interface GridLinesOptions {
  /** Range of both axes (default [-3, 3]). */
  lim?: Interval;
  /** Lines per direction (default 13). */
  count?: number;
  /** Points per line (default 100: smooth after a nonlinear map). */
  points?: number;
}

/** Vertical and horizontal lines of a grid over lim², to push through a 2-D map. */
export function gridLines(options: GridLinesOptions = {}): GridLines {
  const lim = options.lim ?? [-3, 3];
  checkInterval('lim', lim);
  const count = options.count ?? 13;
  const points = options.points ?? 100;
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`count must be an integer ≥ 2, got ${count}`);
  if (!Number.isInteger(points) || points < 2) throw new RangeError(`points must be an integer ≥ 2, got ${points}`);
  const at = (k: number, m: number) => lim[0] + ((lim[1] - lim[0]) * k) / (m - 1);
  const out: GridLines = { lines: [], family: [] };
  for (const family of ['vertical', 'horizontal'] as const) {
    for (let k = 0; k < count; k++) {
      const line = new Float32Array(points * 2);
      for (let j = 0; j < points; j++) {
        line[2 * j + (family === 'vertical' ? 0 : 1)] = at(k, count);
        line[2 * j + (family === 'vertical' ? 1 : 0)] = at(j, points);
      }
      out.lines.push(line);
      out.family.push(family);
    }
  }
  return out;
}

/**
 * Push polylines through a 2-D map in one call: `map` gets all points interleaved
 * ([n*2], e.g. to make one tensor of them) and returns the mapped points in the same layout.
 */
export function mapPolylines(lines: Polyline[], map: (points: Float32Array) => ArrayLike<number>): Float32Array[] {
  const total = lines.reduce((s, l) => s + l.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const l of lines) {
    all.set(l, off);
    off += l.length;
  }
  const mapped = map(all);
  if (mapped.length !== total) throw new RangeError(`map returned ${mapped.length} numbers for ${total}`);
  const out: Float32Array[] = [];
  off = 0;
  for (const l of lines) {
    out.push(Float32Array.from({ length: l.length }, (_, i) => mapped[off + i]!));
    off += l.length;
  }
  return out;
}

/** Options of {@link warpedGridPlot}. */
export interface WarpedGridOptions extends GridLinesOptions, FigureMeta {
  /** Width of each of the two panels, px (default 300). */
  panelWidth?: number;
  /** Window of the "after" panel (default: the mapped lines' central 98%, padded). */
  afterLim?: { xlim: Interval; ylim: Interval };
  /** Panel titles (default "before" and "after"). */
  labels?: [string, string];
  /** Axis labels [x, y] of the "before" panel (default ['z₁', 'z₂']), e.g. ['u₁', 'u₂']. */
  beforeAxes?: [string, string];
  /** Axis labels [x, y] of the "after" panel (default ['z₁', 'z₂']), e.g. ['x₁', 'x₂']. */
  afterAxes?: [string, string];
}

/** Lines before and after a map, with the family of each (colours verticals and horizontals apart). */
export interface WarpedLines {
  before: Polyline[];
  after: Polyline[];
  family?: ('vertical' | 'horizontal')[];
}

function linesPanel(
  lines: Polyline[],
  family: ('vertical' | 'horizontal')[] | undefined,
  xlim: Interval,
  ylim: Interval,
  width: number,
  title: string,
  axes: [string, string] = ['z₁', 'z₂'],
): Figure {
  // One row per point with a line id; NaN rows break lines where the map diverged.
  const rows: { x: number; y: number; id: number }[] = [];
  lines.forEach((l, id) => {
    for (let j = 0; j + 1 < l.length; j += 2) rows.push({ x: l[j]!, y: l[j + 1]!, id });
  });
  return plotFigure(
    (Plot) => ({
      ...axes2D({ width, xLabel: axes[0], yLabel: axes[1] }, xlim, ylim),
      marks: [
        Plot.line(rows, {
          x: 'x',
          y: 'y',
          z: 'id',
          stroke: (r: { id: number }) => ((family?.[r.id] ?? (r.id < lines.length / 2 ? 'vertical' : 'horizontal')) === 'vertical' ? BLUE : ORANGE),
          strokeWidth: 1,
          clip: true,
        }),
        Plot.frame({ stroke: '#444' }),
      ],
    }),
    { title, alt: `${title}: ${lines.length} grid lines` },
  );
}

/**
 * A 2-D map shown as a grid before and after it, side by side (verticals blue, horizontals
 * orange), axes labelled z₁, z₂ unless `beforeAxes`/`afterAxes` name the variables. Pass the
 * map itself — `(points interleaved [n*2]) => mapped points` — and the grid
 * is made with {@link gridLines}; or pass `{before, after, family}` lines you mapped yourself.
 *
 * @example show(warpedGridPlot((p) => tf.tidy(() => flow.forward(tf.tensor2d(p, [p.length / 2, 2])).z.dataSync()), {lim: [-3, 3]}))
 */
export function warpedGridPlot(mapOrLines: ((points: Float32Array) => ArrayLike<number>) | WarpedLines, options: WarpedGridOptions = {}): Figure {
  let w: WarpedLines;
  if (typeof mapOrLines === 'function') {
    const g = gridLines(options);
    w = { before: g.lines, after: mapPolylines(g.lines, mapOrLines), family: g.family };
  } else {
    w = mapOrLines;
    if (w.before.length !== w.after.length) throw new RangeError(`before has ${w.before.length} lines, after ${w.after.length}`);
  }
  const flat = (ls: Polyline[], axis: 0 | 1) => {
    const out: number[] = [];
    for (const l of ls) for (let j = axis; j < l.length; j += 2) out.push(l[j]!);
    return out;
  };
  const beforeLim = (axis: 0 | 1) => padded(finiteExtent(flat(w.before, axis)), 0.05);
  const afterAxis = (axis: 0 | 1): Interval => {
    const v = flat(w.after, axis);
    const lim: Interval = [quantile(v, 0.01), quantile(v, 0.99)];
    if (!Number.isFinite(lim[0]) || !(lim[1] > lim[0])) return beforeLim(axis);
    return padded(lim, 0.08);
  };
  const width = options.panelWidth ?? 300;
  const [l0, l1] = options.labels ?? ['before', 'after'];
  const a = linesPanel(w.before, w.family, beforeLim(0), beforeLim(1), width, l0, options.beforeAxes);
  const b = linesPanel(w.after, w.family, options.afterLim?.xlim ?? afterAxis(0), options.afterLim?.ylim ?? afterAxis(1), width, l1, options.afterAxes);
  return smallMultiples([a, b], {
    columns: 2,
    title: options.title,
    caption: options.caption,
    alt: options.alt ?? `${options.title ?? 'Warped grid'}: ${w.before.length} grid lines before (left) and after (right) the map.`,
  });
}

/** Options of {@link histogramWithCurve}. */
export interface HistogramOptions extends FigureMeta {
  /** Bins (default 40). */
  bins?: number;
  /** Range of the bins and the curve (default: the samples' central 99.8%, padded). */
  xlim?: Interval;
  /** Axis label (default 'x') and legend labels. */
  xLabel?: string;
  curveLabel?: string;
  histLabel?: string;
  /** Size, px (default 450 x 280). */
  width?: number;
  height?: number;
}

/**
 * A 1-D histogram of samples, normalised as a density (bar height = count / (N · bin width),
 * N counting all samples), against a density formula evaluated on 400 points: the picture of
 * the change-of-variables formula p_Y(y) = p_X(f⁻¹(y)) |d f⁻¹/dy|.
 *
 * @example show(histogramWithCurve(ys, (y) => Math.exp(-0.5 * Math.log(y) ** 2) / (y * Math.sqrt(2 * Math.PI)), {xlim: [0, 6]}))
 */
export function histogramWithCurve(samples: ArrayLike<number>, density: (x: number) => number, options: HistogramOptions = {}): Figure {
  const bins = options.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const N = samples.length;
  if (N === 0) throw new RangeError('histogramWithCurve needs at least one sample');
  const xlim = options.xlim ?? padded([quantile(samples, 0.001), quantile(samples, 0.999)], 0.05);
  checkInterval('xlim', xlim);
  const h = (xlim[1] - xlim[0]) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < N; i++) {
    const k = Math.floor((samples[i]! - xlim[0]) / h);
    if (k >= 0 && k < bins) counts[k]!++;
    else if (samples[i] === xlim[1]) counts[bins - 1]!++;
  }
  const bars = counts.map((c, k) => ({ x1: xlim[0] + k * h, x2: xlim[0] + (k + 1) * h, y: c / (N * h) }));
  const CURVE_POINTS = 400;
  const curve = Array.from({ length: CURVE_POINTS }, (_, i) => {
    const x = xlim[0] + ((xlim[1] - xlim[0]) * i) / (CURVE_POINTS - 1);
    return { x, y: density(x) };
  });
  const curveLabel = options.curveLabel ?? 'density formula';
  const histLabel = options.histLabel ?? `histogram of ${N} samples`;
  return plotFigure(
    (Plot) => ({
      width: options.width ?? DEFAULT_FIGURE_WIDTH,
      height: options.height ?? 280,
      marginLeft: 68, // room for 14 px tick labels like "0.25" and the axis label beside them
      marginRight: 24,
      marginBottom: 40,
      x: { domain: xlim, label: options.xLabel ?? 'x', labelAnchor: 'center', labelArrow: 'none', labelOffset: 34 },
      y: { label: 'density', grid: true, labelAnchor: 'center', labelArrow: 'none', labelOffset: 56 },
      marks: [
        Plot.rectY(bars, { x1: 'x1', x2: 'x2', y: 'y', fill: BLUE, fillOpacity: 0.45, insetLeft: 0.5, insetRight: 0.5 }),
        Plot.ruleY([0]),
        Plot.line(curve, { x: 'x', y: 'y', stroke: 'black', strokeWidth: 2, clip: true }),
        Plot.text([`▇ ${histLabel}`], { frameAnchor: 'top-right', text: (s: string) => s, textAnchor: 'end', dx: -6, dy: 8, fill: BLUE }),
        Plot.text([`— ${curveLabel}`], { frameAnchor: 'top-right', text: (s: string) => s, textAnchor: 'end', dx: -6, dy: 24, fill: 'black' }),
      ],
    }),
    {
      title: options.title,
      caption: options.caption,
      alt: options.alt ?? `${options.title ?? 'Histogram'}: ${histLabel} in ${bins} bins on [${xlim}] against the ${curveLabel}.`,
    },
  );
}

/** Options of {@link smallMultiples}. */
export interface SmallMultiplesOptions extends FigureMeta {
  /** Figures per row (default: all in one row, at most 3). */
  columns?: number;
  /** Gap between cells, px (default 8). */
  gap?: number;
}

/**
 * Several figures in one SVG grid, each keeping its own title: rows are as tall as their
 * tallest figure, columns as wide as their widest. The figures are nested `<svg>` elements.
 */
export function smallMultiples(figures: Figure[], options: SmallMultiplesOptions = {}): Figure {
  if (figures.length === 0) throw new RangeError('smallMultiples needs at least one figure');
  const columns = options.columns ?? Math.min(3, figures.length);
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, got ${columns}`);
  const gap = options.gap ?? 8;
  const rows = Math.ceil(figures.length / columns);
  const colW = new Array<number>(columns).fill(0);
  const rowH = new Array<number>(rows).fill(0);
  figures.forEach((f, i) => {
    colW[i % columns] = Math.max(colW[i % columns]!, f.width);
    rowH[Math.floor(i / columns)] = Math.max(rowH[Math.floor(i / columns)]!, f.height);
  });
  const colX = colW.map((_, c) => colW.slice(0, c).reduce((s, w) => s + w + gap, 0));
  const rowY = rowH.map((_, r) => rowH.slice(0, r).reduce((s, h) => s + h + gap, 0));
  const width = colX[columns - 1]! + colW[columns - 1]!;
  const height = rowY[rows - 1]! + rowH[rows - 1]!;
  const inner = figures.map((f, i) => placeSvg(f.svg, colX[i % columns]!, rowY[Math.floor(i / columns)]!)).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${inner}</svg>`;
  const alt = options.alt ?? `${options.title ? options.title + ': ' : ''}${figures.length} panels: ${figures.map((f) => f.title ?? f.alt).join('; ')}.`;
  return wrapSvg(svg, width, height, { title: options.title, caption: options.caption, alt });
}
