/**
 * The one interface every flow implements.
 *
 * A flow f is a diffeomorphism of R^D. Pushing a batch through it gives the new points and
 * log|det J_f| per point, which the change-of-variables theorem turns into a density:
 *
 *   log q_K(z_K) = log q0(z0) - Σ_k log|det J_k(z_{k-1})|
 */
import { tf } from '../core/backend';

export interface FlowOutput {
  /** f(z): [N, D] */
  z: tf.Tensor2D;
  /** log|det ∂f/∂z| per row: [N] */
  logDetJ: tf.Tensor1D;
}

/** How to evaluate a flow: the readable op-by-op reference, or one fused op per stack. */
export type FlowPath = 'fused' | 'reference';

export interface Flow {
  readonly name: string;
  /** D, the dimension of z. */
  readonly dim: number;
  /** Trainable parameters. */
  readonly variables: tf.Variable[];
  /** The readable op-by-op forward pass (what the notebooks teach). */
  forward(z: tf.Tensor2D): FlowOutput;
  /** f⁻¹(y), when the flow can invert (e.g. planar, by a 1-D root find per layer). */
  inverse?(y: tf.Tensor2D): tf.Tensor2D;
  /** Free all variables. */
  dispose(): void;
}

/**
 * A trainable variable initialised from `init`, which it takes over: `tf.variable(t)` keeps
 * `t` alive as a second tensor, so `init` is disposed here (else every flow leaks its inits).
 */
export function ownedVariable<R extends tf.Rank>(init: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(init);
  init.dispose();
  return v;
}

/** Number of scalar parameters of a flow. */
export function numParams(flow: Flow): number {
  return flow.variables.reduce((s, v) => s + v.size, 0);
}
