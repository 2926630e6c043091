import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseHTML } from 'linkedom';
import { formatCell, frameToHtml, frameToText, historyFrame, saveCSV, tableData, toFrame } from '../src/viz/tables';

/** The part of a DOM element these tests read (the project compiles without DOM types). */
type Cell = { textContent: string | null };

const history = {
  step: [1, 2, 3, 4, 5],
  loss: [3.5, 2.25, 1.125, 0.5, 0.25],
  freeEnergy: [3.5, 2.3, 1.2, 0.6, 0.3],
  beta: [0.5, 0.75, 1, 1, 1],
  lr: [1e-3, 1e-3, 1e-3, 1e-3, 1e-3],
};

test('historyFrame: DataFrame columns and values; `every` keeps the last step', () => {
  const df = historyFrame(history);
  assert.deepEqual(df.columns, ['step', 'loss', 'freeEnergy', 'beta', 'lr']);
  assert.deepEqual(df.shape, [5, 5]);
  assert.deepEqual(df['step'].values, [1, 2, 3, 4, 5]);
  assert.ok(Math.abs((df['loss'].values as number[])[2]! - 1.125) < 1e-6);
  const thin = historyFrame(history, { every: 2 });
  assert.deepEqual(thin['step'].values, [1, 3, 5]);
  const thin3 = historyFrame(history, { every: 3 });
  assert.deepEqual(thin3['step'].values, [1, 4, 5]);
  assert.throws(() => historyFrame({ ...history, step: [] }), RangeError);
});

test('toFrame: rows to a DataFrame with mixed columns', () => {
  const df = toFrame([
    { flow: 'planar', K: 16, kl: 0.0123 },
    { flow: 'sylvester', K: 8, kl: 0.004 },
  ]);
  assert.deepEqual(df.columns, ['flow', 'K', 'kl']);
  assert.deepEqual(tableData(df).rows[1]!.slice(0, 2), ['sylvester', 8]);
  assert.throws(() => toFrame([]), RangeError);
});

test('frameToHtml: a table with a header, escaped strings, rounded numbers, elided middle', () => {
  const rows = [
    { name: 'a<b & c', value: 1.23456789, n: 3 },
    { name: 'plain', value: -0.000012345, n: 4 },
  ];
  const html = frameToHtml(rows, { digits: 3, caption: 'Results' });
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${html}</body></html>`);
  const table = document.querySelector('table')!;
  assert.ok(table);
  assert.deepEqual(
    Array.from(table.querySelectorAll('th') as ArrayLike<Cell>, (th) => th.textContent),
    ['name', 'value', 'n'],
  );
  const cells = Array.from(
    table.querySelectorAll('tbody tr')[0]!.querySelectorAll('td') as ArrayLike<Cell>,
    (td) => td.textContent,
  );
  assert.deepEqual(cells, ['a<b & c', '1.23', '3']);
  assert.ok(html.includes('a&lt;b &amp; c'));
  assert.equal(table.querySelectorAll('tbody tr')[1]!.querySelectorAll('td')[1]!.textContent, '-1.23e-5');
  assert.equal(table.querySelector('caption')!.textContent, 'Results');
  const df = historyFrame(history);
  const dfHtml = frameToHtml(df);
  assert.ok(dfHtml.includes('<th') && dfHtml.includes('freeEnergy'));
  const long = Array.from({ length: 100 }, (_, i) => ({ i }));
  const { document: d2 } = parseHTML(`<!DOCTYPE html><html><body>${frameToHtml(long, { maxRows: 10 })}</body></html>`);
  assert.equal(d2.querySelectorAll('tbody tr').length, 11);
  assert.ok(d2.body.textContent!.includes('90 more rows'));
});

test('frameToText and formatCell: aligned text, readable numbers', () => {
  const text = frameToText([
    { a: 1, bb: 2.5 },
    { a: 10, bb: NaN },
  ]);
  assert.equal(text, ' a   bb\n--  ---\n 1  2.5\n10  NaN');
  assert.equal(formatCell(1234567.891), '1.235e+6');
  assert.equal(formatCell(Infinity), 'Infinity');
  assert.equal(formatCell('x'), 'x');
  assert.equal(formatCell(undefined), '');
});

test('saveCSV: creates the folder, full precision, quoting', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-csv-'));
  try {
    const file = saveCSV([{ name: 'a,"b"', x: 0.1 + 0.2 }], path.join(dir, 'sub', 't.csv'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'name,x\n"a,""b""",0.30000000000000004\n');
    const f2 = saveCSV(historyFrame(history), path.join(dir, 'h.csv'));
    const lines = fs.readFileSync(f2, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'step,loss,freeEnergy,beta,lr');
    assert.equal(lines.length, 6);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
