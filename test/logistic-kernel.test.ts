/**
 * The registered kernel of the logistic posterior (src/kernels/logistic.ts) against the target's
 * own tfjs logProb, tfjs autodiff of it, and float64 central finite differences of logProb64.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { logisticPosterior, type LogisticPosterior } from '../src/targets/logistic';
import { targetKernelOf } from '../src/targets/kernel';
import { signedDesignRows, softplusTable } from '../src/kernels/logistic';

/** A posterior on N random rows with P features (+ intercept: D = P + 1). */
function randomPosterior(seed: number, N: number, P: number): LogisticPosterior {
  const rng = new Rng(seed);
  const X = Array.from({ length: N }, () => Array.from({ length: P }, () => rng.normal()));
  const y = X.map((x) => (x[0]! + rng.normal() > 0 ? 1 : 0));
  return logisticPosterior({ X, y, priorStd: 3 });
}

/** n random θ: [n, D] (scale 2), then rows far in the tails (|θ| = 40). */
function randomThetas(seed: number, n: number, D: number): Float32Array {
  const rng = new Rng(seed);
  const theta = new Float32Array((n + 2) * D);
  for (let i = 0; i < n * D; i++) theta[i] = 2 * rng.normal();
  for (let d = 0; d < D; d++) {
    theta[n * D + d] = d % 2 === 0 ? 40 : -40;
    theta[(n + 1) * D + d] = -40;
  }
  return theta;
}

for (const P of [1, 4]) {
  const D = P + 1;
  test(`logistic kernel, D = ${D}: value = logProb, gradient = tfjs autodiff and float64 finite differences`, () => {
    const target = randomPosterior(10 + D, 60, P);
    assert.equal(target.dim, D);
    assert.equal(target.spec.kind, 'logistic');
    const kernel = targetKernelOf(target);
    assert.ok(kernel, 'a kernel is registered for kind logistic');
    assert.equal(targetKernelOf(target), kernel, 'built once per spec');
    const theta = randomThetas(20 + D, 32, D);
    const n = theta.length / D;
    const logp = new Float32Array(n);
    const grad = new Float32Array(n * D);
    kernel(theta, n, logp, grad);

    const before = tf.memory().numTensors;
    const [lib, ad] = tf.tidy(() => {
      const t = tf.tensor2d(theta, [n, D]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(target.logProb(x as tf.Tensor2D)))(t);
      return [target.logProb(t).dataSync(), g.dataSync()];
    });
    assert.equal(tf.memory().numTensors, before);

    for (let i = 0; i < n; i++) {
      const row = theta.subarray(i * D, (i + 1) * D);
      const want64 = target.logProb64(row);
      assert.ok(Number.isFinite(logp[i]!), `logp[${i}] = ${logp[i]}`);
      assert.ok(
        Math.abs(logp[i]! - lib[i]!) <= 1e-5 * Math.abs(lib[i]!),
        `θ_${i}: kernel ${logp[i]} vs logProb ${lib[i]}`,
      );
      assert.ok(
        Math.abs(logp[i]! - want64) <= 1e-6 * Math.abs(want64),
        `θ_${i}: kernel ${logp[i]} vs float64 ${want64}`,
      );
      let gmax = 0;
      for (let d = 0; d < D; d++) gmax = Math.max(gmax, Math.abs(ad[i * D + d]!));
      for (let d = 0; d < D; d++) {
        const k = i * D + d;
        assert.ok(
          Math.abs(grad[k]! - ad[k]!) <= 1e-4 * Math.max(1, gmax),
          `∂/∂θ_${i},${d}: kernel ${grad[k]} vs autodiff ${ad[k]}`,
        );
        // float64 central difference of the float64 logProb64 at the same (float32) θ
        const h = 1e-5;
        const p = Float64Array.from(row);
        const m = Float64Array.from(row);
        p[d]! += h;
        m[d]! -= h;
        const fd = (target.logProb64(p) - target.logProb64(m)) / (2 * h);
        assert.ok(
          Math.abs(grad[k]! - fd) <= 1e-5 * Math.max(1, Math.abs(fd)),
          `∂/∂θ_${i},${d}: kernel ${grad[k]} vs finite difference ${fd}`,
        );
      }
    }

    // values only (grad = null) give the same log p̃
    const logp2 = new Float32Array(n);
    kernel(theta, n, logp2, null);
    assert.deepEqual(logp2, logp);
    target.dispose();
  });
}

