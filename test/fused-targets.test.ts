/**
 * The plain-JS target kernels against the tfjs targets: values and gradients of log p̃ for
 * U1..U4 with every domain (window, normflows, none), near and far (|z| = 50), and against the
 * float64 oracle of test/oracle.ts; the fused loss equals the
 * reference loss; user targets without a kernel still train on the fused path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import '../src/kernels';
import { fusedLogProb } from '../src/kernels/ops';
import { energyKernel } from '../src/kernels/targets';
import { targetKernelOf } from '../src/targets/kernel';
import { freeEnergyTerms } from '../src/train/loss';
import { PlanarFlow } from '../src/flows/planar';
import { Rng } from '../src/core/random';
import { asTarget, DOMAIN_NAMES, getTarget, TARGET_NAMES } from '../src/targets/energies';
import { train } from '../src/train/train';
import { relErr, targetU } from './oracle';

/** Points: a cloud in [-4, 4]², the origin, and a ring of radius 50. */
function testPoints(): Float32Array {
  const rng = new Rng(3);
  const pts: number[] = [];
  for (let i = 0; i < 400; i++) pts.push(8 * rng.uniform() - 4, 8 * rng.uniform() - 4);
  pts.push(0, 0, 0, 7, 2, 0, -2, 0, 1, 1e-3);
  for (let i = 0; i < 16; i++) pts.push(50 * Math.cos((i * Math.PI) / 8), 50 * Math.sin((i * Math.PI) / 8));
  return Float32Array.from(pts);
}

test('fused targets: values and gradients equal the tfjs targets (U1..U4, every domain, |z| up to 50)', () => {
  const pts = testPoints();
  const n = pts.length / 2;
  for (const name of TARGET_NAMES) {
    for (const domain of DOMAIN_NAMES) {
      const t = getTarget(name, { domain });
      const kernel = targetKernelOf(t);
      assert.ok(kernel, `${t.name} has a kernel`);
      const z = tf.tensor2d(pts, [n, 2]);
      const before = tf.memory().numTensors;
      const ref = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.sum(t.logProb(x as tf.Tensor2D)))([z]);
        value.dispose();
        return [t.logProb(z).dataSync().slice(), grads[0]!.dataSync().slice()];
      });
      const fused = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.sum(fusedLogProb(kernel, x as tf.Tensor2D)))([
          z,
        ]);
        value.dispose();
        return [fusedLogProb(kernel, z).dataSync().slice(), grads[0]!.dataSync().slice()];
      });
      assert.equal(tf.memory().numTensors, before, `${t.name}: tensors leaked`);
      // Compare near points with a tight, far points with a float32-scale tolerance.
      const near = 2 * 405;
      assert.ok(relErr(fused[0]!.slice(0, near / 2), ref[0]!.slice(0, near / 2)) < 2e-5, `${t.name} values`);
      assert.ok(relErr(fused[1]!.slice(0, near), ref[1]!.slice(0, near)) < 2e-5, `${t.name} gradients`);
      assert.ok(relErr(fused[0]!.slice(near / 2), ref[0]!.slice(near / 2)) < 1e-4, `${t.name} far values`);
      assert.ok(relErr(fused[1]!.slice(near), ref[1]!.slice(near)) < 1e-3, `${t.name} far gradients`);
      z.dispose();
    }
  }
});

test('fused targets: value and gradient equal the float64 oracle and its central differences (default domain, |z| up to 50)', () => {
  const pts = testPoints();
  const n = pts.length / 2;
  const h = 1e-5;
  for (const name of TARGET_NAMES) {
    const t = getTarget(name);
    const domain = name === 'U1' ? 'none' : 'window';
    const logp = new Float32Array(n);
    const grad = new Float32Array(2 * n);
    targetKernelOf(t)!(pts, n, logp, grad);
    for (let i = 0; i < n; i++) {
      const a = pts[2 * i]!;
      const b = pts[2 * i + 1]!;
      const u = (x: number, y: number): number => targetU(name, domain, x, y);
      const want = -u(a, b);
      const d1 = -(u(a + h, b) - u(a - h, b)) / (2 * h);
      const d2 = -(u(a, b + h) - u(a, b - h)) / (2 * h);
      // float32 output of a float64 computation: relative 1e-6; finite differences 1e-5 plus
      // their float64 cancellation error ~ eps |U| / h (U ~ 1e9 at |z| = 50).
      const noise = (4 * Number.EPSILON * Math.abs(want)) / h;
      assert.ok(
        Math.abs(logp[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)),
        `${t.name} at (${a}, ${b}): ${logp[i]} vs ${want}`,
      );
      assert.ok(
        Math.abs(grad[2 * i]! - d1) <= 1e-5 * Math.max(1, Math.abs(d1)) + noise,
        `${t.name} ∂1 at (${a}, ${b}): ${grad[2 * i]} vs ${d1}`,
      );
      assert.ok(
        Math.abs(grad[2 * i + 1]! - d2) <= 1e-5 * Math.max(1, Math.abs(d2)) + noise,
        `${t.name} ∂2 at (${a}, ${b}): ${grad[2 * i + 1]} vs ${d2}`,
      );
    }
  }
});

