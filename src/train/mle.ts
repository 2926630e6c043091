/**
 * Learning a flow from data: maximum likelihood, i.e. forward KL.
 *
 * For data x_1..x_N and a flow f (base -> data) with base q0 = N(0, I_D):
 *
 *   log q(x) = log q0(f⁻¹(x)) + log|det J_{f⁻¹}(x)|
 *   loss = -(1/B) Σ_{i ∈ batch} log q(x_i)   (mean negative log-likelihood, nats per row)
 *
 * Minimising it minimises KL(p_data ‖ q) up to the data entropy. Unlike reverse KL this needs
 * f⁻¹ and its log-det (a coupling flow has both in closed form) but no density of the data.
 *
 * The baseline a flow must beat: one full-covariance Gaussian fitted to the training rows,
 * scored on held-out rows (`gaussianBaseline`).
 *
 * Two paths, as in `train`: 'fused' (default) steps without the tfjs tape when the flow has a
 * plain-array inverse kernel registered (src/flows/kernel.ts `inverseArrays`: z = f⁻¹(x), logdet
 * and the backward of [∂loss/∂z | ∂loss/∂logdet] = [z/B | -1/B]), else on the tape through its
 * fused inverse op (`inverseOp`) or its own `inverseWithLogDet`; 'reference' always takes the
 * tape through `inverseWithLogDet`. Both give the same loss and gradients up to float rounding.
 */
import { tf } from '../core/backend';
import { Adam } from './adam';
import { runChunked, startLoopHistory, type LoopHistory } from './loop';
import { StandardNormal } from '../flows/base';
import { LOG_2PI, weightedMeanCov } from '../core/numerics';
import type { InvertibleFlow } from '../flows/coupling';
import type { FlowPath } from '../flows/flow';
import { flowKernelOf, inverseArrayKernelOf, type ArrayFlowKernel } from '../flows/kernel';
import { Rng } from '../core/random';
import type { StopSignal } from '../core/stop';
import { checkOneOf, checkPositive, checkPositiveInt, checkSeed } from '../core/validate';

export interface MaxLikelihoodOptions {
  /** Optimisation steps (default 1000). */
  steps?: number;
  /** Rows per minibatch, drawn with replacement (default 256). */
  batch?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the minibatch draws (default 0). */
  seed?: number;
  /** Steps between awaits / onChunk calls (default 100). */
  chunkSize?: number;
  /** 'fused' (default; the registered inverse kernel, else the tape) or 'reference' (the tape). */
  path?: FlowPath;
  /** Stop at the next chunk boundary when set. */
  stop?: StopSignal;
  onStep?: (info: { step: number; loss: number; ms: number }) => void;
  /**
   * Called at every step, before Adam applies them, with the step's loss and ∂loss/∂v for each of
   * `flow.variables` (copies): to compare the paths. Costs a copy of the gradients per step.
   */
  onGradients?: (info: { step: number; loss: number; grads: Float32Array[] }) => void;
  onChunk?: (info: {
    step: number;
    steps: number;
    history: MaxLikelihoodHistory;
    elapsedMs: number;
  }) => void | Promise<void>;
}

/** What `trainMaxLikelihood` did, step by step. */
export interface MaxLikelihoodHistory extends LoopHistory {
  step: number[];
  /** Minibatch mean negative log-likelihood (nats per row). */
  loss: number[];
  /** The path taken: 'reference' when 'fused' was asked of a flow without an inverse kernel. */
  path: FlowPath;
}

/** `data` is a finite row-major Float32Array [N, dim]; returns N. */
export function checkData(name: string, data: Float32Array, dim: number): number {
  if (!(data instanceof Float32Array)) throw new TypeError(`${name} must be a row-major Float32Array [N, ${dim}]`);
  if (data.length === 0 || data.length % dim !== 0) {
    throw new RangeError(
      `${name} must hold N * ${dim} values (N >= 1 rows of the flow's dim ${dim}), got length ${data.length}`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!))
      throw new RangeError(`${name} has a non-finite value at row ${Math.floor(i / dim)}, column ${i % dim}`);
  }
  return data.length / dim;
}

/**
 * log q(x) = log q0(f⁻¹(x)) + log|det J_{f⁻¹}(x)| as a tensor: x [N, D] -> [N]. On the 'fused'
 * path (default) f⁻¹ is the flow's registered inverse op when it has one.
 */
export function flowLogProb(flow: InvertibleFlow, x: tf.Tensor2D, path: FlowPath = 'fused'): tf.Tensor1D {
  return tf.tidy(() => {
    const kernel = path === 'fused' ? flowKernelOf(flow) : undefined;
    // z: [N, D], logDetJ: [N]
    const { z, logDetJ } = kernel?.inverseOp ? kernel.inverseOp(flow, x) : flow.inverseWithLogDet(x);
    return tf.add(new StandardNormal(flow.dim).logProb(z), logDetJ) as tf.Tensor1D;
  });
}

