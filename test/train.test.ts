import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  train,
  PlanarFlow,
  getTarget,
  evaluate,
  StopSignal,
  stopOnInterrupt,
  learningRate,
  StandardNormal,
  Rng,
  fillLatticeNormal,
  BASE_SAMPLINGS,
  M_MARGIN,
  type Flow,
  type FlowOutput,
  type GradientInfo,
  type Target,
} from '../src';
import '../src/kernels';
import { U } from './oracle';
import { randomizeFlow } from './flows-helpers';

test('training planar K=8 on U1 for 2000 steps lowers the loss and reaches KL gap < 0.5', async () => {
  const flow = new PlanarFlow({ K: 8, seed: 0 });
  const target = getTarget('U1');
  const h = await train(flow, target, { steps: 2000, batch: 256, lr: 1e-2, seed: 0, lrSchedule: 'cosine' });
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.equal(h.stepsDone, 2000);
  assert.equal(h.stoppedReason, null);
  assert.ok(mean(h.loss.slice(-200)) < mean(h.loss.slice(0, 50)) - 1, 'loss must drop');
  const d = evaluate(flow, target, { samples: 20000 });
  assert.ok(d.klGap! < 0.5, `KL gap ${d.klGap}`);
  assert.ok(d.klGap! > -0.05, `KL gap cannot be (much) negative: ${d.klGap}`);
  flow.dispose();
});

test('a stop signal stops at the next chunk boundary and leaks nothing', async () => {
  const flow = new PlanarFlow({ K: 4, seed: 1 });
  const before = tf.memory().numTensors;
  const stop = new StopSignal();
  const h = await train(flow, getTarget('U2'), {
    steps: 1000,
    batch: 64,
    chunkSize: 25,
    stop,
    onChunk: ({ step }) => {
      if (step >= 50) stop.stop('test');
    },
  });
  assert.equal(h.stepsDone, 50);
  assert.equal(h.stoppedReason, 'test');
  assert.equal(tf.memory().numTensors, before);
  // the engine is still usable: train again
  stop.reset();
  const h2 = await train(flow, getTarget('U2'), { steps: 30, batch: 64, stop });
  assert.equal(h2.stepsDone, 30);
  flow.dispose();
});

test('SIGINT through stopOnInterrupt stops training cleanly instead of killing the process', async () => {
  const flow = new PlanarFlow({ K: 2, seed: 2 });
  const stop = stopOnInterrupt();
  try {
    const h = await train(flow, getTarget('U1'), {
      steps: 1000,
      batch: 32,
      chunkSize: 10,
      stop,
      onChunk: ({ step }) => {
        if (step === 20) process.kill(process.pid, 'SIGINT');
      },
    });
    assert.ok(h.stepsDone >= 20 && h.stepsDone <= 40, `stopped after ${h.stepsDone}`);
    assert.equal(h.stoppedReason, 'interrupted (SIGINT)');
  } finally {
    stop.dispose();
  }
  flow.dispose();
});

test('no tensor leaks: the count after 1000 steps equals the count after 10', async () => {
  const flow = new PlanarFlow({ K: 2, seed: 3 });
  const target = getTarget('U1');
  await train(flow, target, { steps: 10, batch: 32 });
  const after10 = tf.memory().numTensors;
  await train(flow, target, { steps: 1000, batch: 32, anneal: true, lrSchedule: 'cosine' });
  assert.equal(tf.memory().numTensors, after10);
  flow.dispose();
});

test('the same seed gives the same losses', async () => {
  const run = async (): Promise<number[]> => {
    const flow = new PlanarFlow({ K: 3, seed: 4 });
    const h = await train(flow, getTarget('U3'), { steps: 40, batch: 64, seed: 9 });
    flow.dispose();
    return h.loss;
  };
  assert.deepEqual(await run(), await run());
});

test('annealing and schedules show up in the history', async () => {
  const flow = new PlanarFlow({ K: 2 });
  const h = await train(flow, getTarget('U1'), { steps: 100, batch: 16, anneal: 50, lr: 1e-3, lrSchedule: 'cosine' });
  assert.equal(h.beta[0], 0.01);
  assert.equal(h.beta[99], 1);
  assert.ok(Math.abs(h.lr[0]! - 1e-3) < 1e-12);
  assert.ok(h.lr[99]! < 2e-5);
  assert.ok(Math.abs(learningRate(50, 100, 1, 'cosine', 0) - 0.5) < 1e-12);
  flow.dispose();
});

