/**
 * Small fused helpers shared by the fused flows and the trainer. Each is one tfjs op with a
 * plain-JS gradient, replacing tfjs ops that are slow on the cpu backend for this use:
 * slicing columns (an element-by-element walk) and mean (its gradient broadcasts a [1]-shaped
 * tensor, which takes the cpu backend's per-element index path). Also the loss F on plain
 * arrays (`fusedTrainingStep`). Registers them as the loss kernel (src/train/kernel.ts).
 */
import { tf } from '../core/backend';
import { checkBatch } from '../core/validate';
import { LOG_2PI } from '../core/numerics';
import type { FlowOutput } from '../flows/flow';
import type { ArrayFlowKernel } from '../flows/kernel';
import type { TargetKernel } from '../targets/kernel';
import { registerLossKernel, type ArrayStep } from '../train/kernel';

/** Contents of a float32 tensor (no copy on the cpu backend; never write into it). */
export function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * Recycled scratch arrays. A tape's two big buffers ([K, N, D] and [K, N]) go back here after
 * its backward pass, so a training loop stops allocating ~400 KB per step (fewer GC pauses).
 * A tape whose backward never runs simply lets its buffers be collected.
 */
const scratchPool: Float64Array[] = [];
const SCRATCH_POOL_SIZE = 8;

/** A Float64Array of length n with arbitrary contents (the caller overwrites all of it). */
export function takeScratch(n: number): Float64Array {
  const i = scratchPool.findIndex((a) => a.length === n);
  return i >= 0 ? scratchPool.splice(i, 1)[0]! : new Float64Array(n);
}

/** Return a scratch array that nothing references any more. */
export function releaseScratch(a: Float64Array): void {
  if (scratchPool.length >= SCRATCH_POOL_SIZE) scratchPool.shift();
  scratchPool.push(a);
}

/**
 * The end of a stack's forward: logDet[n] += log|detProd[n]| (the factors not yet folded, see
 * foldProduct), then out: [N, D + 1] = [z_K | log|det J|] in float32.
 */
export function packStackOutput(
  z: Float64Array,
  logDet: Float64Array,
  detProd: Float64Array,
  N: number,
  D: number,
): Float32Array {
  for (let n = 0; n < N; n++) logDet[n] = logDet[n]! + Math.log(Math.abs(detProd[n]!));
  return packOutput(z, logDet, N, D);
}

/** A flow's output packed as one float32 array: [N, D + 1] = [z: [N, D] | logDet: [N]]. */
export function packOutput(z: ArrayLike<number>, logDet: ArrayLike<number>, N: number, D: number): Float32Array {
  const out = new Float32Array(N * (D + 1));
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) out[n * (D + 1) + d] = z[n * D + d]!;
    out[n * (D + 1) + D] = logDet[n]!;
  }
  return out;
}

/** Split the upstream gradient dy: [N, D + 1] = [∂L/∂z_K | ∂L/∂logdet] into gz: [N, D], gl: [N]. */
export function splitUpstream(dy: ArrayLike<number>, N: number, D: number): { gz: Float64Array; gl: Float64Array } {
  const gz = new Float64Array(N * D);
  const gl = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) gz[n * D + d] = dy[n * (D + 1) + d]!;
    gl[n] = dy[n * (D + 1) + D]!;
  }
  return { gz, gl };
}

/**
 * tf.customGrad, typed: `f(...inputs)` returns the op's value and `gradFunc(dy)`, one gradient per
 * input. (tfjs appends a `save` function to the inputs; the ops here never use it.)
 */
export function customGradOp<A extends tf.Tensor[], O extends tf.Tensor = tf.Tensor2D>(
  f: (...inputs: A) => { value: O; gradFunc: (dy: O) => tf.Tensor[] },
): (...inputs: A) => O {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: A) => O;
}

/** A flow's packed op as a FlowOutput: checks z: [N, D], runs `packedOp`, splits [z | logdet]. */
export function fusedFlowOutput(z: tf.Tensor2D, D: number, packedOp: () => tf.Tensor): FlowOutput {
  checkBatch('z', z, D);
  return tf.tidy(() => {
    const { z: zK, logDetJ } = unpackFlowOutput(packedOp() as tf.Tensor2D, D);
    return { z: zK, logDetJ };
  });
}

/**
 * Column block [c0, c0 + width) of x: [N, C] -> [N, width]; the gradient scatters dy back into
 * zeros: [N, C].
 */
export function columns(x: tf.Tensor2D, c0: number, width: number): tf.Tensor2D {
  return customGradOp((xt: tf.Tensor2D) => {
    const [N, C] = xt.shape;
    const xv = values(xt);
    const out = new Float32Array(N * width); // out: [N, width]
    for (let n = 0; n < N; n++) for (let j = 0; j < width; j++) out[n * width + j] = xv[n * C + c0 + j]!;
    return {
      value: tf.tensor2d(out, [N, width]),
      gradFunc: (dy: tf.Tensor2D) => {
        const g = values(dy); // [N, width]
        const dx = new Float32Array(N * C); // dx: [N, C]
        for (let n = 0; n < N; n++) for (let j = 0; j < width; j++) dx[n * C + c0 + j] = g[n * width + j]!;
        return [tf.tensor2d(dx, [N, C])];
      },
    };
  })(x);
}

