import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { LOG_2PI } from '../src/flows/base';
import { logisticPosterior } from '../src/targets/logistic';
import { penguinsSexModel, penguinsSpeciesModel } from '../src/targets/penguins';
import { autoGrid, gridPosteriorMoments, weightedMoments } from '../src/diagnostics/moments';
import { posteriorPredictive } from '../src/diagnostics/predictive';
import { Rng } from '../src/core/random';
import type { Target } from '../src/targets/energies';

/** The oracle: log p̃(θ) by the textbook formula, one term at a time, in float64. */
function oracle(X: number[][], y: number[], theta: number[], priorStd: number, intercept = true): number {
  const D = theta.length;
  let s = -(D / 2) * Math.log(2 * Math.PI * priorStd * priorStd);
  for (const t of theta) s -= (t * t) / (2 * priorStd * priorStd);
  X.forEach((x, n) => {
    const off = intercept ? 1 : 0;
    const l = (intercept ? theta[0]! : 0) + x.reduce((acc, v, p) => acc + v * theta[p + off]!, 0);
    // log σ(l) = -log(1 + e^{-l}), written both ways round so neither overflows
    const logSig = (u: number): number => (u >= 0 ? -Math.log1p(Math.exp(-u)) : u - Math.log1p(Math.exp(u)));
    s += y[n] === 1 ? logSig(l) : logSig(-l);
  });
  return s;
}

function randomData(rng: Rng, N: number, P: number): { X: number[][]; y: number[] } {
  // float32-representable features: the target stores X in float32, the oracle must see the same X
  const X = Array.from({ length: N }, () => Array.from({ length: P }, () => Math.fround(rng.normal())));
  const y = X.map((x) => (x[0]! + 0.5 * rng.normal() > 0 ? 1 : 0));
  return { X, y };
}

