/**
 * The one interface every flow implements, and composition.
 *
 * A flow f is a diffeomorphism of R^D. Pushing a batch through it gives the new points and
 * log|det J_f| per point, which the change-of-variables theorem turns into a density:
 *
 *   log q_K(z_K) = log q0(z0) - Σ_k log|det J_k(z_{k-1})|
 */
import { tf } from '../core/backend';
import { checkBatch } from '../core/validate';

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
  /** The same map as one fused op with a hand-derived gradient, when the flow has one. */
  forwardFused?(z: tf.Tensor2D): FlowOutput;
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

/** Forward through `flow` on the chosen path (falls back to the reference when not fused). */
export function forwardOn(flow: Flow, z: tf.Tensor2D, path: FlowPath = 'fused'): FlowOutput {
  if (path === 'fused' && flow.forwardFused) return flow.forwardFused(z);
  return flow.forward(z);
}

/** f = f_n ∘ … ∘ f_1 is itself a flow; its log-dets add up. */
export class Composition implements Flow {
  readonly name: string;
  readonly dim: number;
  readonly flows: readonly Flow[];

  constructor(flows: Flow[]) {
    if (!Array.isArray(flows) || flows.length === 0) {
      throw new RangeError('flows must be a non-empty array of flows');
    }
    const dim = flows[0]!.dim;
    flows.forEach((f, i) => {
      if (f.dim !== dim) throw new RangeError(`flows[${i}] has dim ${f.dim}, expected ${dim} (all flows must share D)`);
    });
    this.flows = flows;
    this.dim = dim;
    this.name = flows.map((f) => f.name).join(' ∘ ');
    if (flows.every((f) => f.forwardFused)) {
      this.forwardFused = (z) => this.chain(z, 'fused');
    }
    if (flows.every((f) => f.inverse)) {
      this.inverse = (y) =>
        tf.tidy(() => [...this.flows].reverse().reduce((acc, f) => f.inverse!(acc), y));
    }
  }

  get variables(): tf.Variable[] {
    return this.flows.flatMap((f) => f.variables);
  }

  forwardFused?: (z: tf.Tensor2D) => FlowOutput;
  inverse?: (y: tf.Tensor2D) => tf.Tensor2D;

  forward(z: tf.Tensor2D): FlowOutput {
    return this.chain(z, 'reference');
  }

  private chain(z: tf.Tensor2D, path: FlowPath): FlowOutput {
    checkBatch('z', z, this.dim);
    return tf.tidy(() => {
      let cur = z;
      let logDetJ = tf.zeros([z.shape[0]]) as tf.Tensor1D;
      for (const f of this.flows) {
        const out = forwardOn(f, cur, path);
        cur = out.z;
        logDetJ = tf.add(logDetJ, out.logDetJ);
      }
      return { z: cur, logDetJ };
    });
  }

  dispose(): void {
    this.flows.forEach((f) => f.dispose());
  }
}

/** Compose flows: applied first to last. */
export function compose(...flows: Flow[]): Composition {
  return new Composition(flows);
}
