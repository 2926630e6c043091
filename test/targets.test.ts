import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, getTarget, asTarget, quadratureLogZ, TARGET_NAMES, Rng, KNOWN_LOG_Z } from '../src/index';
import { U, envelope } from './oracle';

const names = TARGET_NAMES;

test('U1-U4 equal the float64 oracle on random points (with and without envelope)', () => {
  const rng = new Rng(1);
  const n = 500;
  const pts = Array.from({ length: n }, () => [rng.normal() * 3, rng.normal() * 3] as [number, number]);
  for (const name of names) {
    for (const env of [false, true]) {
      const t = getTarget(name, { envelope: env });
      const lp = tf.tidy(() => t.logProb(tf.tensor2d(pts))).arraySync() as number[];
      pts.forEach(([a, b], i) => {
        const want = -(U[name](a, b) + (env && name !== 'U1' ? envelope(a, b) : 0));
        assert.ok(Math.abs(lp[i]! - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${name} env=${env} at (${a}, ${b}): ${lp[i]} vs ${want}`);
      });
    }
  }
});

test('targets stay finite with finite gradients far away (|z| = 50) and at the origin', () => {
  const far: [number, number][] = [[50, 0], [0, 50], [-50, 0], [0, -50], [35.3, -35.3], [0, 7], [0, 0]];
  for (const name of names) {
    const t = getTarget(name);
    const z = tf.tensor2d(far);
    const lp = t.logProb(z).arraySync() as number[];
    const g = tf.grad((x: tf.Tensor) => tf.sum(t.logProb(x as tf.Tensor2D)))(z).arraySync() as number[][];
    lp.forEach((v, i) => {
      assert.ok(Number.isFinite(v), `${name} logProb at ${far[i]} = ${v}`);
      const want = -(U[name](...far[i]!) + (name !== 'U1' ? envelope(...far[i]!) : 0));
      assert.ok(Math.abs(v - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${name} at ${far[i]}: ${v} vs ${want}`);
    });
    g.flat().forEach((v) => assert.ok(Number.isFinite(v), `${name} gradient not finite: ${v}`));
    z.dispose();
  }
});

test('gradient of U1 matches central finite differences of the float64 oracle', () => {
  const t = getTarget('U1');
  const pts: [number, number][] = [[1.3, -0.7], [-2.1, 0.4], [0.2, 2.5]];
  const g = tf.grad((x: tf.Tensor) => tf.sum(t.logProb(x as tf.Tensor2D)))(tf.tensor2d(pts)).arraySync() as number[][];
  const h = 1e-6;
  pts.forEach(([a, b], i) => {
    const d1 = -(U.U1(a + h, b) - U.U1(a - h, b)) / (2 * h);
    const d2 = -(U.U1(a, b + h) - U.U1(a, b - h)) / (2 * h);
    assert.ok(Math.abs(g[i]![0]! - d1) < 1e-3 * Math.max(1, Math.abs(d1)));
    assert.ok(Math.abs(g[i]![1]! - d2) < 1e-3 * Math.max(1, Math.abs(d2)));
  });
});

test('quadrature log Z: U1 = 1.8775 and U3 + envelope = 3.4097 (±1e-3)', () => {
  const u1 = quadratureLogZ(getTarget('U1').logProb, { xlim: [-6, 6], ylim: [-6, 6], nx: 400, ny: 400 });
  assert.ok(Math.abs(u1 - 1.8775) < 1e-3, `U1 log Z ${u1}`);
  const u3 = quadratureLogZ(getTarget('U3').logProb, { xlim: [-24, 24], ylim: [-10, 10], nx: 1600, ny: 700 });
  assert.ok(Math.abs(u3 - 3.4097) < 1e-3, `U3+envelope log Z ${u3}`);
});

test('known log Z: U1 always, U2-U4 only with the envelope', () => {
  assert.equal(getTarget('U1').logZ, KNOWN_LOG_Z.U1);
  assert.equal(getTarget('U2').logZ, KNOWN_LOG_Z['U2+envelope']);
  assert.equal(getTarget('U4', { envelope: false }).logZ, undefined);
  assert.equal(getTarget('U3', { envelope: false }).name, 'U3');
  assert.equal(getTarget('U3').name, 'U3+envelope');
});

test('a plain function is a target; bad targets are rejected', () => {
  const t = asTarget((z) => tf.neg(tf.sum(tf.square(z), 1)) as tf.Tensor1D, 3);
  assert.equal(t.dim, 3);
  assert.throws(() => getTarget('U9'), /target must be one of U1, U2, U3, U4; got "U9"/);
  assert.throws(() => asTarget(42 as never), /target must be a function/);
  assert.throws(() => getTarget('U1').logProb(tf.zeros([4, 3]) as tf.Tensor2D), /z must have 2 columns/);
  assert.throws(() => getTarget('U1').logProb(tf.zeros([4]) as unknown as tf.Tensor2D), /z must be a rank-2 tensor/);
});

test('targets leak no tensors', () => {
  const z = tf.randomNormal([16, 2]) as tf.Tensor2D;
  for (const name of names) getTarget(name).logProb(z).dispose();
  const before = tf.memory().numTensors;
  for (const name of names) getTarget(name).logProb(z).dispose();
  assert.equal(tf.memory().numTensors, before);
  z.dispose();
});
