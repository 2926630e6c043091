/**
 * The fused path's loss ops attach by registration, as flow and target kernels do (see
 * src/flows/kernel.ts): src/kernels/ops.ts registers them; until then (or on the 'reference'
 * path) the loss uses plain tf ops and the trainer the tfjs tape.
 */
import type { tf } from '../core/backend';
import type { ArrayFlowKernel } from '../flows/kernel';
import type { TargetKernel } from '../targets/kernel';

/** One tape-free training step on plain arrays (what `LossKernel.step` returns). */
export interface ArrayStep {
  /** mean F = mean(log q0(z0) - logdet - β log p̃(z_K)) */
  loss: number;
  /** mean log p̃(z_K) */
  meanLogP: number;
  /** ∂loss/∂v for each of the flow's variables, in order. */
  grads: Float32Array[];
}

export interface LossKernel {
  /** mean of all entries as one op: x -> scalar. */
  mean(x: tf.Tensor): tf.Scalar;
  /** log N(z; 0, I_D) as one op: z [N, D] -> [N]. */
  standardNormalLogProb(z: tf.Tensor2D): tf.Tensor1D;
  /** log p̃ from a target's array kernel as one op: z [N, D] -> [N]. */
  targetLogProb(kernel: TargetKernel, z: tf.Tensor2D): tf.Tensor1D;
  /** The whole step on plain arrays: z0 [N, D] through the flow, F, and its gradients. */
  step(flow: ArrayFlowKernel, target: TargetKernel, z0: Float32Array, N: number, D: number, beta: number): ArrayStep;
}

let registered: LossKernel | undefined;

/** Register the fused loss ops (a later call replaces an earlier one). */
export function registerLossKernel(kernel: LossKernel): void {
  registered = kernel;
}

/** The registered fused loss ops, if any. */
export function lossKernel(): LossKernel | undefined {
  return registered;
}
