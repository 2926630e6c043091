/**
 * Small tabular data sets for the flows: read numeric CSV columns, standardise, split.
 *
 * csv-parse tokenises (no data-frame library: the library only needs a few numeric columns of a
 * small, clean CSV, e.g. data/penguins.csv, see data/README.md); this file adds the checks, with
 * errors that name the file, the line, the data row and the column. Notebooks may use
 * danfojs-node for display; this module is what the tested code paths use.
 *
 * The CSV dialect: first non-blank line is the header, `,` separates fields, `\n` or `\r\n` ends
 * a line, a field may be wrapped in double quotes (`""` inside quotes is one quote; a quoted
 * field may hold commas and line breaks). A leading byte-order mark and blank lines are skipped.
 */
import { readFileSync } from 'fs';
import { Rng } from '../core/random';
import { checkFinite, checkPositiveInt, checkSeed } from '../core/validate';

/** Numeric columns of a CSV as a row-major matrix. */
export interface CSVColumns {
  /** Column names in the order asked for: [C] */
  columns: string[];
  /** Number of rows N kept. */
  rows: number;
  /** Values row-major: x[n * C + c] is row n, column c: [N, C] */
  matrix: Float32Array;
}

export interface ReadCSVOptions {
  /**
   * Keep only rows whose raw text in column `key` equals the value (or one of the values), e.g.
   * `{ species: ['Adelie', 'Chinstrap'] }`. Filter columns need not be numeric.
   */
  where?: Record<string, string | readonly string[]>;
  /**
   * Read a text column as numbers through a code table, e.g.
   * `{ species: { Adelie: 0, Chinstrap: 1 } }`; a value missing from the table is an error.
   */
  encode?: Record<string, Record<string, number>>;
}

/** One CSV record: its fields and where it starts in the file. */
interface CSVRecord {
  /** The fields, unquoted (`""` inside quotes already read as one quote). */
  fields: string[];
  /** 1-based line of the file on which the record starts (a quoted field may span lines). */
  line: number;
}

/** csv-parse's synchronous API, typed loosely (its typings need `exports`-aware resolution). */
interface CsvParseSync {
  parse(
    text: string,
    options: Record<string, unknown>,
  ): { record: string[]; info: { lines: number; empty_lines: number } }[];
}
let csvParse: CsvParseSync | null = null;

/**
 * Tokenise CSV text with csv-parse (https://csv.js.org/parse/), the maintained parser: RFC 4180
 * quoting, `""` escapes and line breaks inside quoted fields. `\r\n` is turned into `\n`
 * first, so files with mixed line endings read too (a CRLF inside quotes becomes `\n`).
 * Blank lines are skipped. Field counts are checked by the caller, which names the file.
 */
function parseCSVRecords(text: string, path: string): CSVRecord[] {
  if (csvParse === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    csvParse = require('csv-parse/sync') as CsvParseSync;
  }
  let parsed: ReturnType<CsvParseSync['parse']>;
  try {
    parsed = csvParse.parse(text.replace(/\r\n/g, '\n'), {
      info: true, // each record with the line it ends on and the blank lines skipped so far
      relax_column_count: true, // ragged rows get our own error, which names the header
      skip_empty_lines: true,
    });
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    throw new Error(`${path}:${err.lines ?? '?'}: malformed CSV: ${err.message ?? String(e)}`);
  }
  const records: CSVRecord[] = [];
  let prevLines = 0;
  let prevEmpty = 0;
  for (const { record, info } of parsed) {
    // The record starts after the previous one's last line and the blank lines skipped since.
    const line = prevLines + (info.empty_lines - prevEmpty) + 1;
    prevLines = info.lines;
    prevEmpty = info.empty_lines;
    if (record.length === 1 && record[0]!.trim() === '') continue; // a line of spaces only
    records.push({ fields: record, line });
  }
  return records;
}

/** A finite number written in plain decimal or exponent notation (no hex, no empty string). */
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Read the numeric `columns` of the CSV file at `path` into a row-major Float32Array [N, C].
 *
 * Throws, naming the file, line and column, when the file is empty or has no data rows, a
 * requested column is missing from the header, or a value is not a finite number (an empty
 * field counts as missing: clean the data first, e.g. with scripts/make-data.mjs).
 */