/** Split a packed [N, D + 1] = [z | logdet] output into z: [N, D] and logDetJ: [N]. */
export function unpackFlowOutput(packed: tf.Tensor2D, D: number): FlowOutput {
  const N = packed.shape[0];
  return { z: columns(packed, 0, D), logDetJ: tf.reshape(columns(packed, D, 1), [N]) as tf.Tensor1D };
}

/** mean(x) = Σ x_i / n over all entries, as one op; ∂/∂x_i = dy / n. */
export function fusedMean(x: tf.Tensor): tf.Scalar {
  return customGradOp((xt: tf.Tensor) => {
    const v = values(xt);
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]!;
    const n = v.length;
    return {
      value: tf.scalar(s / n),
      gradFunc: (dy: tf.Scalar) => [tf.fill(xt.shape, values(dy)[0]! / n)],
    };
  })(x);
}

/**
 * log N(z; 0, I_D) = -½‖z‖² - (D/2) log 2π per row, z: [N, D] -> [N], as one op;
 * ∂/∂z = -z dy. (The same as `StandardNormal.logProb`, which takes 4 ops.)
 */
export function fusedStandardNormalLogProb(z: tf.Tensor2D): tf.Tensor1D {
  return customGradOp((zt: tf.Tensor2D) => {
    const [N, D] = zt.shape;
    const zv = values(zt);
    const c = 0.5 * D * LOG_2PI;
    const out = new Float32Array(N); // [N]
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += zv[n * D + d]! * zv[n * D + d]!;
      out[n] = -0.5 * s - c;
    }
    return {
      value: tf.tensor1d(out),
      gradFunc: (dy: tf.Tensor1D) => {
        const g = values(dy); // [N]
        const dz = new Float32Array(N * D); // [N, D]
        for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) dz[n * D + d] = -zv[n * D + d]! * g[n]!;
        return [tf.tensor2d(dz, [N, D])];
      },
    };
  })(z);
}

/**
 * log p̃(z) through a target's array kernel as one differentiable tfjs op: z: [N, D] -> [N],
 * with ∂/∂z = dy ⊙ ∇log p̃ (the gradient is computed in the same pass as the value).
 */
export function fusedLogProb(kernel: TargetKernel, z: tf.Tensor2D): tf.Tensor1D {
  return customGradOp((zt: tf.Tensor2D) => {
    const [N, D] = zt.shape;
    const logp = new Float32Array(N);
    const grad = new Float32Array(N * D);
    kernel(values(zt), N, logp, grad);
    return {
      value: tf.tensor1d(logp),
      gradFunc: (dy: tf.Tensor1D) => {
        const g = values(dy); // [N]
        const dz = new Float32Array(N * D); // dz: [N, D]
        for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) dz[i * D + d] = grad[i * D + d]! * g[i]!;
        return [tf.tensor2d(dz, [N, D])];
      },
    };
  })(z);
}

/**
 * One training step without the tfjs tape, for a flow kernel and a target kernel:
 *
 *   F_n = log q0(z0_n) - logdet_n - β log p̃(z_K,n),   loss = (1/N) Σ_n F_n
 *   ∂loss/∂z_K,n = -β ∇log p̃(z_K,n)/N,   ∂loss/∂logdet_n = -1/N
 *
 * then the flow kernel's backward. z_K is rounded to float32 before the target, as on the tape
 * path. Returns the loss, mean log p̃ and ∂loss/∂v per flow variable.
 */
export function fusedTrainingStep(
  flow: ArrayFlowKernel,
  target: TargetKernel,
  z0: Float32Array,
  N: number,
  D: number,
  beta: number,
): ArrayStep {
  const { zK, logDet, backward } = flow.forward(z0, N);
  const z32 = new Float32Array(zK); // [N, D]
  const logp = new Float32Array(N); // [N]
  const grad = new Float32Array(N * D); // [N, D]
  target(z32, N, logp, grad);
  const c = 0.5 * D * LOG_2PI;
  let sumF = 0;
  let sumLogP = 0;
  const dy = new Float64Array(N * (D + 1)); // [N, D + 1]
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let d = 0; d < D; d++) {
      s += z0[n * D + d]! * z0[n * D + d]!;
      dy[n * (D + 1) + d] = (-beta * grad[n * D + d]!) / N;
    }
    dy[n * (D + 1) + D] = -1 / N;
    sumF += -0.5 * s - c - logDet[n]! - beta * logp[n]!;
    sumLogP += logp[n]!;
  }
  return { loss: sumF / N, meanLogP: sumLogP / N, grads: backward(dy) };
}

registerLossKernel({
  mean: fusedMean,
  standardNormalLogProb: fusedStandardNormalLogProb,
  targetLogProb: fusedLogProb,
  step: fusedTrainingStep,
});