test('bad training options get errors naming the parameter', async () => {
  const flow = new PlanarFlow({ K: 2 });
  const t = getTarget('U1');
  await assert.rejects(train(flow, t, { steps: 0 }), /steps must be an integer >= 1, got 0/);
  await assert.rejects(train(flow, t, { batch: -3 }), /batch must be an integer >= 1, got -3/);
  await assert.rejects(train(flow, t, { lr: NaN }), /lr must be a finite number, got NaN/);
  await assert.rejects(train(flow, t, { lr: -1 }), /lr must be > 0, got -1/);
  await assert.rejects(
    train(flow, t, { seed: Infinity }),
    /seed must be an integer in \[0, 4294967295\], got Infinity/,
  );
  await assert.rejects(train(flow, t, { anneal: -5 }), /anneal must be true, false or a number of steps >= 0/);
  await assert.rejects(train(flow, t, { chunkSize: 0 }), /chunkSize must be an integer >= 1/);
  await assert.rejects(train(flow, t, { path: 'gpu' as never }), /path must be one of fused, reference; got "gpu"/);
  await assert.rejects(
    train(flow, t, { lrSchedule: 'plateau' as never }),
    /lrSchedule must be one of constant, cosine/,
  );
  await assert.rejects(train(flow, t, { sampling: 'qmc' as never }), /sampling must be one of mc, rqmc; got "qmc"/);
  await assert.rejects(train(new PlanarFlow({ dim: 3 }), t, {}), /target has dim 2 but the flow has dim 3/);
  flow.dispose();
});

/** Mean F = log q0(z0) - Σ log|1 + h'(w_kᵀz + b_k) w_kᵀû_k| + U1(z_K) of a planar stack, float64, û from raw u. */
function planarLossF64(u: Float64Array, w: Float64Array, b: Float64Array, z0: number[][]): number {
  const K = b.length;
  let sum = 0;
  for (const x of z0) {
    let z = [...x];
    let logDet = 0;
    for (let k = 0; k < K; k++) {
      const wk = [w[2 * k]!, w[2 * k + 1]!];
      const uk = [u[2 * k]!, u[2 * k + 1]!];
      const wu = wk[0]! * uk[0]! + wk[1]! * uk[1]!;
      const m = -1 + Math.log1p(Math.exp(wu)) + M_MARGIN;
      const n2 = wk[0]! ** 2 + wk[1]! ** 2;
      const uHat = uk.map((ui, d) => ui + ((m - wu) * wk[d]!) / n2);
      const t = Math.tanh(wk[0]! * z[0]! + wk[1]! * z[1]! + b[k]!);
      logDet += Math.log(Math.abs(1 + (1 - t * t) * (wk[0]! * uHat[0]! + wk[1]! * uHat[1]!)));
      z = z.map((zi, d) => zi + uHat[d]! * t);
    }
    sum += -0.5 * (x[0]! ** 2 + x[1]! ** 2) - Math.log(2 * Math.PI) - logDet + U.U1(z[0]!, z[1]!);
  }
  return sum / z0.length;
}

test("onGradients: the first step's loss and gradients equal a float64 oracle on the base samples of the seed, on both paths and with both samplings, and are the ones Adam applies", async () => {
  const target = getTarget('U1');
  const [batch, seed, lr] = [64, 11, 1e-2];
  // the samples train draws first: N(0, I) draws, or the seed's shifted lattice
  const lattice = fillLatticeNormal(new Rng(seed), new Float64Array(batch * 2), batch, 2);
  const draws = {
    mc: new StandardNormal(2).sample(batch, seed).arraySync(),
    rqmc: Array.from({ length: batch }, (_, i) => [lattice[2 * i]!, lattice[2 * i + 1]!]),
  };
  const cases = (['fused', 'reference'] as const).flatMap((path) =>
    BASE_SAMPLINGS.map((sampling) => ({ path, sampling })),
  );
  for (const { path, sampling } of cases) {
    const z0 = draws[sampling];
    const flow = new PlanarFlow({ K: 3, seed: 3 });
    randomizeFlow(flow, 4, 0.7);
    const theta0 = flow.variables.map((v) => Float64Array.from(v.dataSync()));
    const [u, w, b] = theta0 as [Float64Array, Float64Array, Float64Array];
    const seen: GradientInfo[] = [];
    const h = await train(flow, target, {
      steps: 2,
      batch,
      seed,
      lr,
      path,
      sampling,
      onGradients: (g) => seen.push(g),
    });
    assert.deepEqual(
      seen.map((g) => g.step),
      [0, 1],
    );
    assert.equal(h.path, path, 'a PlanarFlow trains on the path asked for (its kernel is registered)');
    assert.equal(seen[0]!.loss, h.loss[0]);
    const oracle = planarLossF64(u, w, b, z0);
    assert.ok(
      Math.abs(seen[0]!.loss - oracle) < 1e-5 * (1 + Math.abs(oracle)),
      `${path}: loss ${seen[0]!.loss} vs ${oracle}`,
    );
    theta0.forEach((x, i) => {
      for (let j = 0; j < x.length; j++) {
        const x0 = x[j]!;
        x[j] = x0 + 1e-6;
        const lp = planarLossF64(u, w, b, z0);
        x[j] = x0 - 1e-6;
        const lm = planarLossF64(u, w, b, z0);
        x[j] = x0;
        const fd = (lp - lm) / 2e-6;
        const g = seen[0]!.grads[i]![j]!;
        assert.ok(Math.abs(g - fd) < 1e-4 * (1 + Math.abs(fd)), `${path}: grad ${i}[${j}] ${g} vs fd ${fd}`);
      }
    });
    flow.dispose();
  }
});

