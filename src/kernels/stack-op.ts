/**
 * The plumbing shared by the fused stacks that keep a tape (coupling, spline coupling, MAF/IAF,
 * nsf-ar/nsf-iaf). Each supplies its two passes on plain arrays,
 *
 *   run(flow, vars, x, N, dir)  x: [N, D] -> x': [N, D], logDet: [N] and the tape,
 *   backward(tape, dy)          dy: [N, D + 1] = [∂L/∂x' | ∂L/∂logdet] -> ∂L/∂x, ∂L/∂v per variable,
 *
 * and this file turns them into what src/flows/kernel.ts registers: the direction as one
 * differentiable tf op (tf.customGrad) and as an ArrayFlowKernel for the tape-free step.
 */
import { tf } from '../core/backend';
import { checkBatch } from '../core/validate';
import type { Flow, FlowOutput } from '../flows/flow';
import type { ArrayFlowKernel, FlowKernel } from '../flows/kernel';
import { customGradOp, fusedFlowOutput, packOutput, values } from './ops';

/** 1: the forward map (base -> data); -1: the inverse (data -> base). */
export type Direction = 1 | -1;

/** A fused stack's two passes on plain arrays, with its tape type T. */
export interface StackPasses<F extends Flow, T> {
  /** One pass in direction `dir` with the variables' values `vars`. */
  run(
    flow: F,
    vars: ArrayLike<number>[],
    x: ArrayLike<number>,
    N: number,
    dir: Direction,
  ): { x: Float64Array; logDet: Float64Array; tape: T };
  /** The pass's backward; `release` hands the tape's buffer back to the scratch pool. */
  backward(tape: T, dy: ArrayLike<number>, release: boolean): { dx: Float32Array; grads: Float32Array[] };
}

/**
 * The flow in direction `dir` as one differentiable op: (x: [N, D], ...flow.variables) ->
 * [N, D + 1] = [x' | log|det|]. Gradients flow to x and every variable.
 */
function stackOp<F extends Flow, T>(passes: StackPasses<F, T>, flow: F, dir: Direction, x: tf.Tensor2D): tf.Tensor2D {
  const vars = flow.variables;
  return customGradOp((xt: tf.Tensor2D, ...inputs: tf.Tensor[]) => {
    const vs = inputs.slice(0, vars.length); // tfjs appends its `save` function to the inputs
    const [N, D] = xt.shape;
    const { x: out, logDet, tape } = passes.run(flow, vs.map(values), values(xt), N, dir);
    return {
      value: tf.tensor2d(packOutput(out, logDet, N, D), [N, D + 1]),
      gradFunc: (dy: tf.Tensor2D) => {
        const { dx, grads } = passes.backward(tape, values(dy), true); // tfjs runs a gradFunc once
        return [tf.tensor2d(dx, [N, D]), ...grads.map((gv, i) => tf.tensor(gv, vs[i]!.shape))];
      },
    };
  })(x, ...vars);
}

/** The flow in direction `dir` on plain arrays, reading the variables' current values per call. */
function stackArrays<F extends Flow, T>(passes: StackPasses<F, T>, flow: F, dir: Direction): ArrayFlowKernel {
  return {
    forward(x0, N) {
      const { x, logDet, tape } = passes.run(flow, flow.variables.map(values), x0, N, dir);
      return { zK: x, logDet, backward: (dy) => passes.backward(tape, dy, true).grads };
    },
  };
}

/** The forward (base -> data) kernels: the same map, log-det and gradients as `flow.forward(z)`. */
export function stackForwardKernel<F extends Flow, T>(passes: StackPasses<F, T>): FlowKernel<F> {
  return {
    op: (flow, z) => fusedFlowOutput(z, flow.dim, () => stackOp(passes, flow, 1, z)),
    arrays: (flow) => stackArrays(passes, flow, 1),
  };
}

/** The inverse (data -> base) kernels with log|det J_{f⁻¹}|: the same as `flow.inverseWithLogDet(y)`. */
export function stackInverseKernel<F extends Flow, T>(passes: StackPasses<F, T>): FlowKernel<F> {
  return {
    inverseOp: (flow, y): FlowOutput => {
      checkBatch('y', y, flow.dim);
      return fusedFlowOutput(y, flow.dim, () => stackOp(passes, flow, -1, y));
    },
    inverseArrays: (flow) => stackArrays(passes, flow, -1),
  };
}
