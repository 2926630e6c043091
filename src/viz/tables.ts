/**
 * Tables: training histories and result rows as danfojs-node DataFrames, readable HTML for
 * notebooks (danfo's `print()` is text only), and CSV files.
 *
 * danfojs-node loads lazily (about 1.5 s, and it pulls in tfjs through a shim): the CLI and
 * library users who never build a DataFrame never pay for it. `frameToHtml`, `frameToText`
 * and `saveCSV` also accept plain rows, so they work without danfo too.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DataFrame } from 'danfojs-node';
import type { TrainHistory } from '../train/train';

export type { DataFrame };

/** A table row: column name -> number or string. */
export type Row = Record<string, number | string>;

/** A DataFrame or plain rows: what the table functions accept. */
export type TableLike = DataFrame | Row[];

/** Default significant digits of numbers in HTML/text tables: enough to compare nats to 1e-3. */
export const DEFAULT_TABLE_DIGITS = 4;
/** Default most rows rendered; longer tables show the first and last half of these. */
export const DEFAULT_TABLE_MAX_ROWS = 40;

type Danfo = typeof import('danfojs-node');
let danfo: Danfo | null = null;

/** danfojs-node, loaded on first use. */
export function loadDanfo(): Danfo {
  if (danfo === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    danfo = require('danfojs-node') as Danfo;
  }
  return danfo;
}

/** Rows -> DataFrame (columns in the order of the first row's keys). */
export function toFrame(rows: Row[]): DataFrame {
  if (!Array.isArray(rows) || rows.length === 0) throw new RangeError('toFrame needs a non-empty array of rows');
  return new (loadDanfo().DataFrame)(rows);
}

/** Options of {@link historyFrame}. */
export interface HistoryFrameOptions {
  /** Keep every k-th step (default 1: all). The last step is always kept. */
  every?: number;
}

/** A training history as a DataFrame with columns step, loss, freeEnergy, beta, lr. */
export function historyFrame(
  history: Pick<TrainHistory, 'step' | 'loss' | 'freeEnergy' | 'beta' | 'lr'>,
  options: HistoryFrameOptions = {},
): DataFrame {
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`every must be a positive integer, got ${every}`);
  const n = history.step.length;
  if (n === 0) throw new RangeError('historyFrame needs a history with at least one step');
  const keep: number[] = [];
  for (let i = 0; i < n; i += every) keep.push(i);
  if (keep[keep.length - 1] !== n - 1) keep.push(n - 1);
  const col = (a: number[]) => keep.map((i) => a[i]!);
  return new (loadDanfo().DataFrame)({
    step: col(history.step),
    loss: col(history.loss),
    freeEnergy: col(history.freeEnergy),
    beta: col(history.beta),
    lr: col(history.lr),
  });
}

function isFrame(t: TableLike): t is DataFrame {
  return !Array.isArray(t) && typeof t === 'object' && t !== null && 'columns' in t && 'values' in t;
}

/** Column names and rows of values of a DataFrame or of plain rows (union of keys, in order). */
export function tableData(table: TableLike): { columns: string[]; rows: unknown[][] } {
  if (isFrame(table)) {
    const columns = table.columns.map(String);
    const values = table.values as unknown[];
    // A one-column frame may come back as a flat array.
    const rows = values.map((r) => (Array.isArray(r) ? r : [r]));
    return { columns, rows };
  }
  if (!Array.isArray(table)) throw new TypeError('expected a DataFrame or an array of rows');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of table) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  return { columns, rows: table.map((r) => columns.map((c) => r[c])) };
}

/** A cell as text: integers in full, other numbers with `digits` significant digits. */
export function formatCell(v: unknown, digits = DEFAULT_TABLE_DIGITS): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
    return String(Number(v.toPrecision(digits)));
  }
  return String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Options of the table renderers. */
