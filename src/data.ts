/**
 * Small tabular data sets for the flows: read numeric CSV columns, standardise, split.
 *
 * Plain Node `fs` parsing, no data-frame library: the library only needs a few numeric columns
 * of a small, clean CSV (e.g. data/penguins.csv, see data/README.md). Notebooks may use
 * danfojs-node for display; this module is what the tested code paths use.
 *
 * The CSV dialect: first line is the header, `,` separates fields, `\n` or `\r\n` ends a line,
 * a field may be wrapped in double quotes (`""` inside quotes is one quote; no line breaks
 * inside quotes). Blank lines are skipped.
 */
import { readFileSync } from 'fs';
import { Rng } from './random';
import { checkFinite, checkPositiveInt, checkSeed } from './validate';

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

/** Split one CSV line into fields, honouring double quotes. */
function splitCSVLine(line: string, lineNo: number, path: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inQuotes) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else inQuotes = false;
      } else cur += ch;
    } else if (ch === '"') inQuotes = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (inQuotes) throw new Error(`${path}:${lineNo}: unterminated quoted field`);
  out.push(cur);
  return out;
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
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`path must be a non-empty string, got ${String(path)}`);
  if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string')) {
    throw new TypeError('columns must be a non-empty array of column names');
  }
  checkDistinct('columns', columns);
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, ''); // drop a byte-order mark
  const lines = text.split(/\r?\n/);
  const headerIdx = lines.findIndex((l) => l.trim() !== '');
  if (headerIdx < 0) throw new Error(`${path} is empty: expected a header line and data rows`);
  const header = splitCSVLine(lines[headerIdx]!, headerIdx + 1, path).map((h) => h.trim());
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
  for (let i = headerIdx + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const fields = splitCSVLine(line, i + 1, path);
    if (fields.length !== header.length) {
      throw new Error(`${path}:${i + 1}: expected ${header.length} fields (as in the header), got ${fields.length}`);
    }
    if (!filters.every(({ j, allowed }) => allowed.has(fields[j]!.trim()))) continue;
    for (let c = 0; c < C; c++) {
      const raw = fields[colIdx[c]!]!.trim();
      const code = encode[c];
      if (code) {
        if (!Object.prototype.hasOwnProperty.call(code, raw)) {
          throw new Error(`${path}:${i + 1}: column "${columns[c]}" has value ${JSON.stringify(raw)}, which encode["${columns[c]}"] does not map`);
        }
        values.push(checkFinite(`encode["${columns[c]}"]["${raw}"]`, code[raw]));
        continue;
      }
      const v = Number(raw);
      if (!NUMBER_RE.test(raw) || !Number.isFinite(v)) {
        throw new Error(`${path}:${i + 1}: column "${columns[c]}" has non-numeric value ${JSON.stringify(raw)}`);
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
    if (seen.has(c)) throw new RangeError(`${name} names "${c}" twice; give each column once, got ${columns.join(',')}`);
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
export function checkColumnsForFitting(matrix: Float32Array, columns: readonly string[], source: string, minRows = 2): void {
  const C = columns.length;
  const N = matrix.length / C;
  if (N < minRows) {
    throw new RangeError(`${source} has ${N} data row${N === 1 ? '' : 's'} with values in ${columns.join(', ')}; at least ${minRows} rows are needed`);
  }
  for (let c = 0; c < C; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let n = 0; n < N; n++) {
      const v = matrix[n * C + c]!;
      if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
        throw new RangeError(`${source}: column "${columns[c]}", data row ${n + 1}, is too large for float32 (beyond ±3.4e38)`);
      }
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (lo === hi) throw new RangeError(`${source}: column "${columns[c]}" is constant (every one of its ${N} rows is ${lo}), so it cannot be standardised`);
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
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
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
    if (!Number.isInteger(r) || r < 0 || r >= N) throw new RangeError(`indices[${i}] = ${r} is not a row of a ${N}-row matrix`);
    out.set(matrix.subarray(r * cols, (r + 1) * cols), i * cols);
  }
  return out;
}
