import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { CouplingFlow, couplingMasks } from '../src/flows/coupling';
import { Rng } from '../src/core/random';
import { assertNoLeaksBothWays } from './flows-helpers';

/**
 * Central-difference step: float32 rounding of f (~6e-8 |f|) divided by h against the O(h²)
 * curvature error; 3e-3 matched tf.grad's Jacobian to ~1e-4 per entry in a scan of 1e-2..1e-3.
 */
const FD_STEP = 3e-3;
/** Tolerance on log|det J|: the FD entries carry ~1e-4 errors, amplified by ill-conditioned J. */
const FD_LOGDET_TOL = 3e-3;
/** Relative round-trip tolerance |f⁻¹(f(x)) - x| / max(1, max|f(x)|): float32, 6 layers. */
const ROUNDTRIP_TOL = 1e-5;

/** Evaluate the flow's forward map at one point in float32, returned as float64 numbers. */
function forwardAt(flow: CouplingFlow, x: number[]): number[] {
  return tf.tidy(() => {
    const out = flow.forward(tf.tensor2d([x], [1, x.length]));
    return Array.from(out.z.dataSync());
  });
}

/** log|det| of a D×D matrix (row-major) by Gaussian elimination with partial pivoting, float64. */
function logAbsDet(a: number[], D: number): number {
  const m = [...a];
  let s = 0;
  for (let c = 0; c < D; c++) {
    let p = c;
    for (let r = c + 1; r < D; r++) if (Math.abs(m[r * D + c]!) > Math.abs(m[p * D + c]!)) p = r;
    if (p !== c) for (let k = 0; k < D; k++) [m[c * D + k], m[p * D + k]] = [m[p * D + k]!, m[c * D + k]!];
    const piv = m[c * D + c]!;
    s += Math.log(Math.abs(piv));
    for (let r = c + 1; r < D; r++) {
      const f = m[r * D + c]! / piv;
      for (let k = c; k < D; k++) m[r * D + k]! -= f * m[c * D + k]!;
    }
  }
  return s;
}

test('masks alternate halves', () => {
  assert.deepEqual(couplingMasks(2, 3), [
    [1, 0],
    [0, 1],
    [1, 0],
  ]);
  assert.deepEqual(couplingMasks(5, 2), [
    [1, 1, 1, 0, 0],
    [0, 0, 0, 1, 1],
  ]);
  assert.throws(() => couplingMasks(1, 2), /dim must be an integer >= 2/);
});

test('starts at the identity with zero log-det', () => {
  const flow = new CouplingFlow({ dim: 2, K: 4, hidden: 16, seed: 3 });
  const x = new Rng(1).normalTensor(50, 2);
  const out = flow.forward(x);
  assert.ok(tf.max(tf.abs(tf.sub(out.z, x))).dataSync()[0]! === 0);
  assert.ok(tf.max(tf.abs(out.logDetJ)).dataSync()[0]! === 0);
  tf.dispose([x, out.z, out.logDetJ]);
  flow.dispose();
});

test('inverse(forward(x)) = x and log-det of the inverse = -log-det of forward', () => {
  for (const dim of [2, 3, 5]) {
    const flow = new CouplingFlow({ dim, K: 6, hidden: 32, seed: dim });
    flow.perturb(0.25, 7);
    const x = new Rng(dim).normalTensor(300, dim);
    const fwd = flow.forward(x);
    const inv = flow.inverseWithLogDet(fwd.z);
    const errX = tf.max(tf.abs(tf.sub(inv.z, x))).dataSync()[0]!;
    const errLd = tf.max(tf.abs(tf.add(inv.logDetJ, fwd.logDetJ))).dataSync()[0]!;
    const spread = tf.max(tf.abs(fwd.logDetJ)).dataSync()[0]!;
    const scale = Math.max(1, tf.max(tf.abs(fwd.z)).dataSync()[0]!);
    assert.ok(errX < ROUNDTRIP_TOL * scale, `dim ${dim}: |f⁻¹(f(x)) - x| = ${errX} (max |f(x)| ${scale})`);
    assert.ok(errLd < ROUNDTRIP_TOL * Math.max(1, spread), `dim ${dim}: log-det mismatch ${errLd}`);
    assert.ok(spread > 0.1, `dim ${dim}: perturbed flow should not be near-identity (max |logdet| ${spread})`);
    const z2 = flow.inverse(fwd.z);
    assert.ok(tf.max(tf.abs(tf.sub(z2, x))).dataSync()[0]! < ROUNDTRIP_TOL * scale);
    tf.dispose([x, fwd.z, fwd.logDetJ, inv.z, inv.logDetJ, z2]);
    flow.dispose();
  }
});