export interface TableFormatOptions {
  /** Significant digits of non-integer numbers (default {@link DEFAULT_TABLE_DIGITS}). */
  digits?: number;
  /** Most rows shown (default {@link DEFAULT_TABLE_MAX_ROWS}); the middle is elided. */
  maxRows?: number;
  /** Caption above the table. */
  caption?: string;
}

/** The row indices to show, with null where rows are elided. */
function shownRows(n: number, maxRows: number): (number | null)[] {
  if (n <= maxRows) return Array.from({ length: n }, (_, i) => i);
  const head = Math.ceil(maxRows / 2);
  const tail = maxRows - head;
  return [...Array.from({ length: head }, (_, i) => i), null, ...Array.from({ length: tail }, (_, i) => n - tail + i)];
}

/**
 * An HTML table of a DataFrame or rows: header row, numbers right-aligned with `digits`
 * significant digits, long tables elided in the middle. Inline styles only (notebook
 * frontends strip <style> blocks from untrusted outputs).
 */
export function frameToHtml(table: TableLike, options: TableFormatOptions = {}): string {
  const { columns, rows } = tableData(table);
  const digits = options.digits ?? DEFAULT_TABLE_DIGITS;
  const cell = 'padding:2px 8px;border-bottom:1px solid #ddd;';
  const parts: string[] = ['<table style="border-collapse:collapse;font-family:monospace;font-size:12px;">'];
  if (options.caption)
    parts.push(
      `<caption style="text-align:left;font-weight:bold;padding:4px 0;">${escapeHtml(options.caption)}</caption>`,
    );
  parts.push('<thead><tr>');
  for (const c of columns)
    parts.push(`<th style="${cell}text-align:right;border-bottom:2px solid #444;">${escapeHtml(c)}</th>`);
  parts.push('</tr></thead><tbody>');
  for (const i of shownRows(rows.length, options.maxRows ?? DEFAULT_TABLE_MAX_ROWS)) {
    if (i === null) {
      parts.push(
        `<tr><td colspan="${columns.length}" style="${cell}text-align:center;">… ${rows.length - (options.maxRows ?? DEFAULT_TABLE_MAX_ROWS)} more rows …</td></tr>`,
      );
      continue;
    }
    parts.push('<tr>');
    for (const v of rows[i]!) {
      const align = typeof v === 'number' ? 'right' : 'left';
      parts.push(`<td style="${cell}text-align:${align};">${escapeHtml(formatCell(v, digits))}</td>`);
    }
    parts.push('</tr>');
  }
  parts.push('</tbody></table>');
  return parts.join('');
}

/** The same table as aligned plain text (the text/plain half of a table output). */
export function frameToText(table: TableLike, options: TableFormatOptions = {}): string {
  const { columns, rows } = tableData(table);
  const digits = options.digits ?? DEFAULT_TABLE_DIGITS;
  const maxRows = options.maxRows ?? DEFAULT_TABLE_MAX_ROWS;
  const body = shownRows(rows.length, maxRows).map((i) =>
    i === null ? null : rows[i]!.map((v) => formatCell(v, digits)),
  );
  const widths = columns.map((c, j) => Math.max(c.length, ...body.map((r) => (r === null ? 0 : r[j]!.length))));
  const line = (cells: string[]) => cells.map((s, j) => s.padStart(widths[j]!)).join('  ');
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of body) out.push(r === null ? `… ${rows.length - maxRows} more rows …` : line(r));
  return (options.caption ? options.caption + '\n' : '') + out.join('\n');
}

function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Write a DataFrame or rows as CSV (full precision, RFC 4180 quoting), creating the folder.
 * Examples use `out/`, which git ignores. Returns the absolute path.
 */
export function saveCSV(table: TableLike, file: string): string {
  const { columns, rows } = tableData(table);
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const lines = [columns.map(csvField).join(','), ...rows.map((r) => r.map(csvField).join(','))];
  fs.writeFileSync(abs, lines.join('\n') + '\n');
  return abs;
}
