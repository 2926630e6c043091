/**
 * Figures that show everywhere: an SVG string rendered in Node with no browser.
 *
 * - Observable Plot draws into linkedom's `document` (no browser, no canvas), and the SVG is
 *   serialised with `outerHTML`.
 * - png.ts turns the SVG into a PNG (resvg, the bundled DejaVu Sans font) and into a notebook
 *   output carrying both plus alt text: an SVG-only output shows nothing in an untrusted
 *   notebook and nbconvert 6.5 blanks SVG in HTML/slides, so the PNG is what most readers see.
 *
 * Plot and linkedom load on first use: `require` of the library stays fast for CLI users.
 * Plot.raster and continuous colour legends need a canvas and fail here: do not use them.
 *
 * This file must compile under tslab's TypeScript 5.0 (non-strict, lib es2022, no DOM types),
 * so DOM objects are typed structurally and loosely.
 */

/** A rendered figure: a standalone SVG document and its size in CSS pixels. */
export interface Figure {
  /** Standalone SVG (root `<svg xmlns=...>`), white background, title drawn in. */
  svg: string;
  /** Width in CSS pixels (the PNG is `width * scale` pixels wide). */
  width: number;
  /** Height in CSS pixels. */
  height: number;
  /** Title drawn above the plot, if any. */
  title?: string;
  /** Text alternative: shown as text/plain where no image can be shown. */
  alt: string;
}

/** Title, alt text and caption of a figure. */
export interface FigureMeta {
  /** Drawn in bold above the plot. */
  title?: string;
  /** Text alternative (default: the title, else "figure"). */
  alt?: string;
  /** A line of small text drawn under the plot (e.g. a progress line). */
  caption?: string;
}

/** A Plot mark constructor (`Plot.dot(data, options)`) or `Plot.plot(options)`, typed loosely. */
export type PlotFunction = (...args: unknown[]) => unknown;

/**
 * Observable Plot, typed loosely on purpose: its own typings name DOM types, which tslab's
 * compiler (lib es2022 only) does not have. The marks are listed by name, so that calling one
 * needs no check; any other export is `unknown` (check `typeof Plot.x === 'function'` first).
 */
export interface PlotLib {
  plot: PlotFunction;
  area: PlotFunction;
  areaX: PlotFunction;
  areaY: PlotFunction;
  arrow: PlotFunction;
  barX: PlotFunction;
  barY: PlotFunction;
  cell: PlotFunction;
  contour: PlotFunction;
  dot: PlotFunction;
  frame: PlotFunction;
  line: PlotFunction;
  lineX: PlotFunction;
  lineY: PlotFunction;
  link: PlotFunction;
  rect: PlotFunction;
  rectX: PlotFunction;
  rectY: PlotFunction;
  ruleX: PlotFunction;
  ruleY: PlotFunction;
  text: PlotFunction;
  tickX: PlotFunction;
  tickY: PlotFunction;
  /** Plot's identity transform object, passed on as an option value (`fill: Plot.identity`). */
  identity: unknown;
  [name: string]: unknown;
}

/** Plot options as passed to `Plot.plot` (see https://observablehq.com/plot/features/plots). */
export type PlotSpec = Record<string, unknown>;

/** Font every figure uses, by name in the SVG and as a bundled file for resvg. */
export const FIGURE_FONT_FAMILY = 'DejaVu Sans';
/** CSS font-family list written into the SVG; the generic fallback is for browsers without DejaVu. */
const FONT_STACK = `${FIGURE_FONT_FAMILY}, Verdana, sans-serif`;
/** Height of the title band above the plot, px: room for one line of TITLE_FONT_SIZE text. */
const TITLE_BAND = 28;
/** Title font size, px: one step above Plot's tick labels so the hierarchy reads at a glance. */
const TITLE_FONT_SIZE = 16;
/** Height of the caption band under the plot, px. */
const CAPTION_BAND = 22;
/** Caption font size, px. */
const CAPTION_FONT_SIZE = 14;
/**
 * Tick label font size handed to Plot, px. Plot's default 10 px is small in a 1.5x PNG, and a
 * four-panel figure is shown at about its CSS width on a 1280×720 slide: 14 px keeps its ticks
 * at the slides' 14 px minimum.
 */
export const PLOT_FONT_SIZE = 14;
const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

let plotLib: PlotLib | null = null;
let domDocument: unknown = null;

/**
 * Observable Plot, loaded on first use. Plot is ESM-only; `require(esm)` needs Node >= 20.19.
 */
export function loadPlot(): PlotLib {
  if (plotLib === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    plotLib = require('@observablehq/plot') as PlotLib;
  }
  return plotLib;
}

/** One linkedom document, reused by every render (Plot only creates detached elements in it). */
function plotDocument(): unknown {
  if (domDocument === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const linkedom = require('linkedom') as { parseHTML(html: string): { document: unknown } };
    domDocument = linkedom.parseHTML('<!DOCTYPE html><html><head></head><body></body></html>').document;
  }
  return domDocument;
}

/** Escape text for an SVG/XML text node or attribute value. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The minimal element interface used on linkedom's nodes (no DOM types under lib es2022). */
interface Element {
  tagName: string;
  outerHTML: string;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  removeAttribute(name: string): void;
  querySelector(sel: string): Element | null;
}

/**
 * Render Observable Plot options to a {@link Figure}.
 *
 * `spec` is what you would pass to `Plot.plot` (without `document`), or a function receiving
 * the Plot module and returning it: `plotFigure((Plot) => ({marks: [Plot.dot(d, {x: 'a'})]}))`.
 * Plot's own `title`/`subtitle`/`caption` options are moved into the figure's title/caption
 * (Plot would wrap them in HTML); HTML legends are dropped (draw keys as text marks instead).
 */
