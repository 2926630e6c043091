/**
 * Figures as pixels and files: resvg renders a figure's SVG with the DejaVu Sans font files
 * shipped in the `dejavu-fonts-ttf` package (system fonts off, so every machine renders the
 * same pixels), pngjs encodes them; {@link toBundle} makes the notebook output (PNG + SVG + alt
 * text), {@link saveFigure} the .png / .svg file.
 *
 * resvg and pngjs load on first use.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FIGURE_FONT_FAMILY, type Figure } from './figure';

/** The files of {@link FIGURE_FONT_FAMILY} resvg loads: regular for ticks, bold for titles. */
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'];

/**
 * PNG pixels per CSS pixel. 1.5 is sharp on most HiDPI screens while a 450 px figure stays at
 * 30-80 KB of PNG, which keeps a notebook of a dozen figures well under 3 MB.
 */
export const DEFAULT_PNG_SCALE = 1.5;

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
  Resvg: new (
    svg: string,
    options: Record<string, unknown>,
  ) => { render(): { pixels: Buffer; width: number; height: number } };
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
  return encodePng(
    img.pixels,
    img.width,
    img.height,
    options.compression === 'fast' ? PNG_FAST_DEFLATE_LEVEL : PNG_DEFLATE_LEVEL,
  );
}

/** pngjs's synchronous writer, typed loosely (no @types package needed for one call). */
interface PngjsLib {
  PNG: {
    sync: { write(png: { width: number; height: number; data: Uint8Array }, options: Record<string, unknown>): Buffer };
  };
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