/**
 * One maximum-likelihood step on plain arrays (no tape), x: [B, D] row-major:
 *
 *   loss = -(1/B) Σ_n (-½‖z_n‖² - (D/2) log 2π + logdet_n),   z = f⁻¹(x)
 *   ∂loss/∂z_n = z_n / B,   ∂loss/∂logdet_n = -1/B
 *
 * then the inverse kernel's backward: the loss and ∂loss/∂v per flow variable.
 */
export function maxLikelihoodArrayStep(
  inverse: ArrayFlowKernel,
  x: Float32Array,
  B: number,
  D: number,
): { loss: number; grads: Float32Array[] } {
  const { zK: z, logDet, backward } = inverse.forward(x, B); // z: [B, D], logDet: [B]
  const c = 0.5 * D * LOG_2PI;
  const dy = new Float64Array(B * (D + 1)); // [B, D + 1] = [∂loss/∂z | ∂loss/∂logdet]
  let sum = 0;
  for (let n = 0; n < B; n++) {
    let sq = 0;
    for (let d = 0; d < D; d++) {
      const zd = z[n * D + d]!;
      sq += zd * zd;
      dy[n * (D + 1) + d] = zd / B;
    }
    dy[n * (D + 1) + D] = -1 / B;
    sum += -0.5 * sq - c + logDet[n]!;
  }
  return { loss: -sum / B, grads: backward(dy) };
}

/**
 * Fit `flow` to the rows of `data` (row-major [N, D]) by maximum likelihood with Adam on
 * minibatches drawn with replacement by `Rng(seed)`. Resolves to the history when all steps
 * ran, the loss became non-finite, or the stop signal was set (checked between chunks; the
 * loop awaits `setImmediate` between chunks so a SIGINT listener can run).
 */
export async function trainMaxLikelihood(
  flow: InvertibleFlow,
  data: Float32Array,
  options: MaxLikelihoodOptions = {},
): Promise<MaxLikelihoodHistory> {
  if (!flow || typeof flow.inverseWithLogDet !== 'function') {
    throw new TypeError('flow must have inverseWithLogDet(y) (e.g. a CouplingFlow) for maximum likelihood');
  }
  const D = flow.dim;
  const N = checkData('data', data, D);
  const steps = checkPositiveInt('steps', options.steps ?? 1000);
  const batch = checkPositiveInt('batch', options.batch ?? 256);
  const lr = checkPositive('lr', options.lr ?? 1e-3);
  const chunkSize = checkPositiveInt('chunkSize', options.chunkSize ?? 100);
  const rng = new Rng(checkSeed('seed', options.seed ?? 0));
  const path = checkOneOf('path', options.path ?? 'fused', ['fused', 'reference'] as const);
  if (flow.variables.length === 0) throw new RangeError('flow has no trainable variables');
  // Fastest: the registered plain-array inverse kernel, stepping without the tfjs tape.
  const inverse = path === 'fused' ? inverseArrayKernelOf(flow) : undefined;

  // The library's Adam (tf.train.adam's update in typed-array loops): ~2x faster steps here.
  const optimizer = new Adam(flow.variables, lr);
  const history: MaxLikelihoodHistory = {
    step: [],
    loss: [],
    ...startLoopHistory(),
    path: path === 'fused' && !inverse && !flowKernelOf(flow)?.inverseOp ? 'reference' : path,
  };
  const xb = new Float32Array(batch * D); // the minibatch, reused: [batch, D]
  const loop = { steps, chunkSize, stop: options.stop };
  try {
    return await runChunked(history, {
      ...loop,
      step: (t) => {
        for (let i = 0; i < batch; i++) {
          const r = Math.floor(rng.uniform() * N);
          xb.set(data.subarray(r * D, (r + 1) * D), i * D);
        }
        let loss: number;
        if (inverse) {
          const r = maxLikelihoodArrayStep(inverse, xb, batch, D);
          options.onGradients?.({ step: t, loss: r.loss, grads: r.grads.map((g) => Float32Array.from(g)) });
          optimizer.applyGradientArrays(r.grads);
          loss = r.loss;
        } else {
          // One tidy around the step: when it throws, nothing leaks (see disposeAbandonedTape).
          loss = tf.tidy(() => {
            const x = tf.tensor2d(xb, [batch, D]); // x: [batch, D]
            const { value: cost, grads } = tf.variableGrads(
              () => tf.neg(tf.mean(flowLogProb(flow, x, path))) as tf.Scalar,
              flow.variables,
            );
            const value = cost.dataSync()[0]!;
            if (options.onGradients) {
              const copies = flow.variables.map((v) =>
                Float32Array.from(grads[v.name]?.dataSync() ?? new Float32Array(v.size)),
              );
              options.onGradients({ step: t, loss: value, grads: copies });
            }
            optimizer.applyGradients(grads);
            return value;
          });
        }
        history.step.push(t);
        history.loss.push(loss);
        return loss;
      },
      afterStep: (t, loss, ms) => options.onStep?.({ step: t, loss, ms }),
      onChunk: (h) => options.onChunk?.({ step: h.stepsDone, steps, history: h, elapsedMs: h.wallMs }),
    });
  } finally {
    optimizer.dispose();
  }
}

