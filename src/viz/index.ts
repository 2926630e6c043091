/**
 * normalizing-flows-ts figures, tables and notebook display: the second entry point
 * (`import * as viz from '../dist/viz'`), next to the maths in `dist/index`.
 *
 * - figure: Observable Plot rendered to SVG in Node; png: the PNG, notebook bundle and files;
 * - plots: one-line figures (densityPlot, samplesPlot, lossPlot, warpedGridPlot, ...);
 * - display: show, showTable, liveDisplay in tslab; tables: DataFrames, HTML/text tables, CSV;
 * - interactive: Plotly in the browser; live: trainLive, training with a live output.
 */
// trainLive trains: register the fast-path kernels even when only dist/viz is imported.
import '../kernels';

export * from './figure';
export * from './png';
export * from './plots';
export * from './display';
export * from './tables';
export * from './interactive';
export * from './live';
