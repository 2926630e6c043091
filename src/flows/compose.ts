/**
 * Composition f = f_n ∘ … ∘ f_1 (itself a flow; log-dets add up), and running any flow on the
 * fused path (its registered kernel's op) or the reference path (its own readable forward).
 */
import { tf } from '../core/backend';
import { checkBatch } from '../core/validate';
import type { Flow, FlowOutput, FlowPath } from './flow';
import { flowKernelOf } from './kernel';
/**
 * Whether `flow` has a fused forward op: a kernel with `op` registered for its class
 * (src/flows/kernel.ts), or, for a Composition, for every one of its parts. (A flow may have a
 * kernel with only a fused inverse, as MAF: then its forward runs on the reference.)
 */
export function hasFusedOp(flow: Flow): boolean {
  if (flow instanceof Composition) return flow.flows.every(hasFusedOp);
  return flowKernelOf(flow)?.op !== undefined;
}

/**
 * Forward through `flow` on the chosen path: 'fused' takes the registered kernel's op, and
 * falls back to `flow.forward` (the reference) when the flow has none. A Composition runs its
 * parts fused only when all of them have a fused op (hasFusedOp), else all on the reference.
 */
export function forwardOn(flow: Flow, z: tf.Tensor2D, path: FlowPath = 'fused'): FlowOutput {
  if (path === 'reference' || !hasFusedOp(flow)) return flow.forward(z);
  if (flow instanceof Composition) return chain(flow, z, 'fused');
  return flowKernelOf(flow)!.op!(flow, z);
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
      this.inverse = (y) => tf.tidy(() => [...this.flows].reverse().reduce((acc, f) => f.inverse!(acc), y));
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
