/** {@link samplesPlot}: 2-D samples as dots over the contours of a background density. */
import { columnsXY } from '../core/numerics';
import type { FlowSamples } from '../diagnostics/evaluate';
import type { Grid2D } from '../targets/grid';
import { loadPlot, plotFigure, type Figure } from './figure';
import { axes2D, checkInterval, finiteExtent, padded, type Plot2DOptions } from './axes';
import { densityMarks, type DensityInput, type DensityPlotOptions } from './density';

/** Most dots drawn per scatter: 2000 dots are ~130 KB of SVG; more adds size, not insight. */
export const MAX_SCATTER_POINTS = 2000;
/** Colour of sample dots: orange reads on both the blues and viridis schemes. */
const SAMPLE_COLOR = '#e6550d';

/** 2-D samples: interleaved [x0, y0, x1, y1, ...], `{x, y}` arrays, or `sampleFlow`'s result. */
export type Samples2D =
  ArrayLike<number> | { x: ArrayLike<number>; y: ArrayLike<number> } | Pick<FlowSamples, 'z' | 'n' | 'dim'>;

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
  return columnsXY(z, (n) => new Float64Array(n));
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
