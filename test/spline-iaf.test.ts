// The inverse autoregressive spline (SplineAutoregressiveFlow with conditionedOn 'base', flow name
// nsf-iaf): identity at init, its one-pass base -> data map is spline-ar's one-pass data -> base
// map with the same parameters, both log-dets against float64 finite-difference Jacobians, round
// trips, the autoregressive structure, leaks and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { SplineAutoregressiveFlow } from '../src/flows/spline-autoregressive';
import { rqSpline, splitSplineParams } from '../src/flows/spline';
import {
  assertLogDetsMatchFD,
  assertLowerTriangularFD,
  assertRoundTrips,
  assertNoLeaksBothWays,
  assertShapeErrors,
  maxAbs,
  SPLINE_AR_TOL,
} from './flows-helpers';

/**
 * Perturbation of every parameter: bins visibly unequal, the spline still well-conditioned. Less
 * than spline-ar.test.ts's 0.3: here the K layers apply g (not g⁻¹) to base draws, and at 0.3
 * some rows of K = 3, D = 4 lose volume by e^{-11}, so the float32 D-pass inverse round-trips to
 * only 4e-4 (spline-ar at 0.3: 8e-6) and FD step 3e-3 misses the log-det by 0.017; 0.2 passes.
 */
const PERTURB = 0.2;

function perturbed(dim: number, K: number, seed: number, conditionedOn: 'data' | 'base' = 'base') {
  const flow = new SplineAutoregressiveFlow({ dim, K, hidden: 12, bins: 5, seed, conditionedOn });
  flow.perturb(PERTURB, seed + 1);
  return flow;
}

test('spline-iaf: named spline-iaf, starts at the identity; the default is spline-ar', () => {
  const flow = new SplineAutoregressiveFlow({ dim: 3, K: 2, hidden: 8, bins: 4, seed: 5, conditionedOn: 'base' });
  assert.equal(flow.name, 'spline-iaf(K=2, bins=4, H=8)');
  assert.equal(flow.conditionedOn, 'base');
  const x = tf.mul(2, new Rng(3).normalTensor(20, 3)) as tf.Tensor2D;
  const f = flow.forward(x);
  const g = flow.inverseWithLogDet(x);
  assert.ok(maxAbs(tf.sub(f.z, x)) + maxAbs(tf.sub(g.z, x)) < 1e-5);
  assert.ok(maxAbs(f.logDetJ) + maxAbs(g.logDetJ) < 1e-5);
  tf.dispose([x, f.z, f.logDetJ, g.z, g.logDetJ]);
  flow.dispose();
  const ar = new SplineAutoregressiveFlow({ dim: 2 });
  assert.equal(ar.conditionedOn, 'data');
  assert.match(ar.name, /^spline-ar\(/);
  ar.dispose();
});

test("spline-iaf's base -> data map is spline-ar's data -> base map with the same parameters (both one pass)", () => {
  for (const dim of [2, 4]) {
    // one layer each (forward runs layers 0..K-1, the inverse K-1..0); same seeds: the same variables
    const iaf = perturbed(dim, 1, 40 + dim, 'base');
    const ar = perturbed(dim, 1, 40 + dim, 'data');
    iaf.variables.forEach((v, i) => assert.equal(maxAbs(tf.sub(v, ar.variables[i]!)), 0));
    const z = tf.mul(1.5, new Rng(dim).normalTensor(50, dim)) as tf.Tensor2D;
    const f = iaf.forward(z);
    const g = ar.inverseWithLogDet(z);
    assert.ok(maxAbs(tf.sub(f.z, g.z)) < 1e-6, `D=${dim}: v = g_θ(u)(u) both ways`);
    assert.ok(maxAbs(tf.sub(f.logDetJ, g.logDetJ)) < 1e-5, `D=${dim}: +Σ log g'(u)`);
    assert.ok(maxAbs(tf.sub(f.z, z)) > 1e-2, `D=${dim}: the perturbed layer moves points`);
    tf.dispose([z, f.z, f.logDetJ, g.z, g.logDetJ]);
    iaf.dispose();
    ar.dispose();
  }
});

test("spline-iaf: one layer base -> data is the definition v = g_θ(u)(u), +Σ log g'(u)", () => {
  for (const conditionedOn of ['base', 'data'] as const) {
    const flow = perturbed(3, 1, 7, conditionedOn);
    const u = new Rng(8).normalTensor(30, 3);
    tf.tidy(() => {
      // θ from the base side u, the spline g applied forward to u
      const g = rqSpline(u, splitSplineParams(flow.layers[0]!.perCoordinate(u), flow.spline.bins), flow.spline, false);
      const f = flow.forward(u);
      const err = maxAbs(tf.sub(f.z, g.y)) + maxAbs(tf.sub(f.logDetJ, tf.sum(g.logDet, 1)));
      if (conditionedOn === 'base') assert.ok(err < 1e-5, `spline-iaf forward is g_θ(u)(u): ${err}`);
      else assert.ok(err > 1e-2, `spline-ar forward is not: ${err}`); // the check can tell them apart
    });
    u.dispose();
    flow.dispose();
  }
});

test('spline-iaf: the base -> data map is autoregressive in u (FD Jacobian lower-triangular, one layer)', () => {
  const D = 4;
  const flow = perturbed(D, 1, 3); // one layer: order 0, 1, 2, 3
  const u = [0.3, -1.2, 0.8, 1.5];
  assertLowerTriangularFD(flow, 'forward', u, SPLINE_AR_TOL.FD_STEP);
  flow.dispose();
});

test('spline-iaf: forward and inverse log-dets match float64 finite-difference Jacobians (D = 2, 4)', () => {
  assertLogDetsMatchFD((dim) => perturbed(dim, 3, 10 + dim), [2, 4], SPLINE_AR_TOL.FD_STEP, SPLINE_AR_TOL.FD_LOGDET);
});

test('spline-iaf: round trips both ways, log-dets opposite (D = 1, 2, 4)', () => {
  assertRoundTrips((dim) => perturbed(dim, 3, dim), [1, 2, 4], SPLINE_AR_TOL.ROUNDTRIP, SPLINE_AR_TOL.LOGDET_ROUNDTRIP);
});

test('spline-iaf: no tensor leaks; a bad conditionedOn and bad shapes name the parameter', () => {
  const before = tf.memory().numTensors;
  const flow = perturbed(2, 2, 1);
  const x = new Rng(0).normalTensor(10, 2);
  assertNoLeaksBothWays(flow, x, 2, [(v) => flow.inverseWithLogDet(v).logDetJ, (v) => flow.forward(v).logDetJ]);
  assertShapeErrors(flow);
  x.dispose();
  flow.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => new SplineAutoregressiveFlow({ conditionedOn: 'latent' as 'base' }),
    /conditionedOn must be one of data, base; got "latent"/,
  );
});
