/**
 * Fast kernels attach to flows by registration, as tfjs registers kernels against ops: a flow
 * file holds only the readable maths (tf ops), and `src/kernels/` registers, per flow class,
 *
 *   op      the whole stack as ONE tf op with a hand-derived gradient (tf.customGrad), and
 *   arrays  the same forward and backward on plain typed arrays, for the trainer's tape-free step;
 *
 * (both optional: a flow whose forward has no one-pass form, as MAF's sampling, leaves them out)
 * and, optionally, for a flow with a closed-form inverse (maximum likelihood needs f⁻¹ and its
 * log-det, src/train/mle.ts), the same two for the inverse map y -> f⁻¹(y):
 *
 *   inverseOp      y [N, D] -> f⁻¹(y), log|det J_{f⁻¹}(y)| as one tf op with its gradient;
 *   inverseArrays  that on plain arrays: an ArrayFlowKernel whose `forward(y, N)` runs f⁻¹
 *                  (zK = f⁻¹(y), logDet = log|det J_{f⁻¹}(y)|) and whose backward takes
 *                  [∂L/∂f⁻¹(y) | ∂L/∂logdet] and returns ∂L/∂v per variable.
 *
 * A class whose instances differ in which directions have one pass (SplineAutoregressiveFlow's
 * `conditionedOn`) registers a function of the instance instead: `flowKernelOf(flow)` returns
 * what it returns for that instance, so every lookup below sees only that instance's ops.
 *
 * No flow imports a kernel. `forwardOn(flow, z, 'fused')` and the trainers look the kernel up
 * here and fall back to the flow's own `forward` (or `inverseWithLogDet`) when the op they need
 * is not registered.
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
  /**
   * The whole flow as one tf op with a hand-derived gradient: z [N, D] -> f(z), log|det J|.
   * Optional: a flow whose only fast direction is the inverse (MAF) registers `inverseOp` alone.
   */
  op?(flow: F, z: tf.Tensor2D): FlowOutput;
  /** The plain-array kernel of one flow instance (built once per instance, then cached). */
  arrays?(flow: F): ArrayFlowKernel;
  /** The inverse as one tf op with a hand-derived gradient: y [N, D] -> f⁻¹(y), log|det J_{f⁻¹}(y)|. */
  inverseOp?(flow: F, y: tf.Tensor2D): FlowOutput;
  /** The inverse on plain arrays (`forward` runs y -> f⁻¹(y); built once per instance, then cached). */
  inverseArrays?(flow: F): ArrayFlowKernel;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlowClass<F extends Flow> = abstract new (...args: any[]) => F;

/** A class's kernel, or a function giving each instance its kernel. */
export type FlowKernelEntry<F extends Flow = Flow> = FlowKernel<F> | ((flow: F) => FlowKernel<F>);

const registry = new Map<FlowClass<Flow>, FlowKernelEntry>();
const arrayCache = new WeakMap<Flow, ArrayFlowKernel>();
const inverseArrayCache = new WeakMap<Flow, ArrayFlowKernel>();

/**
 * Attach `kernel` to every instance of `flowClass` (a later call replaces an earlier one); a
 * function is called per instance and gives that instance's kernel.
 */
export function registerFlowKernel<F extends Flow>(flowClass: FlowClass<F>, kernel: FlowKernelEntry<F>): void {
  registry.set(flowClass, kernel as unknown as FlowKernelEntry);
}

/** The kernel registered for `flow`'s class (or the nearest registered base class), if any. */
export function flowKernelOf(flow: Flow): FlowKernel | undefined {
  for (let p = Object.getPrototypeOf(flow); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const k = registry.get(p.constructor as FlowClass<Flow>);
    if (k) return typeof k === 'function' ? k(flow) : k;
  }
  return undefined;
}

/** The kernel `make` builds for `flow`, built on first use and kept with the instance in `cache`. */
function cached(
  cache: WeakMap<Flow, ArrayFlowKernel>,
  flow: Flow,
  make: (k: FlowKernel, flow: Flow) => ArrayFlowKernel | undefined,
): ArrayFlowKernel | undefined {
  const hit = cache.get(flow);
  if (hit) return hit;
  const kernel = flowKernelOf(flow);
  const k = kernel ? make(kernel, flow) : undefined;
  if (k) cache.set(flow, k);
  return k;
}

/** The plain-array kernel of `flow`, built on first use and kept with the instance. */
export function arrayKernelOf(flow: Flow): ArrayFlowKernel | undefined {
  return cached(arrayCache, flow, (k, f) => k.arrays?.(f));
}

/** The plain-array kernel of `flow`'s inverse (`forward` runs y -> f⁻¹(y)), if registered. */
export function inverseArrayKernelOf(flow: Flow): ArrayFlowKernel | undefined {
  return cached(inverseArrayCache, flow, (k, f) => k.inverseArrays?.(f));
}