test('logProb matches a float64 oracle, including |θ| = 50', () => {
  const rng = new Rng(3);
  const { X, y } = randomData(rng, 40, 3);
  const target = logisticPosterior({ X, y, priorStd: 2 });
  assert.equal(target.dim, 4);
  const thetas: number[][] = [];
  for (let i = 0; i < 20; i++) thetas.push(Array.from({ length: 4 }, () => 2 * rng.normal()));
  thetas.push([50, -50, 50, -50], [-50, 0, 0, 0], [0, 50, 0, 0], [0, 0, 0, 0]);
  const lp = tf.tidy(() => target.logProb(tf.tensor2d(thetas)).dataSync());
  thetas.forEach((th, i) => {
    const want = oracle(X, y, th, 2);
    assert.ok(Number.isFinite(lp[i]!), `θ = ${th}: ${lp[i]}`);
    assert.ok(Math.abs(lp[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `θ = ${th}: ${lp[i]} vs oracle ${want}`);
    assert.ok(Math.abs(target.logProb64(th) - want) <= 1e-9 * Math.max(1, Math.abs(want)));
  });
});

test('row-major X without intercept equals number[][] X', () => {
  const rng = new Rng(4);
  const { X, y } = randomData(rng, 10, 2);
  const a = logisticPosterior({ X, y, intercept: false });
  const b = logisticPosterior({ X: Float32Array.from(X.flat()), P: 2, y, intercept: false });
  assert.equal(a.dim, 2);
  const th = [
    [0.3, -1.2],
    [4, 4],
  ];
  assert.equal(a.logProb64(th[0]!), b.logProb64(th[0]!));
  const want = oracle(X, y, th[1]!, 5, false);
  assert.ok(Math.abs(a.logProb64(th[1]!) - want) < 1e-9 * Math.abs(want));
  const lp = tf.tidy(() => b.logProb(tf.tensor2d(th)).dataSync());
  assert.ok(Math.abs(lp[1]! - want) < 1e-5 * Math.abs(want));
});

test('gradients are finite for large |θ| and match the float64 oracle by finite differences', () => {
  const rng = new Rng(5);
  const { X, y } = randomData(rng, 30, 1);
  const target = logisticPosterior({ X, y, priorStd: 3 });
  const thetas = [
    [50, -50],
    [-50, 50],
    [0.5, 1.5],
    [200, 200],
  ];
  const g = tf.tidy(() =>
    tf
      .grad((t: tf.Tensor) => tf.sum(target.logProb(t as tf.Tensor2D)))(tf.tensor2d(thetas))
      .dataSync(),
  );
  for (let i = 0; i < g.length; i++) assert.ok(Number.isFinite(g[i]!), `gradient ${i} = ${g[i]}`);
  const h = 1e-5; // float64 central difference
  const th = thetas[2]!;
  for (let d = 0; d < 2; d++) {
    const p = [...th];
    const m = [...th];
    p[d]! += h;
    m[d]! -= h;
    const fd = (oracle(X, y, p, 3) - oracle(X, y, m, 3)) / (2 * h);
    assert.ok(Math.abs(g[2 * 2 + d]! - fd) < 1e-3 * Math.max(1, Math.abs(fd)), `∂/∂θ${d}: ${g[4 + d]} vs ${fd}`);
  }
});

test('bad input names the parameter', () => {
  assert.throws(() => logisticPosterior({ X: [[1], [2]], y: [0, 2] }), /y must contain only 0 and 1, got y\[1\] = 2/);
  assert.throws(() => logisticPosterior({ X: [[1], [2]], y: [0] }), /y must have one label per row of X \(2\)/);
  assert.throws(() => logisticPosterior({ X: [[1], [2]], y: [0, 1], priorStd: 0 }), /priorStd must be > 0/);
  assert.throws(() => logisticPosterior({ X: new Float32Array(3), y: [0, 1, 1] }), /P \(columns of a row-major X\)/);
  assert.throws(() => logisticPosterior({ X: [[1, 2], [3]], y: [0, 1] }), /X\[1\] must have 2 values/);
  const target = logisticPosterior({ X: [[1], [2]], y: [0, 1] });
  const bad = tf.zeros([2, 3]) as tf.Tensor2D;
  assert.throws(() => target.logProb(bad), /theta must have 2 columns/);
  bad.dispose();
});

/** A correlated 2-D Gaussian target N(μ, Σ) scaled by e^{c}: log Z = c. */
function gaussianTarget(mu: [number, number], sd: [number, number], rho: number, c: number): Target {
  const det = sd[0] ** 2 * sd[1] ** 2 * (1 - rho * rho);
  const i00 = sd[1] ** 2 / det;
  const i11 = sd[0] ** 2 / det;
  const i01 = (-rho * sd[0] * sd[1]) / det;
  const norm = -LOG_2PI - 0.5 * Math.log(det);
  return {
    name: 'gaussian',
    dim: 2,
    logProb: (z) =>
      tf.tidy(() => {
        const [a, b] = tf.unstack(z, 1);
        const da = tf.sub(a!, mu[0]);
        const db = tf.sub(b!, mu[1]);
        const q = tf.add(
          tf.add(tf.mul(i00, tf.square(da)), tf.mul(2 * i01, tf.mul(da, db))),
          tf.mul(i11, tf.square(db)),
        );
        return tf.add(tf.mul(-0.5, q), norm + c) as tf.Tensor1D;
      }),
  };
}

test('grid moments and log evidence of a Gaussian target are its known values', () => {
  const target = gaussianTarget([1.5, -3], [0.5, 2], -0.7, 4.2);
  const grid = autoGrid(target, { n: 200 });
  const m = gridPosteriorMoments(target, grid);
  assert.ok(Math.abs(m.mean[0] - 1.5) < 1e-4 && Math.abs(m.mean[1] + 3) < 1e-4, `mean ${m.mean}`);
  assert.ok(Math.abs(m.std[0] - 0.5) < 1e-4 && Math.abs(m.std[1] - 2) < 1e-4, `std ${m.std}`);
  assert.ok(Math.abs(m.corr + 0.7) < 1e-4, `corr ${m.corr}`);
  assert.ok(Math.abs(m.logZ - 4.2) < 1e-4, `log Z ${m.logZ}`);
  assert.ok(m.edgeMass < 1e-10);
});

test('the penguin models: proper posterior, box holds the mass, float64 and tfjs grids agree', () => {
  const model = penguinsSpeciesModel();
  assert.equal(model.target.N, 214);
  assert.equal(
    model.y.reduce((a, b) => a + b, 0),
    68,
  );
  const grid = autoGrid(model.target, { n: 120 });
  const m = gridPosteriorMoments(model.target, grid);
  assert.ok(m.edgeMass < 1e-8, `edge mass ${m.edgeMass}`);
  // Truth at n = 300 (see the report): mean (-2.19501, 5.82150), std (0.46697, 0.95673).
  assert.ok(Math.abs(m.mean[0] + 2.19501) < 1e-3 && Math.abs(m.mean[1] - 5.8215) < 1e-3, `mean ${m.mean}`);
  const float32Path: Target = { name: 'tfjs only', dim: 2, logProb: model.target.logProb };
  const m32 = gridPosteriorMoments(float32Path, { ...grid, nx: 60, ny: 60 });
  const m64 = gridPosteriorMoments(model.target, { ...grid, nx: 60, ny: 60 });
  assert.ok(Math.abs(m32.logZ - m64.logZ) < 1e-4 && Math.abs(m32.mean[1] - m64.mean[1]) < 1e-4);
  const sex = penguinsSexModel();
  assert.equal(sex.target.dim, 5);
  assert.equal(sex.target.N, 146);
});

test('weightedMoments on known weights', () => {
  const z = Float64Array.from([0, 0, 2, 4, 4, 8]); // rows (0,0), (2,4), (4,8)
  const lw = [Math.log(1), Math.log(2), Math.log(1)]; // weights 1/4, 1/2, 1/4
  const m = weightedMoments(z, lw, 2);
  assert.ok(Math.abs(m.mean[0]! - 2) < 1e-12 && Math.abs(m.mean[1]! - 4) < 1e-12);
  assert.ok(Math.abs(m.std[0]! - Math.sqrt(2)) < 1e-12 && Math.abs(m.std[1]! - Math.sqrt(8)) < 1e-12);
  assert.ok(Math.abs(m.corr[1]! - 1) < 1e-12);
  assert.ok(Math.abs(m.essFraction - 16 / 18) < 1e-12); // (Σw)² / (N Σw²) = 4² / (3 · 6) with w = 1, 2, 1
  const plain = weightedMoments(z, null, 2);
  assert.equal(plain.essFraction, 1);
  assert.ok(Math.abs(plain.mean[0]! - 2) < 1e-12);
  const shifted = weightedMoments(
    z,
    lw.map((v) => v + 1000),
    2,
  ); // only differences of log-weights matter
  assert.ok(Math.abs(shifted.mean[1]! - 4) < 1e-12);
  assert.throws(() => weightedMoments(z, [0, 0], 2), /logWeights must have one entry per sample \(3\)/);
});

test('posterior predictive: mean and band of σ(θ0 + θ1 x)', () => {
  const thetas = Float64Array.from([0, 1, 0, 1, 0, 1]); // all samples θ = (0, 1)
  const p = posteriorPredictive([0, Math.log(3)], thetas);
  assert.ok(Math.abs(p.mean[0]! - 0.5) < 1e-12 && Math.abs(p.mean[1]! - 0.75) < 1e-12);
  assert.equal(p.lower[1], p.upper[1]);
  const spread = Float64Array.from([-10, 0, 0, 0, 10, 0]); // σ = ~0, 0.5, ~1 at any x
  const q = posteriorPredictive([1], spread, { quantiles: [0.4, 0.6] }); // middle third: 0.5
  assert.ok(Math.abs(q.lower[0]! - 0.5) < 1e-12 && Math.abs(q.upper[0]! - 0.5) < 1e-12);
  assert.ok(Math.abs(q.mean[0]! - 0.5) < 1e-9);
  assert.throws(() => posteriorPredictive([0], thetas, { quantiles: [0.9, 0.1] }), /quantiles must satisfy/);
});
