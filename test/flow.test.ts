import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, compose, PlanarFlow, SylvesterFlow, Rng, numParams, makeFlow } from '../src';
import { randomizeFlow } from './flows-helpers';

test('a composition is a flow: points chain and log-dets add up', () => {
  const a = new PlanarFlow({ K: 3, seed: 1 });
  const b = new SylvesterFlow({ K: 2, seed: 2, variant: 'householder' });
  randomizeFlow(a, 3, 0.8);
  randomizeFlow(b, 4, 0.8);
  const c = compose(a, b);
  const z = new Rng(5).normalTensor(30, 2);
  const oa = a.forward(z);
  const ob = b.forward(oa.z);
  const oc = c.forward(z);
  assert.ok(tf.max(tf.abs(tf.sub(oc.z, ob.z))).dataSync()[0]! < 1e-6);
  assert.ok(tf.max(tf.abs(tf.sub(oc.logDetJ, tf.add(oa.logDetJ, ob.logDetJ)))).dataSync()[0]! < 1e-5);
  assert.equal(c.variables.length, a.variables.length + b.variables.length);
  assert.equal(numParams(c), numParams(a) + numParams(b));
  assert.equal(c.inverse, undefined, 'Sylvester has no inverse, so neither has the composition');
  c.dispose();
});

test('a composition of invertible flows inverts', () => {
  const a = new PlanarFlow({ K: 2, seed: 1 });
  const b = new PlanarFlow({ K: 3, seed: 2 });
  randomizeFlow(a, 6);
  randomizeFlow(b, 7);
  const c = compose(a, b);
  const z = new Rng(1).normalTensor(20, 2);
  const back = c.inverse!(c.forward(z).z);
  assert.ok(tf.max(tf.abs(tf.sub(back, z))).dataSync()[0]! < 1e-4);
  c.dispose();
});

test('composition and factory reject bad input', () => {
  assert.throws(() => compose(), /flows must be a non-empty array/);
  assert.throws(
    () => compose(new PlanarFlow({ dim: 2 }), new PlanarFlow({ dim: 3 })),
    /flows\[1\] has dim 3, expected 2/,
  );
  assert.throws(
    () => makeFlow({ flow: 'radial', K: 2 }),
    /flow must be one of planar, sylvester, coupling, maf, iaf, nsf, nsf-ar, nsf-iaf; got "radial"/,
  );
  assert.throws(() => makeFlow({ flow: 'sylvester', K: 2, variant: 'qr' }), /variant must be one of/);
  assert.throws(() => makeFlow({ flow: 'sylvester', K: 2, M: 3 }), /M must be <= D/);
  assert.equal(makeFlow({ flow: 'planar', K: 4 }).name, 'planar(K=4)');
});

test('constructing and disposing any flow leaves no tensor behind', () => {
  const before = tf.memory().numTensors;
  new PlanarFlow({ K: 3 }).dispose();
  for (const variant of ['orthogonal', 'householder', 'triangular'] as const)
    new SylvesterFlow({ K: 3, variant }).dispose();
  assert.equal(tf.memory().numTensors, before);
});