export function readCSVColumns(path: string, columns: readonly string[], options: ReadCSVOptions = {}): CSVColumns {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`path must be a non-empty string, got ${String(path)}`);
  if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string')) {
    throw new TypeError('columns must be a non-empty array of column names');
  }
  checkDistinct('columns', columns);
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, ''); // drop a byte-order mark
  const records = parseCSVRecords(text, path);
  if (records.length === 0) throw new Error(`${path} is empty: expected a header line and data rows`);
  const header = records[0]!.fields.map((h) => h.trim());
  const colIdx = columns.map((c) => {
    const j = header.indexOf(c);
    if (j < 0) throw new Error(`column "${c}" not found in ${path}; the header has: ${header.join(', ')}`);
    return j;
  });
  const filters = Object.entries(options.where ?? {}).map(([key, value]) => {
    const j = header.indexOf(key);
    if (j < 0) throw new Error(`where: column "${key}" not found in ${path}; the header has: ${header.join(', ')}`);
    const allowed = new Set(typeof value === 'string' ? [value] : value);
    return { j, allowed };
  });
  const C = columns.length;
  const encode = columns.map((c) => options.encode?.[c]);
  const values: number[] = [];
  let rows = 0;
  for (let r = 1; r < records.length; r++) {
    const { fields, line } = records[r]!;
    // "<file>:<line>: ... (data row r)": the line to open in an editor, the row to count in a table.
    const at = `${path}:${line}`;
    const row = `(data row ${r})`;
    if (fields.length !== header.length) {
      throw new Error(`${at}: expected ${header.length} fields (as in the header), got ${fields.length} ${row}`);
    }
    if (!filters.every(({ j, allowed }) => allowed.has(fields[j]!.trim()))) continue;
    for (let c = 0; c < C; c++) {
      const raw = fields[colIdx[c]!]!.trim();
      const code = encode[c];
      if (code) {
        if (!Object.prototype.hasOwnProperty.call(code, raw)) {
          throw new Error(
            `${at}: column "${columns[c]}" has value ${JSON.stringify(raw)}, which encode["${columns[c]}"] does not map ${row}`,
          );
        }
        values.push(checkFinite(`encode["${columns[c]}"]["${raw}"]`, code[raw]));
        continue;
      }
      const v = Number(raw);
      if (!NUMBER_RE.test(raw) || !Number.isFinite(v)) {
        throw new Error(`${at}: column "${columns[c]}" has non-numeric value ${JSON.stringify(raw)} ${row}`);
      }
      values.push(v);
    }
    rows++;
  }
  if (rows === 0) {
    throw new Error(`${path} has no data rows${filters.length ? ' matching `where`' : ''} (only a header)`);
  }
  return { columns: [...columns], rows, matrix: Float32Array.from(values) };
}

/** Column names must be distinct: `a,a` would model one variable twice (a singular covariance). */
export function checkDistinct(name: string, columns: readonly string[]): void {
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c))
      throw new RangeError(`${name} names "${c}" twice; give each column once, got ${columns.join(',')}`);
    seen.add(c);
  }
}

/** Largest float32; a CSV value beyond it would become Infinity in the Float32Array. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Checks that run after parsing, before any fitting: at least `minRows` rows, every value
 * within float32 range, and no constant column (it cannot be standardised). `source` names the
 * file (and which rows) in the message, e.g. "data/x.csv" or "data/x.csv (training rows)".
 */
export function checkColumnsForFitting(
  matrix: Float32Array,
  columns: readonly string[],
  source: string,
  minRows = 2,
): void {
  const C = columns.length;
  const N = matrix.length / C;
  if (N < minRows) {
    throw new RangeError(
      `${source} has ${N} data row${N === 1 ? '' : 's'} with values in ${columns.join(', ')}; at least ${minRows} rows are needed`,
    );
  }
  for (let c = 0; c < C; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let n = 0; n < N; n++) {
      const v = matrix[n * C + c]!;
      if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
        throw new RangeError(
          `${source}: column "${columns[c]}", data row ${n + 1}, is too large for float32 (beyond ±3.4e38)`,
        );
      }
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (lo === hi)
      throw new RangeError(
        `${source}: column "${columns[c]}" is constant (every one of its ${N} rows is ${lo}), so it cannot be standardised`,
      );
  }
}

/** A standardised matrix and the statistics that undo it: x = (raw - mean) / std. */
export interface Standardized {
  /** (raw - mean) / std, row-major: [N, C] */
  x: Float32Array;
  /** Column means: [C] */
  mean: Float64Array;
  /** Column standard deviations (population, divisor N): [C] */
  std: Float64Array;
}

