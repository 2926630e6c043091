/**
 * The bench's PyTorch side (scripts/peer/): the JSON reader, the loss-agreement measure, and
 * nf_port.py, the Python port of the library's Rng and data pipeline that lets a yardstick start
 * from the library's own draws (checked against the library itself when numpy is installed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../src/core/random';
import { readCSVColumns, standardize, takeRows, trainTestSplit } from '../src/targets/data';
import { penguinsCSVPath, penguinsSpeciesModel } from '../src/targets/penguins';
import { maxRelDiff, parsePeerJson, PEER_PYTHON } from '../scripts/peer/peer';

test('parsePeerJson: reads both timing conventions and first_losses; null without timing', () => {
  assert.deepEqual(parsePeerJson({ time_per_iter_ms: { median_last90pct: 2.5, p10_last90pct: 2.1 } }), {
    median: 2.5,
    p10: 2.1,
    firstLosses: null,
  });
  assert.deepEqual(parsePeerJson({ time_per_iter_ms: { median: 3, p10: 2 }, first_losses: [1.5, 1.25] }), {
    median: 3,
    p10: 2,
    firstLosses: [1.5, 1.25],
  });
  assert.equal(parsePeerJson({ time_per_iter_ms: { median: 3 } }), null);
  assert.equal(parsePeerJson({ final_loss: 1 }), null);
  assert.equal(parsePeerJson(null), null);
  assert.equal(parsePeerJson({ time_per_iter_ms: { median: 3, p10: 2 }, first_losses: ['x'] })!.firstLosses, null);
});

test('maxRelDiff: worst |a - b| / max(|a|, |b|) over the common prefix', () => {
  assert.ok(Math.abs(maxRelDiff([1, 2, -4], [1, 2.5, -4.4]) - 0.5 / 2.5) < 1e-15); // 0.5/2.5 beats 0.4/4.4
  assert.equal(maxRelDiff([0, 10], [0, 10, 99]), 0);
  assert.ok(Number.isNaN(maxRelDiff([], [1])));
});

const hasNumpy = spawnSync(PEER_PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** Run Python with scripts/peer on its path and return what it prints as JSON. */
function python(code: string): unknown {
  const r = spawnSync(PEER_PYTHON, ['-c', code], {
    cwd: join(__dirname, '..', 'scripts', 'peer'),
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test(
  'nf_port.Rng: the library Rng draws, uniforms exactly, normals to float64 rounding (spare kept across calls)',
  { skip: !hasNumpy && `${PEER_PYTHON} has no numpy` },
  () => {
    const seeds = [0, 1, 4294967295];
    const py = python(`
import json
from nf_port import Rng
out = []
for seed in ${JSON.stringify(seeds)}:
    r = Rng(seed)
    out.append([r.uniform()] + list(r.uniforms(3)) + list(r.normals(3)) + list(r.normals(4)) + [r.uniform()])
print(json.dumps(out))`) as number[][];
    seeds.forEach((seed, i) => {
      const r = new Rng(seed);
      const js = [r.uniform(), r.uniform(), r.uniform(), r.uniform()];
      for (let k = 0; k < 7; k++) js.push(r.normal());
      js.push(r.uniform());
      const p = py[i]!;
      assert.equal(p.length, js.length);
      assert.deepEqual(p.slice(0, 4), js.slice(0, 4), `uniforms, seed ${seed}`);
      js.slice(4, 11).forEach((x, k) => assert.ok(Math.abs(x - p[4 + k]!) <= 1e-14 * (1 + Math.abs(x)), `normal ${k}`));
      assert.equal(p[11], js[11], `the uniform after an odd number of normals, seed ${seed}`);
    });
  },
);

test(
  "nf_port: the split, the standardised penguin bills and the species design equal the library's",
  { skip: !hasNumpy && `${PEER_PYTHON} has no numpy` },
  () => {
    const csv = penguinsCSVPath();
    const py = python(`
import json
from nf_port import train_test_split, penguins_bills, penguins_species_design
design, y = penguins_species_design(${JSON.stringify(csv)})
print(json.dumps({
    "split": [train_test_split(333, 0.25, s) for s in (0, 7)],
    "bills": penguins_bills(${JSON.stringify(csv)}, 0).ravel().tolist(),
    "design": design.ravel().tolist(), "y": y.tolist()}))`) as {
      split: [number[], number[]][];
      bills: number[];
      design: number[];
      y: number[];
    };
    [0, 7].forEach((seed, i) => {
      const s = trainTestSplit(333, { testFraction: 0.25, seed });
      assert.deepEqual(py.split[i], [Array.from(s.train), Array.from(s.test)], `seed ${seed}`);
    });
    const table = readCSVColumns(csv, ['bill_length_mm', 'bill_depth_mm']);
    const split = trainTestSplit(table.rows, { testFraction: 0.25, seed: 0 });
    const bills = standardize(takeRows(table.matrix, 2, split.train), 2).x;
    assert.deepEqual(py.bills, Array.from(bills));
    const { target } = penguinsSpeciesModel();
    assert.deepEqual(py.design, Array.from(target.design));
    assert.deepEqual(py.y, Array.from(target.y));
    target.dispose();
  },
);
