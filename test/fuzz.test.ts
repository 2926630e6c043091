/**
 * Fuzzing the error paths (issue 10), seeded so that a failure reproduces:
 * - CSV files, clean and malformed (bad cells, ragged rows, empty lines, huge values, missing
 *   values, truncation), through the library's CSV reading and the checks the CLI runs on them:
 *   a clean file must read back its numbers; a malformed one must either read back finite
 *   values or fail with an Error that names the file;
 * - random CLI argument vectors (and a few of the CSV files through `--data`): never a stack
 *   trace, exit 0 only with finite results, 2 for bad input before any training, 1 for a failed run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, readCSVColumns, checkColumnsForFitting } from '../src';

const root = join(__dirname, '..');
/** Rows the CLI's --data mode needs (scripts/train.ts MIN_DATA_ROWS). */
const MIN_ROWS = 4;
const CSV_CASES = 400;
const CLI_VECTORS = 20;
/** CLI runs at a time (each is mostly tsx start-up). */
const CLI_PARALLEL = 4;

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.uniform() * xs.length)]!;
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng.uniform() * (hi - lo + 1));

/** A number written the way CSV files write them: fixed, integer, exponent, signed. */
function numberText(rng: Rng): { text: string; value: number } {
  const x = rng.normal() * 10 ** int(rng, -2, 3);
  const style = int(rng, 0, 3);
  const text =
    style === 0
      ? x.toFixed(int(rng, 0, 4))
      : style === 1
        ? String(Math.round(x))
        : style === 2
          ? x.toExponential(3)
          : String(x);
  return { text, value: Number(text) };
}

interface CsvCase {
  text: string;
  columns: string[];
  /** Values row-major when the file is clean, else null. */
  expected: number[] | null;
  what: string;
}

/** A clean CSV: header (maybe quoted), numeric columns, a text column, LF or CRLF, maybe a BOM. */
function cleanCsv(rng: Rng): CsvCase {
  const C = int(rng, 2, 4);
  const names = Array.from({ length: C }, (_, c) => `col_${c}`);
  const N = int(rng, MIN_ROWS + 1, 40);
  const eol = rng.uniform() < 0.3 ? '\r\n' : '\n';
  const quoteHeader = rng.uniform() < 0.3;
  const header = [...names.map((n) => (quoteHeader ? `"${n}"` : n)), 'label'].join(',');
  const lines = [header];
  const expected: number[] = [];
  const distinct: Set<number>[] = names.map(() => new Set());
  for (let n = 0; n < N; n++) {
    const cells = names.map((_, c) => {
      const { text, value } = numberText(rng);
      expected.push(value);
      distinct[c]!.add(Math.fround(value));
      return text;
    });
    lines.push([...cells, rng.uniform() < 0.5 ? `"a, ""b"""` : 'plain'].join(','));
  }
  const columns = rng.uniform() < 0.5 ? names : [...names].reverse();
  // reorder the expected values to the asked column order
  const order = columns.map((c) => names.indexOf(c));
  const reordered: number[] = [];
  for (let n = 0; n < N; n++) for (const j of order) reordered.push(expected[n * C + j]!);
  const constant = distinct.some((s) => s.size < 2);
  const text = (rng.uniform() < 0.2 ? '\uFEFF' : '') + lines.join(eol) + (rng.uniform() < 0.7 ? eol : '');
  return { text, columns, expected: constant ? null : reordered, what: 'clean' };
}

/** A clean file broken in one of the ways real files are. */
function malformedCsv(rng: Rng): CsvCase {
  const base = cleanCsv(rng);
  const eol = base.text.includes('\r\n') ? '\r\n' : '\n';
  const lines = base.text.split(eol);
  const row = int(rng, 1, Math.max(1, lines.length - 2));
  const cells = (lines[row] ?? '').split(',');
  const kind = int(rng, 0, 9);
  let what: string;
  if (kind === 0) {
    const bad = pick(rng, [
      'abc',
      'NA',
      'NaN',
      'Infinity',
      '-inf',
      '0x10',
      '1e999',
      '--1',
      '1.2.3',
      ' ',
      '"',
      '1e39',
      '-3e38',
      '""',
    ]);
    cells[int(rng, 0, Math.max(0, cells.length - 2))] = bad;
    lines[row] = cells.join(',');
    what = `bad cell ${JSON.stringify(bad)}`;
  } else if (kind === 1) {
    lines[row] = rng.uniform() < 0.5 ? cells.slice(0, -1).join(',') : [...cells, '7'].join(',');
    what = 'ragged row';
  } else if (kind === 2) {
    for (let i = 0; i < 3; i++) lines.splice(int(rng, 1, lines.length), 0, pick(rng, ['', ' ', '\t', ',,,']));
    what = 'empty lines';
  } else if (kind === 3) {
    cells[int(rng, 0, Math.max(0, cells.length - 2))] = '';
    lines[row] = cells.join(',');
    what = 'missing value';
  } else if (kind === 4) {
    const keep = int(rng, 0, 4);
    lines.splice(1 + keep);
    what = `only ${keep} rows`;
  } else if (kind === 5) {
    const cut = int(rng, 0, base.text.length);
    return { ...base, text: base.text.slice(0, cut), expected: null, what: `truncated at ${cut}` };
  } else if (kind === 6) {
    lines[row] = `"${lines[row]}`;
    what = 'unterminated quote';
  } else if (kind === 7) {
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i]!.split(',');
      if (c.length > 1) c[0] = '5';
      lines[i] = c.join(',');
    }
    what = 'constant column';
  } else if (kind === 8) {
    return { ...base, text: pick(rng, ['', '\n', 'col_0,col_1\n', '\uFEFF']), expected: null, what: 'empty file' };
  } else {
    return {
      ...base,
      columns: [...base.columns.slice(0, 1), pick(rng, ['nope', 'label', 'col_0 '])],
      expected: null,
      what: 'odd column name',
    };
  }
  return { ...base, text: lines.join(eol), expected: null, what };
}

