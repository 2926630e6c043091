import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  makeFlow,
  FLOW_NAMES,
  DENSITY_FLOW_NAMES,
  FLOW_FAST_DIRECTION,
  CouplingFlow,
  InverseAutoregressiveFlow,
  MaskedAutoregressiveFlow,
  PlanarFlow,
  SplineAutoregressiveFlow,
  SplineCouplingFlow,
  SylvesterFlow,
} from '../src';

const CLASSES = {
  planar: PlanarFlow,
  sylvester: SylvesterFlow,
  coupling: CouplingFlow,
  maf: MaskedAutoregressiveFlow,
  iaf: InverseAutoregressiveFlow,
  nsf: SplineCouplingFlow,
  'nsf-ar': SplineAutoregressiveFlow,
  'nsf-iaf': SplineAutoregressiveFlow,
};

test('makeFlow builds every FLOW_NAMES flow with its K, dim and hidden units; nsf gets its bins', () => {
  for (const name of FLOW_NAMES) {
    const flow = makeFlow({ flow: name, K: 2, dim: 3, M: 2, hidden: 8, bins: 5, seed: 1 });
    assert.ok(flow instanceof CLASSES[name], name);
    assert.equal(flow.dim, 3, name);
    assert.match(flow.name, /K=2\b/, name);
    assert.ok(name in FLOW_FAST_DIRECTION, name);
    if ((DENSITY_FLOW_NAMES as readonly string[]).includes(name)) assert.match(flow.name, /H=8/, name);
    flow.dispose();
  }
  const nsf = makeFlow({ flow: 'nsf', K: 2, bins: 5 });
  assert.match(nsf.name, /bins=5/);
  nsf.dispose();
  // the two autoregressive splines: θ from the data side (fast density) or the base side (fast sampling)
  for (const [name, label, side, fast] of [
    ['nsf-ar', 'spline-ar', 'data', 'density'],
    ['nsf-iaf', 'spline-iaf', 'base', 'sample'],
  ] as const) {
    const f = makeFlow({ flow: name, K: 2, bins: 5 }) as SplineAutoregressiveFlow;
    assert.match(f.name, new RegExp(`^${label}\\(K=2, bins=5, H=32\\)$`));
    assert.equal(f.conditionedOn, side);
    assert.equal(FLOW_FAST_DIRECTION[name], fast);
    f.dispose();
  }
  assert.throws(() => makeFlow({ flow: 'nsf', K: 2, bins: 1 }), /bins must be an integer >= 2, got 1/);
  assert.throws(
    () => makeFlow({ flow: 'realnvp', K: 2 }),
    /flow must be one of planar, sylvester, coupling, maf, iaf, nsf/,
  );
});

test('makeFlow density flows invert their forward pass: f⁻¹(f(z)) = z and the log-dets cancel', () => {
  const z = tf.randomNormal([16, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
  for (const name of DENSITY_FLOW_NAMES) {
    const flow = makeFlow({ flow: name, K: 2, dim: 2, hidden: 8, seed: 2 });
    const fwd = flow.forward(z);
    const back = flow.inverseWithLogDet(fwd.z);
    const err = tf.max(tf.abs(tf.sub(back.z, z))).dataSync()[0]!;
    const detErr = tf.max(tf.abs(tf.add(fwd.logDetJ, back.logDetJ))).dataSync()[0]!;
    assert.ok(err < 1e-4, `${name}: |f⁻¹(f(z)) - z| = ${err}`);
    assert.ok(detErr < 1e-4, `${name}: log-dets differ by ${detErr}`);
    flow.dispose();
  }
});
