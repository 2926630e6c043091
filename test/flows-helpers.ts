/** Helpers shared by the flow tests: random (non-identity) parameters and float64 read-outs. */
import assert from 'node:assert/strict';
import { tf } from '../src/core/backend';
import { type Flow, type FlowOutput } from '../src/flows/flow';
import type { InvertibleFlow } from '../src/flows/coupling';
import {
  logLikelihood,
  trainMaxLikelihood,
  type MaxLikelihoodHistory,
  type MaxLikelihoodOptions,
} from '../src/train/mle';
import { arrayKernelOf } from '../src/flows/kernel';
import { targetKernelOf } from '../src/targets/kernel';
import type { Target } from '../src/targets/target';
import { fusedTrainingStep } from '../src/kernels/ops';
import { freeEnergyTerms } from '../src/train/loss';
import { relErr } from './oracle';
import { forwardOn, hasFusedOp } from '../src/flows/compose';
import { Rng } from '../src/core/random';
import type { PlanarFlow } from '../src/flows/planar';
import type { SylvesterFlow } from '../src/flows/sylvester';

/** Overwrite every variable of a flow with N(0, scale²) draws (seeded). */
export function randomizeFlow(flow: { variables: tf.Variable[] }, seed: number, scale = 1): void {
  const rng = new Rng(seed);
  for (const v of flow.variables) {
    const vals = new Float32Array(v.size).map(() => scale * rng.normal());
    const draw = tf.tensor(vals, v.shape);
    v.assign(draw); // assign copies the values: the draw itself must be freed
    draw.dispose();
  }
}

export function planarParams(f: PlanarFlow): { uHat: number[][]; w: number[][]; b: number[] } {
  const uh = f.uHat();
  const out = { uHat: uh.arraySync(), w: f.w.arraySync(), b: f.b.arraySync() };
  uh.dispose();
  return out;
}

export function sylvesterParams(f: SylvesterFlow): {
  Q: number[][][];
  R: number[][][];
  RT: number[][][];
  b: number[][];
} {
  const Q = f.Q();
  const { R, RTilde } = f.R();
  const out = { Q: Q.arraySync(), R: R.arraySync(), RT: RTilde.arraySync(), b: f.b.arraySync() };
  tf.dispose([Q, R, RTilde]);
  return out;
}

/** The flow's registered fused op (asserted to exist, so a test never falls back in silence). */
export function fusedForward(f: Flow, z: tf.Tensor2D): FlowOutput {
  assert.ok(hasFusedOp(f), `${f.name} has a fused op`);
  return forwardOn(f, z, 'fused');
}

/**
 * Forward, inverse (with and without log-det) and the gradients of `losses` through an
 * invertible flow, `rounds` times on x: no tensor may be left behind, and every gradient is finite.
 */
export function assertNoLeaksBothWays(
  flow: InvertibleFlow,
  x: tf.Tensor2D,
  rounds: number,
  losses: ((x: tf.Tensor2D) => tf.Tensor1D)[] = [(v) => flow.inverseWithLogDet(v).logDetJ],
): void {
  const mid = tf.memory().numTensors;
  for (let i = 0; i < rounds; i++) {
    const f = flow.forward(x);
    const inv = flow.inverseWithLogDet(f.z);
    const z = flow.inverse(f.z);
    tf.dispose([f.z, f.logDetJ, inv.z, inv.logDetJ, z]);
    for (const loss of losses) {
      const { value, grads } = tf.variableGrads(() => tf.mean(loss(x)) as tf.Scalar, flow.variables);
      assert.ok(Object.values(grads).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0] === 1)));
      value.dispose();
      tf.dispose(Object.values(grads));
    }
  }
  assert.equal(tf.memory().numTensors, mid, `${flow.name}: tensors leaked`);
}

/** trainMaxLikelihood on `trainRows`, with held-out mean log-likelihood before and after; no tensor leaks. */
export async function fitHeldOut(
  flow: InvertibleFlow,
  trainRows: Float32Array,
  testRows: Float32Array,
  options: MaxLikelihoodOptions,
): Promise<{ before: number; after: number; history: MaxLikelihoodHistory }> {
  const before = logLikelihood(flow, testRows, 'mean');
  const tensors = tf.memory().numTensors;
  const history = await trainMaxLikelihood(flow, trainRows, options);
  assert.equal(tf.memory().numTensors, tensors, 'training leaks no tensors');
  assert.equal(history.stepsDone, options.steps);
  return { before, after: logLikelihood(flow, testRows, 'mean'), history };
}

/**
 * n draws of a skewed, curved 2-D density ("banana"): x1 ~ N(0, 1), x2 = 0.5 x1² - 1 + 0.3 ε.
 * A single Gaussian cannot bend, so a flow has a lot to gain over the baseline.
 */
export function banana(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    out[2 * i] = a;
    out[2 * i + 1] = 0.5 * a * a - 1 + 0.3 * rng.normal();
  }
  return out;
}

/**
 * The tape-free training step (kernels/ops.ts) against the tape: same loss and gradients for
 * F = mean log q − β mean log p̃ on the batch z0, on the reference path.
 */
export function assertTapeFreeStep(f: Flow, target: Target, z0: tf.Tensor2D, beta: number, label: string): void {
  const [N, D] = z0.shape;
  const direct = fusedTrainingStep(
    arrayKernelOf(f)!,
    targetKernelOf(target)!,
    z0.dataSync() as Float32Array,
    N,
    D,
    beta,
  );
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const { logQ, logP } = freeEnergyTerms(f, target, z0, 'reference');
        return tf.sub(tf.mean(logQ), tf.mul(beta, tf.mean(logP))) as tf.Scalar;
      }),
    f.variables,
  );
  assert.ok(Math.abs(direct.loss - value.dataSync()[0]!) < 1e-4 * (1 + Math.abs(direct.loss)), `${label}: loss`);
  f.variables.forEach((v, i) => {
    const e = relErr(direct.grads[i]!, grads[v.name]!.dataSync());
    assert.ok(e < 5e-4, `${label}: grad ${i} ${e}`);
  });
  tf.dispose([value, ...Object.values(grads)]);
}

/** A D = 2 flow given a [3, 3] batch: forward and inverse name the wrong shape; perturb checks std. */
export function assertShapeErrors(flow: InvertibleFlow & { perturb(std: number): void }): void {
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => flow.inverseWithLogDet(bad), /y must have 2 columns/);
  assert.throws(() => flow.forward(bad), /z must have 2 columns/);
  assert.throws(() => flow.perturb(-1), /std must be > 0, got -1/);
  bad.dispose();
}