/** What the CLI does with a CSV before fitting: read, then check rows, range and constant columns. */
function readAndCheck(file: string, columns: string[]): Float32Array {
  const table = readCSVColumns(file, columns);
  checkColumnsForFitting(table.matrix, columns, file, MIN_ROWS);
  return table.matrix;
}

const NOT_A_MESSAGE = /Cannot read prop|is not a function|is not iterable|undefined|\[object /;

test('fuzz: clean CSV files read back their numbers; malformed ones fail naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-fuzz-csv-'));
  const rng = new Rng(20261130);
  let clean = 0;
  let rejected = 0;
  for (let i = 0; i < CSV_CASES; i++) {
    const c = i % 3 === 0 ? cleanCsv(rng) : malformedCsv(rng);
    const file = join(dir, `case-${i}.csv`);
    writeFileSync(file, c.text);
    const label = `case ${i} (${c.what}), columns ${c.columns.join(',')}:\n${c.text.slice(0, 400)}`;
    let matrix: Float32Array | null = null;
    try {
      matrix = readAndCheck(file, c.columns);
    } catch (err) {
      assert.ok(err instanceof Error, `${label}\nthrew a non-Error ${String(err)}`);
      assert.ok(err.message.includes(file), `${label}\nmessage does not name the file: ${err.message}`);
      assert.doesNotMatch(err.message, NOT_A_MESSAGE, label);
      assert.equal(c.expected, null, `${label}\na clean file was rejected: ${err.message}`);
      rejected++;
      continue;
    }
    assert.ok(matrix.length >= MIN_ROWS * c.columns.length && matrix.length % c.columns.length === 0, label);
    assert.ok(matrix.every(Number.isFinite), `${label}\nread a non-finite value`);
    if (c.expected) {
      clean++;
      assert.equal(matrix.length, c.expected.length, label);
      c.expected.forEach((v, k) => assert.equal(matrix![k], Math.fround(v), `${label}\nvalue ${k}`));
    }
  }
  assert.ok(
    clean > CSV_CASES / 5 && rejected > CSV_CASES / 3,
    `the mix must exercise both: ${clean} clean, ${rejected} rejected`,
  );
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'train.ts'), ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A random argument vector, always a short run: a few options, on even vectors only valid values
 * (they must train, or fail as a run), on odd ones any value (mostly bad input).
 */
function randomVector(rng: Rng, dir: string, i: number, csvFiles: string[]): string[] {
  const file = join(dir, 'not-a-dir');
  // option -> [valid values, bad values]; a value of '' for a flag means the flag alone
  const opts: Record<string, [string[], string[]]> = {
    target: [
      ['U1', 'U2', 'U3', 'U4', 'penguins-species'],
      ['U7', ''],
    ],
    flow: [['planar', 'sylvester', 'sylvester', 'coupling'], ['radial']],
    K: [
      ['1', '2', '3', '1e0'],
      ['0', '-1', '2.5', '0x10', 'abc'],
    ],
    M: [['1'], ['3', '0']],
    variant: [['orthogonal', 'householder', 'triangular'], ['givens']],
    steps: [
      ['1', '5', '20'],
      ['0', '-3', '2.5', 'NaN', ''],
    ],
    batch: [
      ['1', '8', '32'],
      ['0', '1.5'],
    ],
    lr: [
      ['1e-3', '0.01', '1e30'],
      ['0', '-1', 'Infinity'],
    ],
    seed: [
      ['0', '7', '4294967295', '1e3'],
      ['0.5', '-1', '4294967296'],
    ],
    'eval-samples': [
      ['10', '200'],
      ['0', '-5'],
    ],
    'lr-schedule': [['constant', 'cosine'], ['plateau']],
    'anneal-steps': [
      ['1', '10'],
      ['0', 'x'],
    ],
    path: [['fused', 'reference'], ['fast']],
    hidden: [['4'], ['0']],
    json: [[join(dir, `out-${i}.json`)], [dir, join(file, 'x.json')]],
    plot: [[], [join(dir, `fig-${i}.txt`), join(file, 'x.png')]],
  };
  const flags = [
    ['--anneal', '--no-anneal', '--envelope', '--no-envelope'],
    ['--bogus', 'positional', '-x'],
  ];
  const valid = i % 2 === 0;
  const args: string[] = ['--quiet'];
  const chosen = new Set<string>();
  for (let n = int(rng, 1, 4); n > 0; n--) chosen.add(pick(rng, [...Object.keys(opts), 'flag']));
  if (i % 6 === 5 || i % 8 === 2) {
    // --data mode with a fuzzed CSV (the first file is clean)
    args.push(
      '--data',
      i % 8 === 2 ? csvFiles[0]! : pick(rng, csvFiles),
      '--columns',
      pick(rng, ['col_0,col_1', 'col_1,col_0', 'col_0,col_0', 'col_0']),
    );
    chosen.delete('flow');
  }
  for (const name of chosen) {
    if (name === 'flag') {
      args.push(pick(rng, flags[valid ? 0 : int(rng, 0, 1)]!));
      continue;
    }
    const [good, bad] = opts[name]!;
    const values = valid || bad.length === 0 ? good : rng.uniform() < 0.7 ? bad : good;
    if (values.length > 0) args.push(`--${name}`, pick(rng, values));
  }
  // keep every run short: few steps, small batch, few evaluation samples
  if (!chosen.has('steps')) args.push('--steps', String(int(rng, 1, 20)));
  if (!chosen.has('batch')) args.push('--batch', '16');
  if (!chosen.has('eval-samples')) args.push('--eval-samples', '200');
  return args;
}

