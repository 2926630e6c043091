/**
 * Figures that show everywhere: an SVG string rendered in Node with no browser, plus a PNG of it.
 *
 * - Observable Plot draws into linkedom's `document` (no browser, no canvas), and the SVG is
 *   serialised with `outerHTML`.
 * - resvg turns the SVG into a PNG with the DejaVu Sans font file shipped in the
 *   `dejavu-fonts-ttf` package and system fonts off, so every machine renders the same pixels.
 * - A notebook output carries both plus alt text ({@link toBundle}): an SVG-only output shows
 *   nothing in an untrusted notebook and nbconvert 6.5 blanks SVG in HTML/slides, so the PNG
 *   is what most readers see.
 *
 * Plot, linkedom and resvg load on first use: `require` of the library stays fast for CLI users.
 * Plot.raster and continuous colour legends need a canvas and fail here: do not use them.
 *
 * This file must compile under tslab's TypeScript 5.0 (non-strict, lib es2022, no DOM types),
 * so DOM objects are typed structurally and loosely.
 */
import * as fs from 'fs';
import * as path from 'path';

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

/**
 * Observable Plot, typed loosely on purpose: its own typings name DOM types, which tslab's
 * compiler (lib es2022 only) does not have. Every export is callable for our purposes
 * (`Plot.dot(...)`, `Plot.contour(...)`); non-function exports such as `Plot.identity` are
 * only ever passed on as option values.
 */
export interface PlotLib {
  [name: string]: (...args: unknown[]) => unknown;
}

/** Plot options as passed to `Plot.plot` (see https://observablehq.com/plot/features/plots). */
export type PlotSpec = Record<string, unknown>;

/** Font every figure uses, by name in the SVG and as a bundled file for resvg. */
export const FIGURE_FONT_FAMILY = 'DejaVu Sans';
/** The files of {@link FIGURE_FONT_FAMILY} resvg loads: regular for ticks, bold for titles. */
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'];
/** CSS font-family list written into the SVG; the generic fallback is for browsers without DejaVu. */
const FONT_STACK = `${FIGURE_FONT_FAMILY}, Verdana, sans-serif`;
/**
 * PNG pixels per CSS pixel. 1.5 is sharp on most HiDPI screens while a 450 px figure stays at
 * 30-80 KB of PNG, which keeps a notebook of a dozen figures well under 3 MB.
 */
export const DEFAULT_PNG_SCALE = 1.5;
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
const PLACEMENT_ATTRIBUTES = new Set(['x', 'y', 'width', 'height', 'viewBox', 'xmlns', 'xmlns:xlink', 'preserveAspectRatio', 'style']);

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
  const vb = (attrs.viewBox ?? '').trim().split(/[\s,]+/).map(Number);
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

/** Options of {@link toPNG}. */
export interface PngOptions {
  /** PNG pixels per CSS pixel (default {@link DEFAULT_PNG_SCALE}). */
  scale?: number;
  /**
   * 'small' (default): zlib level 9, for figures that are kept. 'fast': level 3, about half the
   * encode time for ~11% more bytes, for transient frames (live training progress).
   */
  compression?: 'small' | 'fast';
}

interface ResvgLib {
  Resvg: new (svg: string, options: Record<string, unknown>) => { render(): { pixels: Buffer; width: number; height: number } };
}
let resvgLib: ResvgLib | null = null;
let fontFiles: string[] | null = null;

/** Absolute paths of the bundled DejaVu font files. */
export function figureFontFiles(): string[] {
  if (fontFiles === null) {
    const dir = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    fontFiles = FONT_FILES.map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
    if (fontFiles.length === 0) throw new Error(`no DejaVu font files found in ${dir}`);
  }
  return fontFiles;
}

/**
 * Render a figure to PNG bytes with resvg: bundled DejaVu Sans, system fonts off, so the bytes
 * are the same on every machine; encoded by {@link encodePng} (RGB, zlib level 9).
 */
