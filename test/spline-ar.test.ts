// The autoregressive rational-quadratic spline flow (src/flows/spline-autoregressive.ts): identity
// at init, the autoregressive property, both log-dets against float64 finite-difference Jacobians,
// round trips, leaks, a maximum-likelihood fit and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { Made } from '../src/flows/made';
import { SplineAutoregressiveFlow } from '../src/flows/spline-autoregressive';
import { gaussianBaseline } from '../src/train/mle';
import {
  assertLogDetsMatchFD,
  assertLowerTriangularFD,
  assertRoundTrips,
  assertNoLeaksBothWays,
  assertShapeErrors,
  maxAbs,
  SPLINE_AR_TOL,
  banana,
  fitHeldOut,
} from './flows-helpers';

/** Perturbation of every parameter: bins visibly unequal, the spline still well-conditioned. */
const PERTURB = 0.3;

function perturbed(dim: number, K: number, seed: number): SplineAutoregressiveFlow {
  const flow = new SplineAutoregressiveFlow({ dim, K, hidden: 12, bins: 5, seed });
  flow.perturb(PERTURB, seed + 1);
  return flow;
}

test('starts at the identity with zero log-det, any D >= 1; the name lists K, bins, H', () => {
  for (const dim of [1, 3]) {
    const flow = new SplineAutoregressiveFlow({ dim, K: 2, hidden: 8, bins: 4, seed: 5 });
    assert.equal(flow.name, 'spline-ar(K=2, bins=4, H=8)');
    const x = tf.mul(2, new Rng(dim).normalTensor(20, dim)) as tf.Tensor2D; // inside and outside [-3, 3]
    const f = flow.forward(x);
    const g = flow.inverseWithLogDet(x);
    assert.ok(maxAbs(tf.sub(f.z, x)) + maxAbs(tf.sub(g.z, x)) < 1e-5);
    assert.ok(maxAbs(f.logDetJ) + maxAbs(g.logDetJ) < 1e-5);
    tf.dispose([x, f.z, f.logDetJ, g.z, g.logDetJ]);
    flow.dispose();
  }
});

test('MADE with P outputs per coordinate: output d depends on x_<d only, every allowed entry used', () => {
  const order = [2, 0, 3, 1];
  const [D, P] = [order.length, 5];
  const made = new Made(order, new Rng(3), { hidden: 10, outputsPerCoordinate: P });
  const rng = new Rng(4);
  tf.tidy(() => made.variables.forEach((v) => v.assign(tf.add(v, rng.normalTensor(1, v.size).reshape(v.shape)))));
  const at = (x: number[]): number[] =>
    tf.tidy(() => Array.from(made.perCoordinate(tf.tensor2d([x], [1, D])).dataSync())); // [D·P], d-major
  const x = Array.from({ length: D }, () => rng.normal());
  const h = 1e-2;
  const FD_NOISE = 1e-5; // float32 rounding over 2h: a used entry stands above it
  const pos = (d: number): number => order.indexOf(d);
  for (let j = 0; j < D; j++) {
    const [xp, xm] = [[...x], [...x]];
    xp[j]! += h;
    xm[j]! -= h;
    const [fp, fm] = [at(xp), at(xm)];
    for (let out = 0; out < D * P; out++) {
      const d = Math.floor(out / P);
      const dij = (fp[out]! - fm[out]!) / (2 * h);
      if (pos(j) < pos(d)) assert.ok(Math.abs(dij) > FD_NOISE, `∂θ${out}/∂x${j} = ${dij} should be used`);
      else assert.equal(dij, 0, `∂θ${out}/∂x${j} = ${dij} must be 0`);
    }
  }
  assert.throws(() => made.apply(tf.zeros([1, D])), /apply needs outputsPerCoordinate = 2/);
  made.dispose();
});

test('the data -> base map is autoregressive: its FD Jacobian is lower-triangular in the first order', () => {
  const D = 4;
  const flow = perturbed(D, 1, 3); // one layer: order 0, 1, 2, 3
  const x = [0.3, -1.2, 0.8, 1.5];
  assertLowerTriangularFD(flow, 'inverse', x, SPLINE_AR_TOL.FD_STEP);
  flow.dispose();
});

test('forward and inverse log-dets match float64 finite-difference Jacobians (D = 2, 4)', () => {
  assertLogDetsMatchFD((dim) => perturbed(dim, 3, 10 + dim), [2, 4], SPLINE_AR_TOL.FD_STEP, SPLINE_AR_TOL.FD_LOGDET);
});

test('round trips both ways: f⁻¹(f(z)) = z and f(f⁻¹(x)) = x, log-dets opposite (D = 1, 2, 4)', () => {
  assertRoundTrips((dim) => perturbed(dim, 3, dim), [1, 2, 4], SPLINE_AR_TOL.ROUNDTRIP, SPLINE_AR_TOL.LOGDET_ROUNDTRIP);
});

test('no tensor leaks in forward, inverse and gradients; dispose frees everything', () => {
  const before = tf.memory().numTensors;
  const flow = new SplineAutoregressiveFlow({ dim: 3, K: 2, hidden: 8, bins: 4, seed: 1 });
  const x = new Rng(0).normalTensor(10, 3);
  assertNoLeaksBothWays(flow, x, 2, [(v) => flow.inverseWithLogDet(v).logDetJ, (v) => flow.forward(v).logDetJ]);
  x.dispose();
  flow.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('by maximum likelihood on a curved 2-D data set: held-out log-likelihood improves', async () => {
  const data = banana(1000, 1);
  const heldOut = banana(500, 2);
  const base = gaussianBaseline(data, heldOut, 2);
  const flow = new SplineAutoregressiveFlow({ dim: 2, K: 2, hidden: 16, bins: 6, seed: 0 });
  const { before, after } = await fitHeldOut(flow, data, heldOut, { steps: 150, batch: 128, lr: 5e-3, seed: 0 });
  assert.ok(after > before + 0.5, `held-out log-likelihood ${before} -> ${after}`);
  // measured: -2.91 -> -1.92 after 150 steps vs the Gaussian baseline's -2.86
  assert.ok(after > base.testLogLik + 0.3, `spline AR ${after} vs Gaussian baseline ${base.testLogLik}`);
  flow.dispose();
});

test('bad options name the parameter', () => {
  const make = (o: ConstructorParameters<typeof SplineAutoregressiveFlow>[0]) => new SplineAutoregressiveFlow(o);
  assert.throws(() => make({ dim: 0 }), /dim must be an integer >= 1, got 0/);
  assert.throws(() => make({ K: 0 }), /K must be an integer >= 1, got 0/);
  assert.throws(() => make({ hidden: 2.5 }), /hidden must be an integer >= 1, got 2.5/);
  assert.throws(() => make({ bins: 1 }), /bins must be an integer >= 2, got 1/);
  assert.throws(() => make({ bound: 0 }), /bound must be > 0, got 0/);
  assert.throws(() => make({ seed: -1 }), /seed must be an integer in/);
  assert.throws(() => new Made([0, 1], new Rng(0), { outputsPerCoordinate: 0 }), /outputsPerCoordinate must be/);
  const flow = make({ dim: 2 });
  assertShapeErrors(flow);
  flow.dispose();
});
