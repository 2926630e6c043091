/** {@link histogramWithCurve}: a 1-D histogram of samples against a density formula. */
import { plotFigure, type Figure, type FigureMeta } from './figure';
import { checkInterval, padded, quantile, BLUE, DEFAULT_FIGURE_WIDTH, type Interval } from './axes';

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
export function histogramWithCurve(
  samples: ArrayLike<number>,
  density: (x: number) => number,
  options: HistogramOptions = {},
): Figure {
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
        Plot.rectY(bars, {
          x1: 'x1',
          x2: 'x2',
          y: 'y',
          fill: BLUE,
          fillOpacity: 0.45,
          insetLeft: 0.5,
          insetRight: 0.5,
        }),
        Plot.ruleY([0]),
        Plot.line(curve, { x: 'x', y: 'y', stroke: 'black', strokeWidth: 2, clip: true }),
        Plot.text([`▇ ${histLabel}`], {
          frameAnchor: 'top-right',
          text: (s: string) => s,
          textAnchor: 'end',
          dx: -6,
          dy: 8,
          fill: BLUE,
        }),
        Plot.text([`— ${curveLabel}`], {
          frameAnchor: 'top-right',
          text: (s: string) => s,
          textAnchor: 'end',
          dx: -6,
          dy: 24,
          fill: 'black',
        }),
      ],
    }),
    {
      title: options.title,
      caption: options.caption,
      alt:
        options.alt ??
        `${options.title ?? 'Histogram'}: ${histLabel} in ${bins} bins on [${xlim}] against the ${curveLabel}.`,
    },
  );
}