test('fused targets: kernel gradient equals float64 central differences', () => {
  const rng = new Rng(9);
  for (const name of TARGET_NAMES) {
    const k = energyKernel(name, name === 'U1' ? 'none' : 'window');
    for (let i = 0; i < 20; i++) {
      const z = Float32Array.from([6 * rng.uniform() - 3, 6 * rng.uniform() - 3]);
      const lp = new Float32Array(1);
      const g = new Float32Array(2);
      k(z, 1, lp, g);
      // The kernel computes in float64 from float32 inputs: difference on a float64 copy.
      const f = (a: number, b: number): number => {
        const out = new Float32Array(1);
        k(Float64Array.from([a, b]) as unknown as Float32Array, 1, out, null);
        return out[0]!;
      };
      const h = 1e-2;
      for (let d = 0; d < 2; d++) {
        const zp = [z[0]!, z[1]!];
        const zm = [z[0]!, z[1]!];
        zp[d]! += h;
        zm[d]! -= h;
        // 4th-order central difference, robust to the float32 rounding of the output.
        const zp2 = [z[0]!, z[1]!];
        const zm2 = [z[0]!, z[1]!];
        zp2[d]! += 2 * h;
        zm2[d]! -= 2 * h;
        const fd =
          (8 * (f(zp[0]!, zp[1]!) - f(zm[0]!, zm[1]!)) - (f(zp2[0]!, zp2[1]!) - f(zm2[0]!, zm2[1]!))) / (12 * h);
        assert.ok(Math.abs(fd - g[d]!) < 2e-2 * (1 + Math.abs(fd)), `${name} d${d} at ${z}: fd ${fd} vs ${g[d]}`);
      }
    }
  }
});

test('fused targets: the fused loss path equals the reference path (values and variable gradients)', () => {
  const flow = new PlanarFlow({ K: 6, seed: 2, initScale: 0.5 });
  const z0 = new Rng(4).normalTensor(300, 2);
  for (const name of TARGET_NAMES) {
    const t = getTarget(name);
    const before = tf.memory().numTensors;
    const run = (path: 'fused' | 'reference') => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.tidy(() => {
            const { logQ, logP } = freeEnergyTerms(flow, t, z0, path);
            return tf.mean(tf.sub(logQ, logP)) as tf.Scalar;
          }),
        flow.variables,
      );
      const out = { loss: value.dataSync()[0]!, g: flow.variables.map((v) => grads[v.name]!.dataSync().slice()) };
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      return out;
    };
    const a = run('fused');
    const b = run('reference');
    assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * (1 + Math.abs(b.loss)), `${name}: loss ${a.loss} vs ${b.loss}`);
    a.g.forEach((g, i) => assert.ok(relErr(g, b.g[i]!) < 1e-3, `${name}: grad ${i} ${relErr(g, b.g[i]!)}`));
  }
  z0.dispose();
  flow.dispose();
});

test('fused targets: a user target without a kernel still trains on the fused path', async () => {
  const flow = new PlanarFlow({ K: 2, seed: 1 });
  const user = asTarget((z) => tf.tidy(() => tf.mul(-0.5, tf.sum(tf.square(tf.sub(z, 1)), 1)) as tf.Tensor1D));
  assert.equal(user.spec, undefined);
  assert.equal(targetKernelOf(user), undefined);
  const before = tf.memory().numTensors;
  const h = await train(flow, user, { steps: 30, batch: 32, lr: 1e-2, path: 'fused' });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(h.stepsDone, 30);
  assert.ok(h.loss.every(Number.isFinite));
  flow.dispose();
});
