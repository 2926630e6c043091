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
export { DEFAULT_FIGURE_WIDTH, type Interval, type Plot2DOptions } from './axes';
export { densityPlot, DEFAULT_CONTOUR_LEVELS, type DensityInput, type DensityPlotOptions } from './density';
export { samplesPlot, samplesXY, MAX_SCATTER_POINTS, type Samples2D, type SamplesPlotOptions } from './samples';
export { lossPlot, MAX_CURVE_POINTS, type LossPlotOptions } from './training';
export {
  gridLines,
  mapPolylines,
  warpedGridPlot,
  type GridLines,
  type GridLinesOptions,
  type Polyline,
  type WarpedGridOptions,
  type WarpedLines,
} from './grid-warp';
export { histogramWithCurve, type HistogramOptions } from './histogram';
export { smallMultiples, type SmallMultiplesOptions } from './multiples';
