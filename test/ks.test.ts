import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ksTwoSample } from '../src/diagnostics/ks';
import { Rng } from '../src/core/random';

/** D by brute force: the CDF gap at every value of either sample (O((n + m)²)). */
function bruteD(a: number[], b: number[]): number {
  const cdf = (v: number[], x: number): number => v.filter((y) => y <= x).length / v.length;
  return Math.max(...[...a, ...b].map((x) => Math.abs(cdf(a, x) - cdf(b, x))));
}

test('ksTwoSample: D equals the brute-force sup of the CDF gap, ties included', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + Math.floor(rng.uniform() * 40);
    const m = 1 + Math.floor(rng.uniform() * 40);
    // rounded to one decimal: many ties within and across the samples
    const a = Array.from({ length: n }, () => Math.round(rng.normal() * 10) / 10);
    const b = Array.from({ length: m }, () => Math.round((rng.normal() + 0.3) * 10) / 10);
    assert.ok(Math.abs(ksTwoSample(a, b).D - bruteD(a, b)) < 1e-12, `trial ${trial}`);
  }
});

test('ksTwoSample: closed cases and the critical values c(0.05) = 1.358, c(0.01) = 1.628', () => {
  assert.equal(ksTwoSample([1, 2, 3], [3, 2, 1]).D, 0);
  assert.equal(ksTwoSample([1, 2], [5, 6, 7]).D, 1);
  assert.ok(Math.abs(ksTwoSample([1, 2, 3, 4], [2.5]).D - 0.5) < 1e-15); // F_a(2) = 0.5, F_b(2) = 0
  const n = 100;
  const m = 400;
  const scale = Math.sqrt((n + m) / (n * m));
  const a = Array.from({ length: n }, (_, i) => i);
  const b = Array.from({ length: m }, (_, i) => i / 4);
  assert.ok(Math.abs(ksTwoSample(a, b, 0.05).critical / scale - 1.3581) < 1e-4);
  assert.ok(Math.abs(ksTwoSample(a, b, 0.01).critical / scale - 1.6276) < 1e-4);
});

test('ksTwoSample: keeps samples of one normal, rejects a shifted one (large samples)', () => {
  const rng = new Rng(7);
  const draw = (k: number, shift: number): number[] => Array.from({ length: k }, () => rng.normal() + shift);
  const same = ksTwoSample(draw(2000, 0), draw(500, 0));
  assert.equal(same.reject, false, `D = ${same.D}, critical ${same.critical}`);
  const shifted = ksTwoSample(draw(2000, 0), draw(500, 0.5));
  assert.equal(shifted.reject, true, `D = ${shifted.D}, critical ${shifted.critical}`);
});

test('ksTwoSample: bad input names the argument', () => {
  assert.throws(() => ksTwoSample([], [1]), /a must hold at least one value, got none/);
  assert.throws(() => ksTwoSample([1], [NaN]), /b\[0\]/);
  assert.throws(() => ksTwoSample([1], [2], 1), /alpha must be in \(0, 1\), got 1/);
});