/** Rows per forward pass in `logLikelihood`, bounding memory. */
const LOG_LIK_CHUNK = 10000;

/**
 * log q(x_n) for every row of `data` (row-major [N, D]) as float64: [N]. Pass `reduce: 'mean'`
 * for the mean log-likelihood (1/N) Σ_n log q(x_n), the number to compare with a baseline.
 */
export function logLikelihood(flow: InvertibleFlow, data: Float32Array): Float64Array;
export function logLikelihood(flow: InvertibleFlow, data: Float32Array, reduce: 'mean'): number;
export function logLikelihood(flow: InvertibleFlow, data: Float32Array, reduce?: 'mean'): Float64Array | number {
  const D = flow.dim;
  const N = checkData('data', data, D);
  const out = new Float64Array(N);
  for (let start = 0; start < N; start += LOG_LIK_CHUNK) {
    const m = Math.min(LOG_LIK_CHUNK, N - start);
    const lp = tf.tidy(() => flowLogProb(flow, tf.tensor2d(data.subarray(start * D, (start + m) * D), [m, D])));
    out.set(lp.dataSync(), start);
    lp.dispose();
  }
  if (reduce === undefined) return out;
  if (reduce !== 'mean') throw new RangeError(`reduce must be "mean" or omitted, got ${String(reduce)}`);
  let s = 0;
  for (let i = 0; i < N; i++) s += out[i]!;
  return s / N;
}

/** A Gaussian N(μ, Σ) fitted by maximum likelihood, and its held-out score. */
export interface GaussianBaseline {
  /** μ = (1/N) Σ x_n: [D] */
  mean: number[];
  /** Σ = (1/N) Σ (x_n - μ)(x_n - μ)ᵀ, row-major: [D × D] */
  cov: number[];
  /** Mean log N(x; μ, Σ) over the training rows. */
  trainLogLik: number;
  /** Mean log N(x; μ, Σ) over the test rows: the number a flow must beat. */
  testLogLik: number;
}

/** Cholesky factor L (lower, row-major) of a symmetric positive-definite D×D matrix, float64. */
export function cholesky(a: number[], D: number): number[] {
  const L = new Array<number>(D * D).fill(0);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * D + j]!;
      for (let k = 0; k < j; k++) s -= L[i * D + k]! * L[j * D + k]!;
      if (i === j) {
        if (!(s > 0))
          throw new RangeError(
            'the training covariance is singular (a column is constant or a linear combination of others)',
          );
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j]!;
    }
  }
  return L;
}

/** log N(x_n; μ, Σ) for every row of x ([N, D]): [N], via Σ = LLᵀ (L from `cholesky`). */
export function gaussianLogProbRows(x: Float32Array, D: number, mean: number[], L: number[]): Float64Array {
  const N = x.length / D;
  let logDet = 0;
  for (let i = 0; i < D; i++) logDet += Math.log(L[i * D + i]!);
  const u = new Float64Array(D);
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let q = 0;
    for (let i = 0; i < D; i++) {
      let s = x[n * D + i]! - mean[i]!;
      for (let k = 0; k < i; k++) s -= L[i * D + k]! * u[k]!;
      u[i] = s / L[i * D + i]!; // forward substitution L u = x - μ
      q += u[i]! * u[i]!;
    }
    out[n] = -0.5 * q - logDet - (D / 2) * LOG_2PI;
  }
  return out;
}

/** The mean of a row-wise array, e.g. of `gaussianLogProbRows`. */
export const meanOfRows = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Fit one full-covariance Gaussian to `train` by maximum likelihood (μ = sample mean, Σ = sample
 * covariance with divisor N) and score it in closed form, float64:
 *
 *   log N(x; μ, Σ) = -½ (x - μ)ᵀ Σ⁻¹ (x - μ) - ½ log det Σ - (D/2) log 2π
 *
 * Both arrays are row-major [N, dim] (dim defaults to 2).
 */
export function gaussianBaseline(train: Float32Array, test: Float32Array, dim = 2): GaussianBaseline {
  const D = checkPositiveInt('dim', dim);
  const N = checkData('train', train, D);
  checkData('test', test, D);
  const { mean, cov } = weightedMeanCov(train, D, new Float64Array(N).fill(1));
  const L = cholesky(cov, D);
  return {
    mean,
    cov,
    trainLogLik: meanOfRows(gaussianLogProbRows(train, D, mean, L)),
    testLogLik: meanOfRows(gaussianLogProbRows(test, D, mean, L)),
  };
}
