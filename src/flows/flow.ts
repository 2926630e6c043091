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
import { flowKernelOf } from './kernel';

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

/**
 * Whether `flow` has a fused op: a kernel registered for its class (src/flows/kernel.ts), or,
 * for a Composition, for every one of its parts.
 */
export function hasFusedOp(flow: Flow): boolean {
  if (flow instanceof Composition) return flow.flows.every(hasFusedOp);
  return flowKernelOf(flow) !== undefined;
}

/**
 * Forward through `flow` on the chosen path: 'fused' takes the registered kernel's op, and
 * falls back to `flow.forward` (the reference) when the flow has none. A Composition runs its
 * parts fused only when all of them have a fused op (hasFusedOp), else all on the reference.
 */
export function forwardOn(flow: Flow, z: tf.Tensor2D, path: FlowPath = 'fused'): FlowOutput {
  if (path === 'reference' || !hasFusedOp(flow)) return flow.forward(z);
  if (flow instanceof Composition) return chain(flow, z, 'fused');
  return flowKernelOf(flow)!.op(flow, z);
}

/** z through the parts of `c` in order, each on `path`; the log-dets add up. */
function chain(c: Composition, z: tf.Tensor2D, path: FlowPath): FlowOutput {
  checkBatch('z', z, c.dim);
  return tf.tidy(() => {
    let cur = z;
    let logDetJ = tf.zeros([z.shape[0]]) as tf.Tensor1D;
    for (const f of c.flows) {
      const out = forwardOn(f, cur, path);
      cur = out.z;
      logDetJ = tf.add(logDetJ, out.logDetJ);
    }
    return { z: cur, logDetJ };
  });
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
    if (flows.every((f) => f.inverse)) {
      this.inverse = (y) =>
        tf.tidy(() => [...this.flows].reverse().reduce((acc, f) => f.inverse!(acc), y));
    }
  }

  get variables(): tf.Variable[] {
    return this.flows.flatMap((f) => f.variables);
  }

  inverse?: (y: tf.Tensor2D) => tf.Tensor2D;

  /** The reference forward: every part's own `forward`. */
  forward(z: tf.Tensor2D): FlowOutput {
    return chain(this, z, 'reference');
  }

  dispose(): void {
    this.flows.forEach((f) => f.dispose());
  }
}

/** Compose flows: applied first to last. */
export function compose(...flows: Flow[]): Composition {
  return new Composition(flows);
}
