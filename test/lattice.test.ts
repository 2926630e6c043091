/**
 * Randomised quasi-Monte Carlo base samples (src/core/lattice.ts) against independent oracles:
 * Φ by float64 quadrature, P₂ by its Fourier series, Gaussian expectations in closed form.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/core/random';
import { fillLatticeNormal, latticeGenerator, latticeP2, normalQuantile } from '../src/core/lattice';

/** Φ(x) in float64: Simpson's rule on the density over [x - 14, x] (the lower tail, no cancellation). */
function normalCdf(x: number): number {
  if (x > 0) return 1 - normalCdf(-x);
  const [a, n] = [x - 14, 20000];
  const h = (x - a) / n;
  const phi = (t: number): number => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  let s = phi(a) + phi(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(a + i * h);
  return (s * h) / 3;
}

test('normalQuantile inverts Φ to 1e-7 relative, in the centre and in both tails', () => {
  for (const p of [1e-12, 1e-6, 0.001, 0.02, 0.02425, 0.03, 0.2, 0.5, 0.7, 0.97, 0.99, 1 - 1e-6]) {
    const x = normalQuantile(p);
    const back = normalCdf(x);
    const rel = Math.abs(back - p) / Math.min(p, 1 - p);
    // x's relative error 1.2e-9 moves p by about x² · 1.2e-9 (6e-8 at p = 1e-12, x = -7)
    assert.ok(rel < 1e-7, `p = ${p}: Φ(${x}) = ${back} (relative error ${rel})`);
    // (1 - p rounds: 1 - (1 - 1e-12) is 1.0001e-12, so the tiniest p is left out)
    if (p >= 1e-6) assert.ok(Math.abs(normalQuantile(1 - p) + x) < 1e-7 * (1 + Math.abs(x)), `symmetry at p = ${p}`);
  }
  assert.equal(normalQuantile(0.5), 0);
  assert.equal(normalQuantile(0), -Infinity);
  assert.equal(normalQuantile(1), Infinity);
  assert.ok(Number.isNaN(normalQuantile(-0.1)) && Number.isNaN(normalQuantile(NaN)));
});

/**
 * P₂ from its Fourier series: Σ over the dual lattice (h ≠ 0, h·z ≡ 0 mod n) of Π 1/max(1, |h_j|)²,
 * truncated at |h_j| <= H (the tail left out is about 4/H of the sum's scale).
 */
function p2Fourier(z: number[], n: number, H: number): number {
  let sum = 0;
  for (let h1 = -H; h1 <= H; h1++)
    for (let h2 = -H; h2 <= H; h2++) {
      if ((h1 === 0 && h2 === 0) || (((h1 * z[0]! + h2 * z[1]!) % n) + n) % n !== 0) continue;
      sum += 1 / (Math.max(1, Math.abs(h1)) ** 2 * Math.max(1, Math.abs(h2)) ** 2);
    }
  return sum;
}

test('latticeP2 equals its Fourier series, and the generator is the P₂ minimiser (the Fibonacci lattice in 2-D)', () => {
  for (const z of [
    [1, 5],
    [1, 8],
    [1, 1],
  ]) {
    const exact = latticeP2(z, 21);
    const series = p2Fourier(z, 21, 2000);
    assert.ok(Math.abs(exact - series) < 0.01 * exact, `z = ${z}: P₂ ${exact} vs series ${series}`);
  }
  // the best a over every a coprime to n, by brute force
  for (const n of [21, 64, 101]) {
    let best = Infinity;
    for (let a = 1; a < n; a++) {
      let [x, y] = [a, n];
      while (y) [x, y] = [y, x % y];
      if (x === 1) best = Math.min(best, latticeP2([1, a], n));
    }
    const z = latticeGenerator(n, 2);
    assert.ok(Math.abs(latticeP2(z, n) - best) < 1e-12, `n = ${n}: chose z = ${z}`);
  }
  // Fibonacci n: a = F(k-1) or n - F(k-1) (the same lattice mirrored)
  for (const [n, f] of [
    [89, 55],
    [144, 89],
    [610, 377],
  ] as const) {
    const a = latticeGenerator(n, 2)[1]!;
    assert.ok(a === f || a === n - f, `n = ${n}: a = ${a}, not ${f} or ${n - f}`);
  }
});

test('every coordinate of the lattice puts one point in each of the n strata [k/n, (k+1)/n)', () => {
  for (const [n, dim] of [
    [128, 2],
    [144, 2],
    [100, 3],
    [7, 5],
  ] as [number, number][]) {
    const u = new Float64Array(n * dim);
    fillLatticeNormal(new Rng(3), u, n, dim);
    for (let j = 0; j < dim; j++) {
      // the shift moves every point of a coordinate by the same u_j: undo it through Φ
      const p = Array.from({ length: n }, (_, i) => normalCdf(u[i * dim + j]!));
      // every point is k/n + shift for one k each: the grid of strata, moved as a whole
      const shift = Math.min(...p.map((x) => (x * n) % 1)) / n;
      const k = p.map((x) => (x - shift) * n);
      assert.ok(
        k.every((v) => Math.abs(v - Math.round(v)) < 1e-4),
        `n = ${n}: points off the shifted grid`,
      );
      const strata = k.map((v) => Math.round(v) % n).sort((x, y) => x - y);
      assert.deepEqual(strata, [...Array(n).keys()], `n = ${n}, dim ${dim}, coordinate ${j}`);
    }
  }
});

/** Closed forms: E[e^{z1/2} + z2² cos z1] = e^{1/8} + e^{-1/2}; in 3-D add E[z2 z3 + e^{0.3 z3}] = e^{0.045}. */
const F2 = (z: ArrayLike<number>): number => Math.exp(0.5 * z[0]!) + z[1]! ** 2 * Math.cos(z[0]!);
const F3 = (z: ArrayLike<number>): number => F2(z) + z[1]! * z[2]! + Math.exp(0.3 * z[2]!);
const MEAN2 = Math.exp(1 / 8) + Math.exp(-1 / 2);
const MEAN3 = MEAN2 + Math.exp(0.045);

test('a shifted lattice batch is unbiased for Gaussian expectations, with far less variance than iid draws', () => {
  const [n, reps] = [128, 300];
  // [dim, integrand, its mean, the least variance reduction asked for] (a lattice thins with D)
  for (const [dim, f, exact, gain] of [
    [2, F2, MEAN2, 10],
    [3, F3, MEAN3, 3],
  ] as const) {
    const rng = new Rng(7);
    const estimates = { mc: [] as number[], rqmc: [] as number[] };
    const z = new Float64Array(n * dim);
    for (let r = 0; r < reps; r++) {
      for (const kind of ['mc', 'rqmc'] as const) {
        if (kind === 'mc') rng.fillNormal(z);
        else fillLatticeNormal(rng, z, n, dim);
        let s = 0;
        for (let i = 0; i < n; i++) s += f(z.subarray(i * dim, (i + 1) * dim));
        estimates[kind].push(s / n);
      }
    }
    const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length;
    const variance = (x: number[]): number => mean(x.map((v) => (v - mean(x)) ** 2));
    const [vMc, vQmc] = [variance(estimates.mc), variance(estimates.rqmc)];
    const se = Math.sqrt(vQmc / reps);
    assert.ok(Math.abs(mean(estimates.rqmc) - exact) < 4 * se + 1e-9, `${dim}-D: ${mean(estimates.rqmc)} vs ${exact}`);
    assert.ok(Math.abs(mean(estimates.mc) - exact) < 4 * Math.sqrt(vMc / reps), `${dim}-D mc is unbiased too`);
    assert.ok(vQmc < vMc / gain, `${dim}-D: variance ${vQmc} (rqmc) vs ${vMc} (mc)`);
    console.log(`${dim}-D: variance ratio mc / rqmc = ${(vMc / vQmc).toFixed(1)}`);
  }
});

test('the seed fixes the batch, each batch gets a fresh shift, and bad sizes are refused', () => {
  const draw = (seed: number): Float32Array[] => {
    const rng = new Rng(seed);
    return [0, 1].map(() => fillLatticeNormal(rng, new Float32Array(64), 32, 2));
  };
  const [a, b] = [draw(5), draw(5)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0], a[1]);
  assert.ok(a.every((x) => x.every(Number.isFinite)));
  assert.throws(() => fillLatticeNormal(new Rng(0), new Float32Array(10), 4, 2), /out has 10 entries, not n · dim = 8/);
  assert.throws(() => latticeGenerator(0, 2), /n must be an integer >= 1, got 0/);
  assert.throws(() => latticeGenerator(2 ** 27, 2), /a lattice of 134217728 points is over the 67108864/);
});
