/**
 * Showing figures and tables in tslab notebooks, as ONE output carrying several MIME types.
 *
 * tslab's public `display.png(...)`, `display.svg(...)` each send a single MIME type, and an
 * SVG-only output shows nothing in an untrusted notebook. A multi-MIME bundle goes through
 * tslab's internal writer `lastWriteDisplayData` (module `tslab/dist/jupyter`), which tslab
 * rebinds for every cell: it is looked up at every call, never cached (a cached writer sends
 * into an earlier cell).
 *
 * The writer is found among the modules already loaded (`require.cache`), so this file never
 * loads tslab itself: in plain Node (CLI, tests) there is no writer and every function here
 * is a no-op. That also finds the kernel's own copy of tslab when the
 * notebook runs a tslab installed elsewhere than this project's node_modules.
 */
import { randomBytes } from 'crypto';
import { withCaption, type Figure } from './figure';
import { saveFigure, toBundle, type BundleOptions, type MimeBundle } from './png';
import { frameToHtml, frameToText, type TableFormatOptions, type TableLike } from './tables';

/** One display message as tslab's writer takes it (Jupyter `display_data` content). */
export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** tslab's internal writer: `update` true sends `update_display_data` for `transient.display_id`. */
export type DisplayWriter = (message: DisplayMessage, update: boolean) => void;

/** Path suffix of the tslab module holding the writer (either path separator). */
const TSLAB_JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * tslab's current display writer, or null outside a tslab kernel. Looked up afresh on every
 * call: tslab assigns a new writer for each executed cell.
 */
export function tslabWriter(): DisplayWriter | null {
  const cache = require.cache;
  for (const file of Object.keys(cache)) {
    if (!TSLAB_JUPYTER_MODULE.test(file)) continue;
    const exp = cache[file]?.exports as { lastWriteDisplayData?: unknown } | undefined;
    if (exp && typeof exp.lastWriteDisplayData === 'function') return exp.lastWriteDisplayData as DisplayWriter;
  }
  return null;
}

/** True inside a running tslab kernel cell (a display writer is set). */
export function inTslab(): boolean {
  return tslabWriter() !== null;
}

/**
 * Send one bundle as one output. Returns false (and sends nothing) outside tslab.
 * `displayId` with `update` replaces an output made earlier with the same id.
 */
export function showBundle(
  data: MimeBundle,
  metadata: Record<string, unknown> = {},
  displayId?: string,
  update = false,
): boolean {
  const write = tslabWriter();
  if (write === null) return false;
  write({ data, metadata, transient: displayId === undefined ? {} : { display_id: displayId } }, update);
  return true;
}

/** Options of {@link show}. */
export interface ShowOptions extends BundleOptions {
  /** Also write the figure to this .png or .svg file (in and outside tslab). */
  saveTo?: string;
}

/**
 * Image metadata for the bundle: the PNG is `scale` times larger than the figure, and this
 * tells the frontend (and nbconvert) to draw it at the figure's CSS size, sharp on HiDPI.
 */
function imageMetadata(fig: Figure): Record<string, unknown> {
  return { 'image/png': { width: fig.width, height: fig.height } };
}

/**
 * Show a figure in a tslab notebook as one output {image/png, image/svg+xml, text/plain}.
 * Outside tslab it sends nothing (after saving when `saveTo` is given). Returns nothing on
 * purpose: tslab prints a cell's last value, so a `true` would appear under every figure.
 *
 * @example show(densityPlot(lp, {grid, title: 'U1'}))
 */
export function show(fig: Figure, options: ShowOptions = {}): void {
  if (options.saveTo !== undefined) saveFigure(fig, options.saveTo, options);
  if (!inTslab()) return;
  showBundle(toBundle(fig, options), imageMetadata(fig));
}

/**
 * Show a DataFrame or rows as an HTML table (+ aligned text) in one output; nothing outside
 * tslab. Inline-styled HTML survives untrusted notebooks and nbconvert.
 */
export function showTable(table: TableLike, options: TableFormatOptions = {}): void {
  if (!inTslab()) return;
  showBundle({ 'text/html': frameToHtml(table, options), 'text/plain': frameToText(table, options) });
}

/** One output updated in place; see {@link liveDisplay}. */
export interface LiveDisplay {
  /** The Jupyter display id of the output. */
  readonly id: string;
  /** False outside tslab: updates are dropped. */
  readonly active: boolean;
  /**
   * Replace the output: a text line alone, or a figure with the line drawn under it as a
   * caption (the frontend shows one MIME type of a bundle, so text beside a PNG would be lost).
   */
  update(text: string, fig?: Figure): void;
}

/** Options of {@link liveDisplay}. */
export interface LiveDisplayOptions {
  /** PNG scale of figure updates (default 1: live frames are transient, keep them cheap). */
  scale?: number;
}

/**
 * One notebook output that training updates in place: a progress line, optionally with a
 * loss-curve PNG. Works from a synchronous loop too (each update is sent at once). Outside
 * tslab it is a no-op (`active` false), so library code may call it unconditionally.
 *
 * Mechanism: like tslab's `newDisplay()` (a random display id; first call `display_data`,
 * later calls `update_display_data`), but through the writer so that an update can carry a
 * full bundle (PNG + text) and image metadata; tslab's `newDisplay().raw()` sends one MIME
 * type per call.
 *
 * @example
 * const live = liveDisplay();
 * await train(flow, target, {onChunk: (c) => live.update(`step ${c.step}/${c.steps}`, lossPlot(c.history))});
 */
export function liveDisplay(options: LiveDisplayOptions = {}): LiveDisplay {
  const id = randomBytes(8).toString('hex');
  const active = inTslab();
  let started = false;
  return {
    id,
    active,
    update(text: string, fig?: Figure): void {
      if (!active) return;
      let data: MimeBundle;
      let metadata: Record<string, unknown> = {};
      if (fig === undefined) {
        data = { 'text/plain': text };
      } else {
        const captioned = withLine(fig, text);
        data = toBundle(captioned, { scale: options.scale ?? 1, svg: false, compression: 'fast' }); // transient: encode fast
        metadata = imageMetadata(captioned);
      }
      // A writer can vanish (kernel shutting down): then drop the update, never throw mid-training.
      if (showBundle(data, metadata, id, started)) started = true;
    },
  };
}

function withLine(fig: Figure, text: string): Figure {
  return text ? withCaption(fig, text) : fig;
}
