/**
 * Interactive Plotly figures in a browser window, through nodeplotlib, for the CLI's
 * `--interactive` flag. Never used by the notebooks: nodeplotlib writes nothing into a
 * notebook (its Plotly page is a separate browser window, and inline Plotly would need the
 * 4.85 MB plotly.min.js in every notebook).
 *
 * What calling {@link interactivePlot} does — only when called; importing this file does not
 * load nodeplotlib:
 * - starts a NestJS HTTP server on localhost (port from `NODEPLOTLIB_PORT`, else a free one;
 *   it prints the URL) and tries to open the default browser at it;
 * - KEEPS THE PROCESS ALIVE: the server runs until the browser page is closed (it then shuts
 *   down) or the process is interrupted (Ctrl+C). Call it last, after results are saved.
 *
 * The trace builders ({@link historyTraces}, {@link samplesTraces}, {@link densityTraces}) are
 * plain data and cheap; use them to test what would be plotted without opening anything.
 */
import type { DensityField, Grid2D } from './diagnostics';
import { samplesXY, MAX_SCATTER_POINTS, type Samples2D } from './plots';
import type { TrainHistory } from './train';

/** A Plotly trace (https://plotly.com/javascript/reference/), typed loosely. */
export type PlotlyTrace = Record<string, unknown>;
/** A Plotly layout, typed loosely. */
export type PlotlyLayout = Record<string, unknown>;

interface NodePlotLib {
  plot(data: PlotlyTrace[], layout?: PlotlyLayout): void;
}

/**
 * Open one Plotly figure in a browser window via nodeplotlib. Starts a server and keeps the
 * process alive until the page is closed or the process is interrupted (see the file comment).
 * Several calls add figures to the same page.
 */
export function interactivePlot(traces: PlotlyTrace[], layout: PlotlyLayout = {}): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const npl = require('nodeplotlib') as NodePlotLib;
  npl.plot(traces, layout);
}

/** Free energy and objective per step, and -log Z as a dashed line when `logZ` is given. */
export function historyTraces(history: Pick<TrainHistory, 'step' | 'loss' | 'freeEnergy'>, logZ?: number | null): PlotlyTrace[] {
  const traces: PlotlyTrace[] = [
    { x: history.step, y: history.freeEnergy, type: 'scatter', mode: 'lines', name: 'free energy F (β = 1)' },
    { x: history.step, y: history.loss, type: 'scatter', mode: 'lines', name: 'objective', visible: 'legendonly' },
  ];
  if (logZ !== undefined && logZ !== null && history.step.length > 0) {
    const s = history.step;
    traces.push({ x: [s[0], s[s.length - 1]], y: [-logZ, -logZ], type: 'scatter', mode: 'lines', name: '−log Z', line: { dash: 'dash', color: '#e15759' } });
  }
  return traces;
}

/** Samples as a scatter trace (at most `maxPoints`, default 2000, the first ones). */
export function samplesTraces(samples: Samples2D, maxPoints = MAX_SCATTER_POINTS): PlotlyTrace[] {
  const { x, y } = samplesXY(samples);
  const n = Math.min(x.length, maxPoints);
  return [
    {
      x: Array.from({ length: n }, (_, i) => x[i]),
      y: Array.from({ length: n }, (_, i) => y[i]),
      type: 'scatter',
      mode: 'markers',
      name: 'samples',
      marker: { size: 3, opacity: 0.6 },
    },
  ];
}

/**
 * A density on a regular grid (values row-major, y outer, e.g. `logProbOnGrid`) as a Plotly
 * contour trace of exp(value - max). Scattered fields (regular false) are not supported here.
 */
export function densityTraces(values: ArrayLike<number> | DensityField, grid: Grid2D): PlotlyTrace[] {
  const v = 'logDensity' in values ? values.logDensity : values;
  if ('regular' in values && !values.regular) throw new RangeError('densityTraces needs a regular grid field');
  if (v.length !== grid.nx * grid.ny) throw new RangeError(`grid is ${grid.nx}x${grid.ny} but there are ${v.length} values`);
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! > max) max = v[i]!;
  const hx = (grid.xlim[1] - grid.xlim[0]) / grid.nx;
  const hy = (grid.ylim[1] - grid.ylim[0]) / grid.ny;
  const z: number[][] = [];
  for (let j = 0; j < grid.ny; j++) z.push(Array.from({ length: grid.nx }, (_, i) => Math.exp(v[j * grid.nx + i]! - max)));
  return [
    {
      type: 'contour',
      x: Array.from({ length: grid.nx }, (_, i) => grid.xlim[0] + (i + 0.5) * hx),
      y: Array.from({ length: grid.ny }, (_, j) => grid.ylim[0] + (j + 0.5) * hy),
      z,
      colorscale: 'Viridis',
      contours: { coloring: 'fill' },
      name: 'density',
    },
  ];
}
