import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, PlanarFlow, planarUHat, Rng, M_MARGIN } from '../src';
import { jacobianFD, logAbsDet, planarMap } from './oracle';
import { planarParams, randomizeFlow } from './flows-helpers';

test('planar: forward equals the float64 oracle and log|det J| equals log|det| of the FD Jacobian', () => {
  for (const [D, K, seed] of [
    [2, 1, 1],
    [2, 8, 2],
    [3, 5, 3],
    [5, 4, 4],
  ] as const) {
    const f = new PlanarFlow({ dim: D, K, seed });
    randomizeFlow(f, seed + 100, 0.8);
    const p = planarParams(f);
    const map = planarMap(p.uHat, p.w, p.b);
    const rng = new Rng(seed);
    const xs = Array.from({ length: 6 }, () => Array.from({ length: D }, () => rng.normal() * 1.5));
    const { z, logDetJ } = f.forward(tf.tensor2d(xs));
    const zs = z.arraySync();
    const ld = logDetJ.arraySync();
    xs.forEach((x, i) => {
      const want = map(x);
      want.forEach((v, d) => assert.ok(Math.abs(zs[i]![d]! - v) < 1e-4 * Math.max(1, Math.abs(v)), `z D=${D} K=${K}`));
      const ldWant = logAbsDet(jacobianFD(map, x));
      assert.ok(
        Math.abs(ld[i]! - ldWant) < 2e-4 * Math.max(1, Math.abs(ldWant)),
        `logdet D=${D} K=${K}: ${ld[i]} vs ${ldWant}`,
      );
    });
    tf.dispose([z, logDetJ]);
    f.dispose();
  }
});

test('planar: wᵀû > -1 for adversarial u and w', () => {
  const cases: [number[], number[]][] = [
    [
      [-100, -100],
      [1, 1],
    ],
    [
      [1e4, -3],
      [-1e-3, 2e-3],
    ],
    [
      [-5, 0],
      [1e3, 0],
    ],
    [
      [0, 0],
      [1, 0],
    ],
    [
      [-1, 1e-6],
      [1, 1e-6],
    ],
  ];
  for (const [u, w] of cases) {
    const uh = planarUHat(tf.tensor2d([u]), tf.tensor2d([w]));
    const wu = tf.sum(tf.mul(tf.tensor2d([w]), uh)).dataSync()[0]!;
    assert.ok(wu > -1, `wᵀû = ${wu} for u=${u}, w=${w}`);
  }
});

test('planar: û divides by ‖w‖² (not ‖w‖): wᵀû = m(wᵀu) exactly', () => {
  const u = [0.3, -2.0];
  const w = [3.0, 0.5];
  const wu = u[0]! * w[0]! + u[1]! * w[1]!;
  const m = -1 + M_MARGIN + Math.log1p(Math.exp(wu));
  const uh = planarUHat(tf.tensor2d([u]), tf.tensor2d([w])).arraySync()[0]!;
  assert.ok(Math.abs(uh[0]! * w[0]! + uh[1]! * w[1]! - m) < 1e-5);
});

test('planar: initialisation is near the identity (exactly with initScale 0)', () => {
  const f = new PlanarFlow({ K: 16, seed: 3, initScale: 0 });
  const z = tf.tensor2d([
    [0.5, -1],
    [2, 3],
  ]);
  const out = f.forward(z);
  assert.ok(tf.max(tf.abs(tf.sub(out.z, z))).dataSync()[0]! < 1e-5);
  assert.ok(tf.max(tf.abs(out.logDetJ)).dataSync()[0]! < 1e-5);
  f.dispose();
});

test('planar: inverse(forward(z)) = z and the seed fixes the parameters', () => {
  const f = new PlanarFlow({ K: 8, seed: 5 });
  randomizeFlow(f, 9, 1);
  const z = new Rng(2).normalTensor(50, 2);
  const back = f.inverse(f.forward(z).z);
  assert.ok(tf.max(tf.abs(tf.sub(back, z))).dataSync()[0]! < 1e-4);
  const a = new PlanarFlow({ K: 4, seed: 7 });
  const b = new PlanarFlow({ K: 4, seed: 7 });
  assert.deepEqual(a.u.arraySync(), b.u.arraySync());
  f.dispose();
  a.dispose();
  b.dispose();
});

test('planar: inverse converges on a steep layer where plain Newton cycles (wᵀû = 10.3, ‖w‖ = 5.3)', () => {
  // The first layer of a trained K = 2 flow on U1: it tears the plane apart along wᵀz = 0. At
  // y = (-1.16, -0.12) Newton on g(α) = α + wᵀû tanh(α + b) jumped between α ≈ -1.39 and 4.63.
  const w = [-5.193, 0.8768],
    uHat = [-1.9409, 0.27153],
    b = -0.013245;
  const n2 = w[0]! ** 2 + w[1]! ** 2;
  const wuHat = w[0]! * uHat[0]! + w[1]! * uHat[1]!;
  const wu = Math.log(Math.exp(1 + wuHat - M_MARGIN) - 1); // m(wᵀu) = wᵀû
  const f = new PlanarFlow({ K: 1, seed: 0 });
  f.u.assign(tf.tensor2d([[uHat[0]! + ((wu - wuHat) * w[0]!) / n2, uHat[1]! + ((wu - wuHat) * w[1]!) / n2]]));
  f.w.assign(tf.tensor2d([w]));
  f.b.assign(tf.tensor1d([b]));
  const pts: number[] = [];
  for (let j = 0; j < 100; j++) for (let i = 0; i < 100; i++) pts.push(-4 + 0.08 * i + 0.04, -4 + 0.08 * j + 0.04);
  const y = tf.tensor2d(pts, [pts.length / 2, 2]);
  const back = f.forward(f.inverse(y)).z; // f(f⁻¹(y)) = y, against the float64 oracle map too
  assert.ok(tf.max(tf.abs(tf.sub(back, y))).dataSync()[0]! < 1e-4);
  const map = planarMap([uHat], [w], [b]);
  const z = f.inverse(tf.tensor2d([[-1.16, -0.12]])).arraySync()[0]!;
  const fz = map(z);
  assert.ok(Math.hypot(fz[0]! + 1.16, fz[1]! + 0.12) < 1e-4, `f(f⁻¹(y)) = ${fz}`);
  f.dispose();
});

test('planar: bad options name the parameter', () => {
  assert.throws(() => new PlanarFlow({ K: 0 }), /K must be an integer >= 1, got 0/);
  assert.throws(() => new PlanarFlow({ K: 2.5 }), /K must be an integer >= 1/);
  assert.throws(() => new PlanarFlow({ dim: 0 }), /dim must be an integer >= 1/);
  assert.throws(() => new PlanarFlow({ seed: NaN }), /seed must be an integer in \[0, 4294967295\], got NaN/);
  const f = new PlanarFlow({ K: 2 });
  assert.throws(() => f.forward(tf.zeros([3, 3]) as tf.Tensor2D), /z must have 2 columns/);
  assert.throws(() => f.forward(tf.zeros([3]) as unknown as tf.Tensor2D), /z must be a rank-2 tensor/);
  f.dispose();
});

test('planar: forward leaks no tensors', () => {
  const f = new PlanarFlow({ K: 4 });
  const z = tf.zeros([8, 2]) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const out = f.forward(z);
  tf.dispose([out.z, out.logDetJ]);
  assert.equal(tf.memory().numTensors, before);
  f.dispose();
  z.dispose();
});