test('log-det matches a finite-difference Jacobian (float64 central differences)', () => {
  for (const dim of [2, 4]) {
    const flow = new CouplingFlow({ dim, K: 4, hidden: 16, seed: 11 + dim });
    flow.perturb(0.25, 5); // off the zero init: the last layers are zero there, log-det would be 0
    const rng = new Rng(dim + 100);
    for (let trial = 0; trial < 5; trial++) {
      const x = Array.from({ length: dim }, () => 1.5 * rng.normal());
      const J = new Array<number>(dim * dim).fill(0);
      for (let j = 0; j < dim; j++) {
        const xp = [...x];
        const xm = [...x];
        xp[j]! += FD_STEP;
        xm[j]! -= FD_STEP;
        const fp = forwardAt(flow, xp);
        const fm = forwardAt(flow, xm);
        for (let i = 0; i < dim; i++) J[i * dim + j] = (fp[i]! - fm[i]!) / (2 * FD_STEP);
      }
      const expected = logAbsDet(J, dim);
      const got = tf.tidy(() => flow.forward(tf.tensor2d([x], [1, dim])).logDetJ.dataSync()[0]!);
      assert.ok(
        Math.abs(got - expected) < FD_LOGDET_TOL,
        `dim ${dim} trial ${trial}: log-det ${got} vs finite differences ${expected}`,
      );
    }
    flow.dispose();
  }
});

test('log-scale is bounded by scaleFactor per layer', () => {
  const flow = new CouplingFlow({ dim: 2, K: 1, hidden: 8, seed: 0, scaleFactor: 0.5 });
  flow.perturb(50, 2); // huge parameters: raw scales far beyond the bound
  const x = tf.mul(10, new Rng(0).normalTensor(200, 2)) as tf.Tensor2D;
  const { z, logDetJ } = flow.forward(x);
  assert.ok(tf.max(tf.abs(logDetJ)).dataSync()[0]! <= 0.5 + 1e-6);
  assert.ok(tf.all(tf.isFinite(z)).dataSync()[0] === 1);
  tf.dispose([x, z, logDetJ]);
  flow.dispose();
});

test('no tensor leaks in forward, inverse and gradients; dispose frees everything', () => {
  const before = tf.memory().numTensors;
  const flow = new CouplingFlow({ dim: 3, K: 4, hidden: 8, seed: 1 });
  const x = new Rng(0).normalTensor(20, 3);
  assertNoLeaksBothWays(flow, x, 3);
  x.dispose();
  flow.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('bad options name the parameter', () => {
  assert.throws(() => new CouplingFlow({ dim: 1 }), /dim must be an integer >= 2/);
  assert.throws(() => new CouplingFlow({ K: 0 }), /K must be an integer >= 1/);
  assert.throws(() => new CouplingFlow({ hidden: 2.5 }), /hidden must be an integer/);
  assert.throws(() => new CouplingFlow({ scaleFactor: 0 }), /scaleFactor must be > 0/);
  const flow = new CouplingFlow({ dim: 2 });
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => flow.inverseWithLogDet(bad), /y must have 2 columns/);
  bad.dispose();
  flow.dispose();
});
