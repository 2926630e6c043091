import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readCSVColumns, standardize, takeRows, trainTestSplit } from '../src/targets/data';
import { penguinsCSVPath } from '../src/targets/penguins';

const dir = mkdtempSync(join(tmpdir(), 'nf-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function csv(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('reads the asked columns in order, row-major, with quotes, CRLF and blank lines', () => {
  const p = csv('a.csv', 'name,a,b,c\r\n"x, y",1,2.5,-3e2\r\n\r\nz,4,.5,6\r\n');
  const t = readCSVColumns(p, ['c', 'a']);
  assert.deepEqual(t.columns, ['c', 'a']);
  assert.equal(t.rows, 2);
  assert.deepEqual(Array.from(t.matrix), [-300, 1, 6, 4]);
});

test('where filters rows and encode maps text to numbers', () => {
  const p = csv('b.csv', 'species,x\nA,1\nB,2\nC,3\nA,4\n');
  const t = readCSVColumns(p, ['x', 'species'], {
    where: { species: ['A', 'B'] },
    encode: { species: { A: 0, B: 1 } },
  });
  assert.deepEqual(Array.from(t.matrix), [1, 0, 2, 1, 4, 0]);
  assert.throws(
    () => readCSVColumns(p, ['species'], { encode: { species: { A: 0 } } }),
    /b\.csv:3: column "species" has value "B", which encode\["species"\] does not map/,
  );
  assert.throws(() => readCSVColumns(p, ['x'], { where: { kind: 'A' } }), /where: column "kind" not found/);
  assert.throws(() => readCSVColumns(p, ['x'], { where: { species: 'Z' } }), /no data rows matching `where`/);
});

test('clear errors: missing column, non-numeric value, empty file, header only, ragged row', () => {
  const p = csv('c.csv', 'a,b\n1,2\n3,oops\n');
  assert.throws(() => readCSVColumns(p, ['a', 'q']), /column "q" not found in .*c\.csv; the header has: a, b/);
  assert.throws(() => readCSVColumns(p, ['b']), /c\.csv:3: column "b" has non-numeric value "oops"/);
  assert.throws(() => readCSVColumns(csv('d.csv', 'a,b\n1,\n'), ['b']), /column "b" has non-numeric value ""/);
  assert.throws(() => readCSVColumns(csv('e.csv', ''), ['a']), /e\.csv is empty/);
  assert.throws(() => readCSVColumns(csv('f.csv', 'a,b\n'), ['a']), /f\.csv has no data rows/);
  assert.throws(() => readCSVColumns(csv('g.csv', 'a,b\n1,2,3\n'), ['a']), /g\.csv:2: expected 2 fields/);
  assert.throws(() => readCSVColumns(p, []), /columns must be a non-empty array/);
});

test('line breaks and "" inside quoted fields, a byte-order mark, mixed line endings', () => {
  const p = csv('q.csv', '\uFEFFnote,x\r\n"two\nlines, ""quoted""",1\n"three\r\n\r\nlines",2\r\nplain,3\n');
  const t = readCSVColumns(p, ['x']);
  assert.deepEqual(Array.from(t.matrix), [1, 2, 3]);
  const w = readCSVColumns(p, ['x'], { where: { note: 'two\nlines, "quoted"' } });
  assert.deepEqual(Array.from(w.matrix), [1]);
  const e = readCSVColumns(p, ['note', 'x'], {
    encode: { note: { 'two\nlines, "quoted"': 10, 'three\n\nlines': 20, plain: 30 } },
  });
  assert.deepEqual(Array.from(e.matrix), [10, 1, 20, 2, 30, 3]);
});

test('errors after a multi-line record name the line it starts on, the data row and the column', () => {
  // line 1 header, lines 2-3 one record, line 4 blank, line 5 the bad value (data row 2)
  const p = csv('m.csv', 'note,x\n"a\nb",1\n\nc,oops\n');
  assert.throws(() => readCSVColumns(p, ['x']), /m\.csv:5: column "x" has non-numeric value "oops" \(data row 2\)/);
  const r = csv('r.csv', 'note,x\n"a\nb",1\nc,2,3\n');
  assert.throws(
    () => readCSVColumns(r, ['x']),
    /r\.csv:4: expected 2 fields \(as in the header\), got 3 \(data row 2\)/,
  );
});

test('malformed quoting is an error naming the file and the line', () => {
  assert.throws(() => readCSVColumns(csv('u.csv', 'a,b\n1,2\n"3,4\n'), ['a']), /u\.csv:\d+: malformed CSV: .*quote/i);
  assert.throws(() => readCSVColumns(csv('v.csv', 'a,b\n1,2\n"3"x,4\n'), ['a']), /v\.csv:3: malformed CSV: .*quote/i);
});

test('standardize: zero mean, unit std, reusable stats, constant column is an error', () => {
  const m = Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40]); // [4, 2]
  const s = standardize(m, 2);
  assert.deepEqual(Array.from(s.mean), [2.5, 25]);
  assert.ok(Math.abs(s.std[0]! - Math.sqrt(1.25)) < 1e-12);
  for (let c = 0; c < 2; c++) {
    let mu = 0;
    let v = 0;
    for (let n = 0; n < 4; n++) mu += s.x[n * 2 + c]! / 4;
    for (let n = 0; n < 4; n++) v += (s.x[n * 2 + c]! - mu) ** 2 / 4;
    assert.ok(Math.abs(mu) < 1e-6 && Math.abs(v - 1) < 1e-6);
  }
  const again = standardize(Float32Array.from([2.5, 25]), 2, s);
  assert.deepEqual(Array.from(again.x), [0, 0]);
  const fromTable = standardize({ columns: ['a', 'b'], rows: 4, matrix: m });
  assert.deepEqual(Array.from(fromTable.x), Array.from(s.x));
  assert.throws(() => standardize(Float32Array.from([1, 5, 2, 5]), 2), /column 1 of matrix is constant/);
  assert.throws(() => standardize(Float32Array.from([1, 2, 3]), 2), /matrix must hold N \* cols values/);
});

test('trainTestSplit: seeded, reproducible, disjoint, covers all rows', () => {
  const a = trainTestSplit(100, { testFraction: 0.25, seed: 7 });
  const b = trainTestSplit(100, { testFraction: 0.25, seed: 7 });
  const c = trainTestSplit(100, { testFraction: 0.25, seed: 8 });
  assert.deepEqual(Array.from(a.test), Array.from(b.test));
  assert.notDeepEqual(Array.from(a.test), Array.from(c.test));
  assert.equal(a.test.length, 25);
  assert.equal(a.train.length, 75);
  assert.deepEqual(
    [...a.train, ...a.test].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.throws(() => trainTestSplit(10, { testFraction: 1 }), /testFraction must be in \(0, 1\)/);
  assert.throws(() => trainTestSplit(1), /n must be an integer >= 2/);
  const rows = takeRows(Float32Array.from([0, 1, 2, 3, 4, 5]), 2, [2, 0]);
  assert.deepEqual(Array.from(rows), [4, 5, 0, 1]);
  assert.throws(() => takeRows(Float32Array.from([0, 1]), 2, [1]), /indices\[0\] = 1 is not a row/);
});

test('data/penguins.csv: 333 complete rows of the palmerpenguins columns', () => {
  const t = readCSVColumns(penguinsCSVPath(), [
    'bill_length_mm',
    'bill_depth_mm',
    'flipper_length_mm',
    'body_mass_g',
    'male',
  ]);
  assert.equal(t.rows, 333);
  for (let i = 0; i < t.matrix.length; i++) assert.ok(Number.isFinite(t.matrix[i]!));
});