test("onGradients: the reported gradients are the ones applied (Adam's first step is θ - lr·g/(|g| + ε))", async () => {
  const flow = new PlanarFlow({ K: 2, seed: 5 });
  randomizeFlow(flow, 6, 0.7);
  const theta0 = flow.variables.map((v) => Float64Array.from(v.dataSync()));
  let grads: Float32Array[] = [];
  await train(flow, getTarget('U1'), {
    steps: 1,
    batch: 32,
    lr: 1e-2,
    onGradients: (g) => {
      grads = g.grads;
    },
  });
  flow.variables.forEach((v, i) => {
    const after = v.dataSync();
    for (let j = 0; j < after.length; j++) {
      const g = grads[i]![j]!;
      const expected = theta0[i]![j]! - (1e-2 * g) / (Math.abs(g) + 1e-7);
      assert.ok(Math.abs(after[j]! - expected) < 1e-6, `variable ${i}[${j}]: ${after[j]} vs ${expected}`);
    }
  });
  flow.dispose();
});

/** A user-written flow with only `forward`: z ↦ μ + exp(s) ⊙ z (log|det J| = Σ s). */
class AffineFlow implements Flow {
  readonly name = 'affine';
  readonly dim = 2;
  readonly mu = tf.variable(tf.zeros([2]) as tf.Tensor1D);
  readonly s = tf.variable(tf.zeros([2]) as tf.Tensor1D);
  get variables(): tf.Variable[] {
    return [this.mu, this.s];
  }
  forward(z: tf.Tensor2D): FlowOutput {
    return tf.tidy(() => ({
      z: tf.add(this.mu, tf.mul(tf.exp(this.s), z)) as tf.Tensor2D, // [N, 2]
      logDetJ: tf.mul(tf.ones([z.shape[0]]), tf.sum(this.s)) as tf.Tensor1D, // [N]
    }));
  }
  dispose(): void {
    this.mu.dispose();
    this.s.dispose();
  }
}

test('a flow class written by a user (forward only) trains with train(): it finds the Gaussian target exactly', async () => {
  // target N((1, -2), diag(0.5², 2²)), unnormalised: the reverse-KL optimum is μ = mean, exp(s) = σ.
  const mean = [1, -2],
    sd = [0.5, 2];
  const target: Target = {
    name: 'gauss',
    dim: 2,
    logProb: (z) => tf.tidy(() => tf.mul(-0.5, tf.sum(tf.square(tf.div(tf.sub(z, mean), sd)), 1)) as tf.Tensor1D),
  };
  const flow = new AffineFlow();
  const h = await train(flow, target, { steps: 1500, batch: 256, lr: 2e-2, lrSchedule: 'cosine', seed: 1 });
  assert.equal(h.stepsDone, 1500);
  assert.equal(h.path, 'reference'); // no fused op: trained on the tfjs tape through forward
  const mu = flow.mu.arraySync(),
    sigma = flow.s.arraySync().map(Math.exp);
  for (let d = 0; d < 2; d++) {
    assert.ok(Math.abs(mu[d]! - mean[d]!) < 0.05 * sd[d]!, `μ${d} = ${mu[d]}, want ${mean[d]}`);
    assert.ok(Math.abs(sigma[d]! / sd[d]! - 1) < 0.05, `σ${d} = ${sigma[d]}, want ${sd[d]}`);
  }
  flow.dispose();
});