/** Column statistics to reuse, e.g. those of the training split applied to the test split. */
export interface StandardizeStats {
  mean: ArrayLike<number>;
  std: ArrayLike<number>;
}

/**
 * Standardise each column: x_nc = (raw_nc - m_c) / s_c with m_c = (1/N) Σ_n raw_nc and
 * s_c = √((1/N) Σ_n (raw_nc - m_c)²) (sums in float64).
 *
 * Call as `standardize(table)` with a `readCSVColumns` result, or `standardize(matrix, cols)`
 * with a row-major [N, cols] array. Pass `stats` (e.g. from the training split) to apply the
 * same transform to other rows. A constant column is an error (s_c = 0).
 */
export function standardize(table: CSVColumns, stats?: StandardizeStats): Standardized;
export function standardize(matrix: Float32Array | Float64Array, cols: number, stats?: StandardizeStats): Standardized;
export function standardize(
  a: CSVColumns | Float32Array | Float64Array,
  b?: number | StandardizeStats,
  c?: StandardizeStats,
): Standardized {
  let matrix: Float32Array | Float64Array;
  let cols: number;
  let stats: StandardizeStats | undefined;
  if (a instanceof Float32Array || a instanceof Float64Array) {
    matrix = a;
    cols = checkPositiveInt('cols', b);
    stats = c;
  } else if (a !== null && typeof a === 'object' && a.matrix instanceof Float32Array && Array.isArray(a.columns)) {
    matrix = a.matrix;
    cols = a.columns.length;
    stats = b as StandardizeStats | undefined;
  } else {
    throw new TypeError('standardize needs a readCSVColumns result or (matrix: Float32Array, cols)');
  }
  if (matrix.length === 0 || matrix.length % cols !== 0) {
    throw new RangeError(`matrix must hold N * cols values with N >= 1 (cols = ${cols}), got length ${matrix.length}`);
  }
  const N = matrix.length / cols;
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  if (stats) {
    if (stats.mean.length !== cols || stats.std.length !== cols) {
      throw new RangeError(`stats.mean and stats.std must have length cols = ${cols}`);
    }
    for (let c = 0; c < cols; c++) {
      mean[c] = checkFinite(`stats.mean[${c}]`, stats.mean[c]);
      std[c] = checkFinite(`stats.std[${c}]`, stats.std[c]);
      if (!(std[c]! > 0)) throw new RangeError(`stats.std[${c}] must be > 0, got ${std[c]}`);
    }
  } else {
    for (let n = 0; n < N; n++) for (let c = 0; c < cols; c++) mean[c] += matrix[n * cols + c]!;
    for (let c = 0; c < cols; c++) mean[c] /= N;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < cols; c++) std[c] += (matrix[n * cols + c]! - mean[c]!) ** 2;
    }
    for (let c = 0; c < cols; c++) {
      std[c] = Math.sqrt(std[c]! / N);
      if (!(std[c]! > 0)) throw new RangeError(`column ${c} of matrix is constant (std 0): cannot standardise it`);
    }
  }
  const x = new Float32Array(matrix.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < cols; c++) x[n * cols + c] = (matrix[n * cols + c]! - mean[c]!) / std[c]!;
  }
  return { x, mean, std };
}

export interface SplitOptions {
  /** Fraction of rows held out for testing, in (0, 1) (default 0.25). */
  testFraction?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
}

/** Row indices of a train/test split. */
export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Seeded random split of row indices 0..n-1: a Fisher-Yates shuffle with `Rng(seed)`, the first
 * round(n · testFraction) shuffled indices are the test set (at least 1 in each part). Each part
 * is returned sorted ascending, so the same seed gives the same split on every machine.
 */
export function trainTestSplit(n: number, options: SplitOptions = {}): Split {
  checkPositiveInt('n', n, 2);
  const testFraction = checkFinite('testFraction', options.testFraction ?? 0.25);
  if (!(testFraction > 0 && testFraction < 1))
    throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  const rng = new Rng(checkSeed('seed', options.seed ?? 0));
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  const test = idx.slice(0, nTest).sort();
  const train = idx.slice(nTest).sort();
  return { train, test };
}

/** Rows `indices` of a row-major [N, C] matrix: [indices.length, C]. */
export function takeRows(matrix: Float32Array, cols: number, indices: ArrayLike<number>): Float32Array {
  checkPositiveInt('cols', cols);
  const N = matrix.length / cols;
  const out = new Float32Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= N)
      throw new RangeError(`indices[${i}] = ${r} is not a row of a ${N}-row matrix`);
    out.set(matrix.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}
