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
import '../src/kernels/logistic';

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
