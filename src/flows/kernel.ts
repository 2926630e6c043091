/**
 * Fast kernels attach to flows by registration, as tfjs registers kernels against ops: a flow
 * file holds only the readable maths (tf ops), and `src/kernels/` registers, per flow class,
 *
 *   op      the whole stack as ONE tf op with a hand-derived gradient (tf.customGrad), and
 *   arrays  the same forward and backward on plain typed arrays, for the trainer's tape-free step.
 *
 * No flow imports a kernel. `forwardOn(flow, z, 'fused')` and the trainer look the kernel up
 * here and fall back to the flow's own `forward` when none is registered.
 */
import type { tf } from '../core/backend';
import type { Flow, FlowOutput } from './flow';

/** One forward pass on plain arrays with its backward (one call of `ArrayFlowKernel.forward`). */
export interface ArrayForward {
  /** z_K: [N, D] row-major */
  zK: Float64Array;
  /** log|det J| per row: [N] */
  logDet: Float64Array;
  /**
   * dy: [N, D + 1] = [∂L/∂z_K | ∂L/∂logdet] -> ∂L/∂v for each of the flow's `variables`, in
   * order. Call it at most once.
   */
  backward(dy: Float64Array): Float32Array[];
}

/** A flow's forward and backward on plain arrays, reading its variables' current values. */
export interface ArrayFlowKernel {
  /** z0: [N, D] row-major. */
  forward(z0: Float32Array, N: number): ArrayForward;
}

/** What `src/kernels/` registers for one flow class. */
export interface FlowKernel<F extends Flow = Flow> {
  /** The whole flow as one tf op with a hand-derived gradient: z [N, D] -> f(z), log|det J|. */
  op(flow: F, z: tf.Tensor2D): FlowOutput;
  /** The plain-array kernel of one flow instance (built once per instance, then cached). */
  arrays?(flow: F): ArrayFlowKernel;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlowClass<F extends Flow> = abstract new (...args: any[]) => F;

const registry = new Map<FlowClass<Flow>, FlowKernel>();
const arrayCache = new WeakMap<Flow, ArrayFlowKernel>();

/** Attach `kernel` to every instance of `flowClass` (a later call replaces an earlier one). */
export function registerFlowKernel<F extends Flow>(flowClass: FlowClass<F>, kernel: FlowKernel<F>): void {
  registry.set(flowClass, kernel as unknown as FlowKernel);
}

/** The kernel registered for `flow`'s class (or the nearest registered base class), if any. */
export function flowKernelOf(flow: Flow): FlowKernel | undefined {
  for (let p = Object.getPrototypeOf(flow); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const k = registry.get(p.constructor as FlowClass<Flow>);
    if (k) return k;
  }
  return undefined;
}

/** The plain-array kernel of `flow`, built on first use and kept with the instance. */
export function arrayKernelOf(flow: Flow): ArrayFlowKernel | undefined {
  const cached = arrayCache.get(flow);
  if (cached) return cached;
  const k = flowKernelOf(flow)?.arrays?.(flow);
  if (k) arrayCache.set(flow, k);
  return k;
}
