/**
 * Reverse KL / variational free energy (Rezende & Mohamed 2015, eq. 15), per sample:
 *
 *   F(z0) = log q0(z0) - Σ_k log|det J_k(z_{k-1})| - β log p̃(z_K)
 *         = log q_K(z_K) - β log p̃(z_K)
 *
 * With β = 1, E[F] = KL(q_K ‖ p) - log Z ≥ -log Z. Every term is [N]: nothing broadcasts to
 * [N, N] (the talk's code added an [N, 1] log-det to an [N] target term).
 *
 * Annealing (paper §6.1): β_t = min(1, 0.01 + t/T) lets the flow spread out before the full
 * target pulls it into one mode.
 */
import { tf } from '../core/backend';
import { StandardNormal } from '../flows/base';
import { type Flow, type FlowPath } from '../flows/flow';
import { forwardOn } from '../flows/compose';
import { targetKernelOf } from '../targets/kernel';
import type { Target } from '../targets/target';
import { checkFinite, checkPositive } from '../core/validate';
import { lossKernel, type LossKernel } from './kernel';

/** β_t = min(1, β0 + t/T). */
export function annealBeta(step: number, annealSteps: number, beta0 = 0.01): number {
  checkFinite('step', step);
  checkPositive('annealSteps', annealSteps);
  return Math.min(1, beta0 + step / annealSteps);
}

export interface FreeEnergyTerms {
  /** log q_K(z_K) = log q0(z0) - Σ log|det J|: [N] */
  logQ: tf.Tensor1D;
  /** log p̃(z_K): [N] */
  logP: tf.Tensor1D;
  /** z_K: [N, D] */
  zK: tf.Tensor2D;
}

/** The fused loss ops when `path` is 'fused' and they are registered (src/kernels/ops.ts). */
function fusedOps(path: FlowPath): LossKernel | undefined {
  return path === 'fused' ? lossKernel() : undefined;
}

/**
 * Push z0 through the flow and return log q_K and log p̃ at z_K (all [N]). On the fused path
 * log q0, the flow and the target each run as one op where a kernel is registered (same values).
 */
export function freeEnergyTerms(
  flow: Flow,
  target: Target,
  z0: tf.Tensor2D,
  path: FlowPath = 'fused',
): FreeEnergyTerms {
  if (target.dim !== flow.dim) {
    throw new RangeError(`target has dim ${target.dim} but the flow has dim ${flow.dim}`);
  }
  const ops = fusedOps(path);
  const targetKernel = ops ? targetKernelOf(target) : undefined;
  return tf.tidy(() => {
    const { z: zK, logDetJ } = forwardOn(flow, z0, path);
    const logQ0 = ops ? ops.standardNormalLogProb(z0) : new StandardNormal(flow.dim).logProb(z0);
    const logQ = tf.sub(logQ0, logDetJ) as tf.Tensor1D;
    const logP = targetKernel ? ops!.targetLogProb(targetKernel, zK) : target.logProb(zK);
    if (logP.rank !== 1 || logP.shape[0] !== z0.shape[0]) {
      throw new RangeError(`target.logProb must return shape [${z0.shape[0]}], got [${logP.shape.join(', ')}]`);
    }
    return { logQ, logP, zK };
  });
}

/** The minimised objective and the mean log p̃ it contains (both scalars). */
export interface ReverseKLTerms {
  /** mean F = mean(log q_K) - β mean(log p̃) */
  loss: tf.Scalar;
  /** mean log p̃(z_K) */
  meanLogP: tf.Scalar;
}

/** Batch mean of F = log q_K(z_K) - β log p̃(z_K), and mean log p̃ (the trainer reports both). */
export function reverseKLTerms(
  flow: Flow,
  target: Target,
  z0: tf.Tensor2D,
  beta = 1,
  path: FlowPath = 'fused',
): ReverseKLTerms {
  checkFinite('beta', beta);
  const mean = fusedOps(path)?.mean ?? ((x: tf.Tensor) => tf.mean(x) as tf.Scalar);
  return tf.tidy(() => {
    const { logQ, logP } = freeEnergyTerms(flow, target, z0, path);
    const meanLogP = mean(logP);
    return { loss: tf.sub(mean(logQ), tf.mul(beta, meanLogP)) as tf.Scalar, meanLogP };
  });
}

/** Batch mean of F = log q_K(z_K) - β log p̃(z_K): a scalar. */
export function reverseKL(flow: Flow, target: Target, z0: tf.Tensor2D, beta = 1, path: FlowPath = 'fused'): tf.Scalar {
  const { loss, meanLogP } = reverseKLTerms(flow, target, z0, beta, path);
  meanLogP.dispose();
  return loss;
}