/** The numbers a finished run reports must be finite (KL gap / true log Z may be null: no log Z). */
function assertFiniteSummary(r: CliResult, args: string[], label: string): void {
  const rows = args.includes('--data')
    ? ['train log-lik / row', 'held-out log-lik / row']
    : ['ELBO', 'IS log Z', 'ESS/N'];
  for (const row of rows) {
    const m = new RegExp(`^${row.replace(/[/]/g, '\\/')}\\s+(\\S+)`, 'm').exec(r.stdout);
    assert.ok(m && Number.isFinite(Number(m[1])), `${label}: exit 0 but "${row}" is ${m?.[1]}\n${r.stdout}`);
  }
  const jsonAt = args.indexOf('--json');
  if (jsonAt >= 0) {
    const j = JSON.parse(readFileSync(args[jsonAt + 1]!, 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(j)) {
      if (v === null) assert.ok(['logZTrue', 'klGap', 'stoppedReason'].includes(k), `${label}: JSON ${k} is null`);
    }
  }
}

test('fuzz: random CLI argument vectors never show a stack trace and never exit 0 with a bad result', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-fuzz-cli-'));
  writeFileSync(join(dir, 'not-a-dir'), 'x');
  const rng = new Rng(1130);
  const csvFiles = Array.from({ length: 4 }, (_, i) => {
    const c = i === 0 ? cleanCsv(rng) : malformedCsv(rng);
    const f = join(dir, `data-${i}.csv`);
    writeFileSync(f, c.text);
    return f;
  });
  const vectors = Array.from({ length: CLI_VECTORS }, (_, i) => randomVector(rng, dir, i, csvFiles));
  const results: CliResult[] = new Array(vectors.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: CLI_PARALLEL }, async () => {
      while (next < vectors.length) {
        const i = next++;
        results[i] = await cliAsync(vectors[i]!);
      }
    }),
  );
  const codes = [0, 0, 0];
  vectors.forEach((args, i) => {
    const r = results[i]!;
    const label = `npm run train -- ${args.map((a) => JSON.stringify(a)).join(' ')}\nexit ${r.code}\n${r.stderr}`;
    assert.ok(r.code === 0 || r.code === 1 || r.code === 2, label);
    codes[r.code!]! += 1;
    assert.doesNotMatch(r.stderr, /^\s+at .+[(:]\d+/m, `${label}: stack trace`);
    assert.doesNotMatch(r.stderr, /node:internal|Cannot read prop|is not a function/, label);
    if (r.code === 0) assertFiniteSummary(r, args, label);
    if (r.code === 2) {
      assert.match(r.stderr, /^error: \S/m, label);
      assert.doesNotMatch(
        r.stderr,
        /^(Training|Maximum likelihood)/m,
        `${label}: bad input must be found before training`,
      );
    }
    if (r.code === 1) assert.match(r.stderr, /^error: the run failed: /m, label);
    if (r.code !== 0) {
      const jsonAt = args.indexOf('--json');
      if (r.code === 2 && jsonAt >= 0)
        assert.ok(!existsSync(args[jsonAt + 1]!) || args[jsonAt + 1] === dir, `${label}: no JSON after bad input`);
    }
  });
  t.diagnostic(`exit codes 0/1/2: ${codes.join('/')}`);
  assert.ok(codes[0]! > 2 && codes[2]! > 2, `the vectors must include good and bad runs: exits ${codes}`);
});