test('a target without a spec has no kernel', () => {
  assert.equal(targetKernelOf({}), undefined);
  assert.equal(targetKernelOf({ spec: { kind: 'no-such-kind' } }), undefined);
});

test('the softplus table: f(u) = log1p(e^-u) to 1e-10 and f′(u) = -σ(-u) to 1e-9 on [0, 50]', () => {
  const c = softplusTable();
  const STEPS = 8; // knots per unit, as in the kernel
  let errF = 0;
  let errD = 0;
  for (let i = 0; i <= 500000; i++) {
    const u = i * 1e-4;
    const k = Math.floor(u * STEPS);
    let f = 0;
    let fp = 0;
    if (6 * k + 5 < c.length) {
      const t = u * STEPS - k;
      const o = 6 * k;
      f = c[o]! + t * (c[o + 1]! + t * (c[o + 2]! + t * (c[o + 3]! + t * (c[o + 4]! + t * c[o + 5]!))));
      fp = STEPS * (c[o + 1]! + t * (2 * c[o + 2]! + t * (3 * c[o + 3]! + t * (4 * c[o + 4]! + t * 5 * c[o + 5]!))));
    }
    const e = Math.exp(-u);
    errF = Math.max(errF, Math.abs(f - Math.log1p(e)));
    errD = Math.max(errD, Math.abs(fp + e / (1 + e)));
  }
  assert.ok(errF < 1e-10, `value error ${errF}`);
  assert.ok(errD < 1e-9, `derivative error ${errD}`);
});

test('signed design rows: duplicates merged with their counts, every row kept', () => {
  const post = logisticPosterior({ X: [[1], [1], [2], [1], [2]], y: [1, 1, 0, 0, 0], priorStd: 1 });
  const { A, count, J } = signedDesignRows(post.spec);
  // rows (1, 1)·(+1) twice, (1, 2)·(−1) twice, (1, 1)·(−1) once: three distinct signed rows
  assert.equal(J, 3);
  assert.deepEqual([...count], [2, 2, 1]);
  assert.deepEqual([...A], [1, 1, -1, -2, -1, -1]);
  // the kernel on the merged rows equals the plain sum over all five rows, in float64
  const theta = new Float32Array([0.3, -1.2, 2, 0.5]);
  const logp = new Float32Array(2);
  const grad = new Float32Array(4);
  targetKernelOf(post)!(theta, 2, logp, grad);
  for (let i = 0; i < 2; i++) {
    const th = [theta[2 * i]!, theta[2 * i + 1]!];
    let s = -Math.log(2 * Math.PI) - 0.5 * (th[0]! ** 2 + th[1]! ** 2);
    const g = [-th[0]!, -th[1]!];
    for (const [x, y] of [
      [1, 1],
      [1, 1],
      [2, 0],
      [1, 0],
      [2, 0],
    ] as const) {
      const a = (y === 1 ? 1 : -1) * (th[0]! + x * th[1]!);
      s += -Math.log1p(Math.exp(-a));
      const sig = 1 / (1 + Math.exp(a)); // σ(−a)
      g[0]! += sig * (y === 1 ? 1 : -1);
      g[1]! += sig * (y === 1 ? 1 : -1) * x;
    }
    assert.ok(Math.abs(logp[i]! - s) < 1e-5 * Math.max(1, Math.abs(s)), `logp ${logp[i]} vs ${s}`);
    for (let d = 0; d < 2; d++)
      assert.ok(Math.abs(grad[2 * i + d]! - g[d]!) < 1e-5, `grad ${grad[2 * i + d]} vs ${g[d]}`);
  }
});
