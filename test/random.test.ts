/** randomNormal: seeded (seed 0 included, which tf.randomNormal treats as unseeded), shaped, scaled. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { randomNormal } from '../src/core/random';

test('randomNormal: the same seed gives the same draws, seed 0 included; another seed differs', () => {
  const a = randomNormal([1000, 2], 0);
  const b = randomNormal([1000, 2], 0);
  const c = randomNormal([1000, 2], 1);
  assert.deepEqual(a.shape, [1000, 2]);
  assert.deepEqual(a.dataSync(), b.dataSync());
  assert.notDeepEqual(a.dataSync(), c.dataSync());
  tf.dispose([a, b, c]);
});

test('randomNormal: mean and std of 40000 draws match N(3, 0.5²) within 4 standard errors', () => {
  const n = 40000;
  const x = randomNormal([n], 7, 3, 0.5).dataSync();
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / n;
  const std = Math.sqrt(s2 / n - mean * mean);
  assert.ok(Math.abs(mean - 3) < (4 * 0.5) / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(std - 0.5) < (4 * 0.5) / Math.sqrt(2 * n), `std ${std}`);
});

test('randomNormal: a bad shape or seed names the parameter', () => {
  assert.throws(() => randomNormal([2, 0], 0), /shape\[1\] must be an integer >= 1, got 0/);
  assert.throws(() => randomNormal([2], 0.5), /seed/);
});
