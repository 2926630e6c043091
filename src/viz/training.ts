/** {@link lossPlot}: the training curve, free energy per step against its floor −log Z. */
import type { TrainHistory } from '../train/train';
import { plotFigure, type Figure, type FigureMeta } from './figure';
import { checkInterval, finiteExtent, fmt, padded, BLUE, ORANGE, RED, type Interval } from './axes';

/** Most points drawn per loss curve; longer histories are averaged into this many bins. */
export const MAX_CURVE_POINTS = 600;

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
function binSeries(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  maxBins: number,
): { x: number[]; mean: number[]; lo: number[]; hi: number[] } {
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
export function lossPlot(
  history: Pick<TrainHistory, 'step' | 'loss' | 'freeEnergy'> & Partial<Pick<TrainHistory, 'beta'>>,
  options: LossPlotOptions = {},
): Figure {
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
        Plot.areaY(bins, {
          x: (i: number) => fe.x[i],
          y1: (i: number) => fe.lo[i],
          y2: (i: number) => fe.hi[i],
          fill: BLUE,
          fillOpacity: 0.18,
          clip: true,
        }),
        ...(annealed
          ? [
              Plot.lineY(bins, {
                x: (i: number) => fe.x[i],
                y: (i: number) => lossSmooth[i],
                stroke: ORANGE,
                strokeWidth: 1.5,
                strokeDasharray: '5,3',
                clip: true,
              }),
            ]
          : []),
        Plot.lineY(bins, {
          x: (i: number) => fe.x[i],
          y: (i: number) => feSmooth[i],
          stroke: BLUE,
          strokeWidth: 1.8,
          clip: true,
        }),
        ...(floor === null
          ? []
          : [
              Plot.ruleY([floor], { stroke: RED, strokeWidth: 1.5, strokeDasharray: '6,4' }),
              Plot.text([floor], {
                y: (f: number) => f,
                frameAnchor: 'right',
                text: () => `−log Z = ${fmt(floor)}`,
                textAnchor: 'end',
                dx: -4,
                dy: -8,
                fill: RED,
                stroke: 'white',
                strokeWidth: 3,
                fontWeight: 'bold',
              }),
            ]),
        ...legend.map((l, k) =>
          Plot.text([l.label], {
            frameAnchor: 'top-right',
            text: (s: string) => s,
            textAnchor: 'end',
            dx: -6,
            dy: 8 + 16 * k,
            fill: l.color,
          }),
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