export function toPNG(fig: Figure, options: PngOptions = {}): Buffer {
  const scale = options.scale ?? DEFAULT_PNG_SCALE;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be a positive number, got ${scale}`);
  if (resvgLib === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    resvgLib = require('@resvg/resvg-js') as ResvgLib;
  }
  const r = new resvgLib.Resvg(fig.svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      loadSystemFonts: false,
      fontFiles: figureFontFiles(),
      defaultFontFamily: FIGURE_FONT_FAMILY,
      sansSerifFamily: FIGURE_FONT_FAMILY,
      serifFamily: FIGURE_FONT_FAMILY,
      monospaceFamily: FIGURE_FONT_FAMILY,
      cursiveFamily: FIGURE_FONT_FAMILY,
      fantasyFamily: FIGURE_FONT_FAMILY,
    },
  });
  const img = r.render();
  return encodePng(img.pixels, img.width, img.height, options.compression === 'fast' ? PNG_FAST_DEFLATE_LEVEL : PNG_DEFLATE_LEVEL);
}

/** pngjs's synchronous writer, typed loosely (no @types package needed for one call). */
interface PngjsLib {
  PNG: { sync: { write(png: { width: number; height: number; data: Uint8Array }, options: Record<string, unknown>): Buffer } };
}
let pngjsLib: PngjsLib | null = null;

/** PNG colour types (PNG spec, IHDR): 2 = RGB, 6 = RGBA. */
const PNG_RGB = 2;
const PNG_RGBA = 6;
/**
 * zlib level 9. The 26 PNGs of the committed notebooks re-encoded (`node --import tsx
 * scripts/png-sizes.ts`): 2,698,710 bytes, 1.7% fewer than the 2,744,807 of the hand-written
 * encoder this replaced (Sub/Up/Paeth, level 6); pngjs at level 6 gives 2,751,312. The price is
 * encode time: about 3x, some 100-200 ms more per full-size figure.
 */
const PNG_DEFLATE_LEVEL = 9;
/**
 * zlib level 3 for transient frames: on the same 26 PNGs 11% larger than level 9 and half the
 * time (5.6 vs 11.5 s for all 26 on this 2-core machine under load 18).
 */
const PNG_FAST_DEFLATE_LEVEL = 3;
/** zlib's default strategy: better than Z_RLE (pngjs's default, 16% larger here) and Z_FILTERED. */
const PNG_DEFLATE_STRATEGY = 0;

/**
 * Encode RGBA pixels (`rgba`: [height, width, 4] bytes, row-major) as a PNG with pngjs: 8-bit
 * RGB when every pixel is opaque (our figures have a white background, so the alpha channel
 * is constant and dropping it saves a quarter of the raw bytes), else RGBA. pngjs picks the
 * filter of each row (None, Sub, Up, Average, Paeth) by libpng's minimum-sum heuristic.
 * `deflateLevel` is zlib's 0-9 (default 9: smallest files).
 */
export function encodePng(rgba: Uint8Array, width: number, height: number, deflateLevel = PNG_DEFLATE_LEVEL): Buffer {
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`rgba must hold width * height * 4 = ${width * height * 4} bytes, got ${rgba.length}`);
  }
  if (!Number.isInteger(deflateLevel) || deflateLevel < 0 || deflateLevel > 9) {
    throw new RangeError(`deflateLevel must be an integer in 0..9, got ${deflateLevel}`);
  }
  if (pngjsLib === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    pngjsLib = require('pngjs') as PngjsLib;
  }
  let opaque = true;
  for (let i = 3; i < rgba.length; i += 4) {
    if (rgba[i] !== 255) {
      opaque = false;
      break;
    }
  }
  return pngjsLib.PNG.sync.write(
    { width, height, data: rgba },
    {
      colorType: opaque ? PNG_RGB : PNG_RGBA,
      inputColorType: PNG_RGBA,
      inputHasAlpha: true,
      bitDepth: 8,
      filterType: -1, // adaptive: try all five filters per row
      deflateLevel,
      deflateStrategy: PNG_DEFLATE_STRATEGY,
    },
  );
}

/** A Jupyter multi-mime output: each key a MIME type, PNG base64-encoded. */
export interface MimeBundle {
  'image/png'?: string;
  'image/svg+xml'?: string;
  'text/html'?: string;
  'text/plain': string;
  [mime: string]: string | undefined;
}

/** Options of {@link toBundle}. */
export interface BundleOptions extends PngOptions {
  /**
   * Include the SVG (default true). The frontend prefers it where it may (trusted notebooks);
   * leave it out to halve the size of scatter-heavy outputs.
   */
  svg?: boolean;
}

/**
 * The figure as a Jupyter display bundle {image/png (base64), image/svg+xml, text/plain}.
 * The PNG is what untrusted notebooks and nbconvert HTML/slides show.
 */
export function toBundle(fig: Figure, options: BundleOptions = {}): MimeBundle {
  const bundle: MimeBundle = { 'image/png': toPNG(fig, options).toString('base64'), 'text/plain': fig.alt };
  if (options.svg ?? true) bundle['image/svg+xml'] = fig.svg;
  return bundle;
}

/**
 * Write a figure as `.svg` or `.png` (by the extension of `file`), creating the folder.
 * Examples write under `out/`, which git ignores. Returns the absolute path.
 */
export function saveFigure(fig: Figure, file: string, options: PngOptions = {}): string {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new RangeError(`saveFigure writes .svg or .png files, got "${file}"`);
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, ext === '.svg' ? fig.svg : toPNG(fig, options));
  return abs;
}
