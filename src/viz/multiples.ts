/** {@link smallMultiples}: several figures in one SVG grid. */
import { placeSvg, wrapSvg, type Figure, type FigureMeta } from './figure';

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
  if (!Number.isInteger(columns) || columns < 1)
    throw new RangeError(`columns must be a positive integer, got ${columns}`);
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
  const alt =
    options.alt ??
    `${options.title ? options.title + ': ' : ''}${figures.length} panels: ${figures.map((f) => f.title ?? f.alt).join('; ')}.`;
  return wrapSvg(svg, width, height, { title: options.title, caption: options.caption, alt });
}