export function plotFigure(spec: PlotSpec | ((Plot: PlotLib) => PlotSpec), meta: FigureMeta = {}): Figure {
  const Plot = loadPlot();
  const options: PlotSpec = { ...(typeof spec === 'function' ? spec(Plot) : spec) };
  const title = meta.title ?? (typeof options.title === 'string' ? options.title : undefined);
  const caption = meta.caption ?? (typeof options.caption === 'string' ? options.caption : undefined);
  delete options.title;
  delete options.subtitle;
  delete options.caption;
  const style = {
    fontFamily: FONT_STACK,
    fontSize: `${PLOT_FONT_SIZE}px`,
    color: 'black',
    background: 'white',
    ...(typeof options.style === 'object' && options.style !== null ? (options.style as object) : {}),
  };
  const root = Plot.plot({ ...options, style, document: plotDocument() }) as Element;
  const svgEl = root.tagName.toLowerCase() === 'svg' ? root : root.querySelector('svg');
  if (svgEl === null) throw new Error('Plot rendered no <svg> element');
  const width = Number(svgEl.getAttribute('width'));
  const height = Number(svgEl.getAttribute('height'));
  if (!(width > 0) || !(height > 0)) throw new Error('Plot rendered an <svg> without width/height');
  // Plot styles itself as a responsive HTML block; in a nested SVG these CSS rules only confuse.
  svgEl.removeAttribute('style');
  svgEl.removeAttribute('class');
  svgEl.setAttribute('font-family', FONT_STACK);
  svgEl.setAttribute('font-size', String(PLOT_FONT_SIZE));
  return wrapSvg(svgEl.outerHTML, width, height, { ...meta, title, caption });
}

/**
 * Wrap an SVG fragment (a complete `<svg>` element of size width x height) into a standalone
 * figure with a white background, the title above and the caption below.
 */
export function wrapSvg(inner: string, width: number, height: number, meta: FigureMeta = {}): Figure {
  const top = meta.title ? TITLE_BAND : 0;
  const bottom = meta.caption ? CAPTION_BAND : 0;
  const H = height + top + bottom;
  const parts: string[] = [
    `<svg xmlns="${SVG_NS}" xmlns:xlink="${XLINK_NS}" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}"` +
      ` font-family="${FONT_STACK}">`,
    `<rect x="0" y="0" width="${width}" height="${H}" fill="white"/>`,
  ];
  if (meta.title) {
    parts.push(
      `<text x="${width / 2}" y="${TITLE_BAND - 7}" text-anchor="middle" font-size="${TITLE_FONT_SIZE}"` +
        ` font-weight="bold" fill="black">${escapeXml(meta.title)}</text>`,
    );
  }
  parts.push(placeSvg(inner, 0, top));
  if (meta.caption) {
    parts.push(
      `<text x="8" y="${top + height + CAPTION_BAND - 6}" font-size="${CAPTION_FONT_SIZE}" fill="#333">` +
        `${escapeXml(meta.caption)}</text>`,
    );
  }
  parts.push('</svg>');
  return {
    svg: parts.join(''),
    width,
    height: H,
    title: meta.title,
    alt: meta.alt ?? meta.title ?? 'figure',
  };
}

/** Root attributes of a placed SVG that become the transform (or are implied by the outer SVG). */
const PLACEMENT_ATTRIBUTES = new Set([
  'x',
  'y',
  'width',
  'height',
  'viewBox',
  'xmlns',
  'xmlns:xlink',
  'preserveAspectRatio',
  'style',
]);

/**
 * Put a complete `<svg ...>` element at (x, y) inside another SVG, as a
 * `<g transform="translate(x,y)">` holding its content and its inherited attributes
 * (font, fill, text-anchor). A `<g>` rather than a nested `<svg x y>`: resvg 2.6 applies
 * clip paths inside a nested `<svg>` in the outer coordinates, which cut off Plot's clipped
 * marks (seen: the lower 26 px of a loss curve vanished under a title band).
 */
export function placeSvg(svg: string, x: number, y: number): string {
  const m = /^\s*(?:<\?xml[^>]*>\s*)?<svg\b([^>]*)>/.exec(svg);
  const end = svg.lastIndexOf('</svg>');
  if (!m || end < m[0].length) throw new Error('expected an SVG string <svg ...>...</svg>');
  const attrs: Record<string, string> = {};
  for (const a of m[1]!.matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]!] = a[2]!;
  let transform = `translate(${x},${y})`;
  const vb = (attrs.viewBox ?? '')
    .trim()
    .split(/[\s,]+/)
    .map(Number);
  const w = Number(attrs.width);
  const h = Number(attrs.height);
  if (vb.length === 4 && vb.every(Number.isFinite) && w > 0 && h > 0 && vb[2]! > 0 && vb[3]! > 0) {
    const [vx, vy, vw, vh] = vb as [number, number, number, number];
    if (vw !== w || vh !== h) transform += ` scale(${w / vw},${h / vh})`;
    if (vx !== 0 || vy !== 0) transform += ` translate(${-vx},${-vy})`;
  }
  const kept = Object.entries(attrs)
    .filter(([k]) => !PLACEMENT_ATTRIBUTES.has(k))
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  return `<g transform="${transform}"${kept}>` + svg.slice(m[0].length, end) + '</g>';
}

/** A copy of `fig` with a line of small text under it (e.g. "step 400/2000, F = -1.71"). */
export function withCaption(fig: Figure, caption: string): Figure {
  const out = wrapSvg(fig.svg, fig.width, fig.height, { caption, alt: `${fig.alt}\n${caption}` });
  return { ...out, title: fig.title };
}
