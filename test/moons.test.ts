// twoMoons: shape, determinism by seed, points on the two half-circles, argument errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOON_CENTRES, twoMoons } from '../src/targets/moons';

/** Distance of (x, y) from centre c, and whether the point is on the half with sign s·(y - c_y) >= 0. */
function polar(x: number, y: number, c: readonly [number, number], s: number) {
  return { r: Math.hypot(x - c[0], y - c[1]), side: s * (y - c[1]) };
}

test('twoMoons: a Float32Array [n, 2], odd n included', () => {
  for (const n of [1, 7, 200]) {
    const x = twoMoons(n, { seed: 3 });
    assert.ok(x instanceof Float32Array);
    assert.equal(x.length, 2 * n);
    assert.ok(x.every(Number.isFinite));
  }
});

test('twoMoons: the same seed gives the same points, another seed others', () => {
  const a = twoMoons(100, { seed: 5, noise: 0.1 });
  const b = twoMoons(100, { seed: 5, noise: 0.1 });
  const c = twoMoons(100, { seed: 6, noise: 0.1 });
  assert.deepEqual(a, b);
  assert.ok(
    a.some((v, i) => v !== c[i]),
    'seeds 5 and 6 gave the same points',
  );
});

test('twoMoons without noise: even rows on the upper half-circle, odd rows on the lower one', () => {
  const n = 500;
  const x = twoMoons(n, { noise: 0, seed: 1 });
  for (let i = 0; i < n; i++) {
    const upper = i % 2 === 0;
    const p = polar(x[2 * i]!, x[2 * i + 1]!, MOON_CENTRES[upper ? 0 : 1]!, upper ? 1 : -1);
    assert.ok(Math.abs(p.r - 1) < 1e-6, `row ${i}: radius ${p.r}`);
    assert.ok(p.side >= -1e-6, `row ${i}: on the wrong half (${p.side})`);
  }
  // the angles cover the half-circle: x spans [-1, 1] on the upper moon, [0, 2] on the lower
  const xsUpper = Array.from({ length: n / 2 }, (_, k) => x[4 * k]!);
  const xsLower = Array.from({ length: n / 2 }, (_, k) => x[4 * k + 2]!);
  assert.ok(Math.min(...xsUpper) < -0.95 && Math.max(...xsUpper) > 0.95);
  assert.ok(Math.min(...xsLower) < 0.05 && Math.max(...xsLower) > 1.95);
});

test('twoMoons with noise σ: radii scatter around 1 with sd ≈ σ', () => {
  const n = 4000;
  const sigma = 0.05;
  const x = twoMoons(n, { noise: sigma, seed: 2 });
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const c = MOON_CENTRES[i % 2]!;
    const dr = Math.hypot(x[2 * i]! - c[0], x[2 * i + 1]! - c[1]) - 1;
    sum += dr;
    sq += dr * dr;
  }
  const mean = sum / n;
  const sd = Math.sqrt(sq / n - mean * mean);
  // the radial part of N(0, σ² I) has sd σ (to first order in σ); 4000 points: ± ~2%
  assert.ok(Math.abs(mean) < 0.01, `mean radius - 1 = ${mean}`);
  assert.ok(Math.abs(sd - sigma) < 0.1 * sigma, `radial sd ${sd}, want ≈ ${sigma}`);
});

test('twoMoons: bad arguments name the parameter and the value', () => {
  assert.throws(() => twoMoons(0), /n must be an integer >= 1, got 0/);
  assert.throws(() => twoMoons(2.5), /n must be an integer >= 1, got 2.5/);
  assert.throws(() => twoMoons(10, { noise: -0.1 }), /noise must be >= 0, got -0.1/);
  assert.throws(() => twoMoons(10, { noise: NaN }), /noise must be a finite number, got NaN/);
  assert.throws(() => twoMoons(10, { seed: -1 }), /seed must be an integer in/);
});
