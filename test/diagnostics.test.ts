import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  evaluate,
  essFraction,
  logMeanExp,
  PlanarFlow,
  SylvesterFlow,
  asTarget,
  LOG_2PI,
  flowDensity,
  getTarget,
  quadratureLogZ,
  SplineCouplingFlow,
  logLikelihood,
  gridPoints,
} from '../src';
import { randomizeFlow } from './flows-helpers';

const stdNormal = asTarget((z) => tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), LOG_2PI) as tf.Tensor1D, 2, 'N(0, I)');

test('importance sampling: identity flow vs standard-normal target gives log Z = 0 and ESS/N = 1', () => {
  const flow = new PlanarFlow({ K: 4, initScale: 0 });
  const d = evaluate(flow, stdNormal, { samples: 20000, logZTrue: 0 });
  assert.ok(Math.abs(d.logZ) < 1e-5, `log Z = ${d.logZ}`);
  assert.ok(Math.abs(d.essFraction - 1) < 1e-6, `ESS/N = ${d.essFraction}`);
  assert.ok(Math.abs(d.klGap!) < 1e-5);
  assert.equal(d.nonFinite, 0);
  flow.dispose();
});

test('importance sampling: a shifted target gives its log Z and a lower ESS', () => {
  const flow = new PlanarFlow({ K: 1, initScale: 0 });
  // p̃(z) = 3 · N(z; (0.5, 0), I): log Z = ln 3
  const shifted = asTarget(
    (z) =>
      tf.tidy(() =>
        tf.add(tf.sub(tf.mul(-0.5, tf.sum(tf.square(tf.sub(z, tf.tensor1d([0.5, 0]))), 1)), LOG_2PI), Math.log(3)),
      ) as tf.Tensor1D,
    2,
  );
  const d = evaluate(flow, shifted, { samples: 100000, logZTrue: Math.log(3) });
  assert.ok(Math.abs(d.logZ - Math.log(3)) < 0.01, `${d.logZ}`);
  // KL(N(0,I) ‖ N(μ,I)) = ‖μ‖²/2 = 0.125; ESS/N = exp(-‖μ‖²) = 0.7788
  assert.ok(Math.abs(d.klGap! - 0.125) < 0.01, `${d.klGap}`);
  assert.ok(Math.abs(d.essFraction - Math.exp(-0.25)) < 0.01, `${d.essFraction}`);
  flow.dispose();
});

test('logMeanExp and essFraction on hand-made weights', () => {
  assert.ok(Math.abs(logMeanExp([0, Math.log(3)]) - Math.log(2)) < 1e-12);
  assert.ok(Math.abs(logMeanExp([1000, 1000]) - 1000) < 1e-12);
  assert.equal(essFraction([5, 5, 5, 5]), 1);
  assert.ok(Math.abs(essFraction([0, -1e4, -1e4, -1e4]) - 0.25) < 1e-12);
});

test('flow density on a grid integrates to 1 (planar: exact inverse on a regular grid)', () => {
  const flow = new PlanarFlow({ K: 4, seed: 2 });
  randomizeFlow(flow, 3, 0.6);
  const g = { xlim: [-7, 7] as [number, number], ylim: [-7, 7] as [number, number], nx: 200, ny: 200 };
  const field = flowDensity(flow, g);
  assert.equal(field.regular, true);
  const h = (14 / 200) ** 2;
  const mass = Array.from(field.logDensity).reduce((s, v) => s + Math.exp(v) * h, 0);
  assert.ok(Math.abs(mass - 1) < 0.01, `mass ${mass}`);
  flow.dispose();
});

test('flow density without an inverse uses the pushed-forward grid (Sylvester)', () => {
  const flow = new SylvesterFlow({ K: 2, seed: 2 });
  const field = flowDensity(flow, { xlim: [-4, 4], ylim: [-4, 4], nx: 20, ny: 20 });
  assert.equal(field.regular, false);
  assert.equal(field.x.length, 400);
  assert.ok(Array.from(field.logDensity).every(Number.isFinite));
  flow.dispose();
});

test('grid helpers reject bad grids', () => {
  assert.throws(
    () => quadratureLogZ(getTarget('U1').logProb, { xlim: [1, -1], ylim: [-1, 1], nx: 10, ny: 10 }),
    /xlim must be \[lo, hi\]/,
  );
  assert.throws(
    () => quadratureLogZ(getTarget('U1').logProb, { xlim: [-1, 1], ylim: [-1, 1], nx: 0, ny: 10 }),
    /nx must be an integer >= 1/,
  );
  assert.throws(() => evaluate(new PlanarFlow(), stdNormal, { samples: 0 }), /samples must be an integer >= 1/);
});

test('flow density of a flow with inverseWithLogDet is its log-likelihood on the grid (one pass), mass 1', () => {
  const flow = new SplineCouplingFlow({ K: 2, bins: 4, seed: 3 });
  randomizeFlow(flow, 4, 0.3);
  const g = { xlim: [-6, 6] as [number, number], ylim: [-6, 6] as [number, number], nx: 150, ny: 150 };
  const field = flowDensity(flow, g);
  assert.equal(field.regular, true);
  const ll = logLikelihood(flow, gridPoints(g));
  const diff = Math.max(...Array.from(ll, (v, i) => Math.abs(v - field.logDensity[i]!)));
  // the reference inverse here, the fused one in logLikelihood: float32 rounding apart
  assert.ok(diff < 1e-3, `max |flowDensity - logLikelihood| = ${diff}`);
  const h = (12 / 150) ** 2;
  const mass = Array.from(field.logDensity).reduce((s, v) => s + Math.exp(v) * h, 0);
  assert.ok(Math.abs(mass - 1) < 0.01, `mass ${mass}`);
  flow.dispose();
});
