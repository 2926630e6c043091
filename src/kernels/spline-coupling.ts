/**
 * The spline coupling flow (flows/spline-coupling.ts, NSF) in typed-array loops: float64
 * arithmetic, float32 in and out, both directions with their backward passes, registered for
 * SplineCouplingFlow.
 *
 * Layer k with kept coordinates P and moved coordinates M (couplingMasks), x_P: [N, |P|]:
 *
 *   θ = MLP(x_P): [N, |M| (3K - 1)] = [N |M|, 3K - 1] row-major   (mlp.ts, on dense.ts products)
 *   x'_M = g_θ(x_M) (forward) or g_θ⁻¹(x_M) (inverse),   x'_P = x_P   (spline.ts, elementwise)
 *   log|det| += Σ_M log|g'| (or log|g⁻¹'|)
 *
 * Backward of one layer (ḡ = ∂L/∂x': [N, D], ḡ_l = ∂L/∂logdet: [N], the same for every layer):
 * the spline's backward with (ȳ, L̄D) = (ḡ_M, ḡ_l) gives ∂L/∂x_M and ∂L/∂θ; then the MLP's
 * backward with g_out = ∂L/∂θ gives its weight gradients and ∂L/∂x_P, added to the pass-through
 * ḡ_P. Layers run 0..K-1 forward and K-1..0 inverse (LayeredFlow); the backward walks them in
 * the opposite order.
 */
import { couplingMasks } from '../flows/coupling';
import { registerFlowKernel } from '../flows/kernel';
import { SplineCouplingFlow } from '../flows/spline-coupling';
import { splineParamCount, type SplineConfig } from '../flows/spline';
import { keepMove } from './coupling';
import { mlpBackward, mlpForward, zeroMLPGrads, type DenseMLP } from './mlp';
import { splineBackward, splineForward, type SplineTape } from './spline';
import { releaseScratch, splitUpstream, takeScratch } from './ops';
import { stackForwardKernel, stackInverseKernel, type Direction, type StackPasses } from './stack-op';

export type { Direction };

/** One layer's parameters (float64) and its kept and moved coordinates. */
interface LayerParams extends DenseMLP {
  keep: Int32Array;
  move: Int32Array;
}

/** The whole flow's parameters. */
export interface SplineCouplingParams {
  D: number;
  H: number;
  cfg: SplineConfig;
  layers: LayerParams[];
}

/** Pack the values of `flow.variables` ([w1, b1, w2, b2, w3, b3] per layer) into float64. */
export function packSplineCouplingParams(
  D: number,
  K: number,
  H: number,
  cfg: SplineConfig,
  vars: ArrayLike<number>[],
): SplineCouplingParams {
  const layers = couplingMasks(D, K).map((mask, k): LayerParams => {
    const [w1, b1, w2, b2, w3, b3] = vars.slice(6 * k, 6 * k + 6).map((v) => new Float64Array(v)) as Float64Array[];
    return {
      ...keepMove(mask),
      w1: w1!,
      b1: b1!,
      w2: w2!,
      b2: b2!,
      w3: w3!,
      b3: b3!,
    };
  });
  return { D, H, cfg, layers };
}

/** What one layer keeps for the backward pass. */
interface LayerTape {
  xP: Float64Array; // [N, |P|]
  h1: Float64Array; // [N, H]
  h2: Float64Array; // [N, H]
  spline: SplineTape; // N |M| elements
}

export interface SplineCouplingTape {
  p: SplineCouplingParams;
  N: number;
  /** Layer indices in the order they were applied. */
  order: number[];
  layers: LayerTape[];
  /** The scratch buffer behind every layer's xP, h1, h2. */
  buffer: Float64Array;
}

/**
 * x0: [N, D] through the layers in direction `dir`. Returns x: [N, D] (f(x0) or f⁻¹(x0)),
 * logDet: [N] and the tape for `splineCouplingBackward`.
 */
export function splineCouplingRun(
  p: SplineCouplingParams,
  x0: ArrayLike<number>,
  N: number,
  dir: Direction,
): { x: Float64Array; logDet: Float64Array; tape: SplineCouplingTape } {
  const { D, H, cfg } = p;
  const K = p.layers.length;
  const Pn = splineParamCount(cfg.bins);
  const x = new Float64Array(x0); // [N, D], the running point
  const logDet = new Float64Array(N); // [N]
  const buffer = takeScratch(p.layers.reduce((a, l) => a + N * (l.keep.length + 2 * H), 0));
  let offset = 0;
  const view = (n: number): Float64Array => buffer.subarray(offset, (offset += n));
  const layers = new Array<LayerTape>(K);
  const order = Array.from({ length: K }, (_, i) => (dir === 1 ? i : K - 1 - i));
  for (const k of order) {
    const l = p.layers[k]!;
    const P = l.keep.length;
    const M = l.move.length;
    const [xP, h1, h2] = [view(N * P), view(N * H), view(N * H)];
    for (let n = 0; n < N; n++) for (let i = 0; i < P; i++) xP[n * P + i] = x[n * D + l.keep[i]!]!;
    const theta = new Float64Array(N * M * Pn); // [N |M|, 3K - 1]
    mlpForward(l, xP, h1, h2, theta, N, P, H, M * Pn);
    const xM = new Float64Array(N * M); // [N, |M|]
    for (let n = 0; n < N; n++) for (let j = 0; j < M; j++) xM[n * M + j] = x[n * D + l.move[j]!]!;
    const g = splineForward(xM, theta, N * M, cfg, dir === -1);
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let j = 0; j < M; j++) {
        x[n * D + l.move[j]!] = g.y[n * M + j]!;
        sum += g.logDet[n * M + j]!;
      }
      logDet[n] = logDet[n]! + sum;
    }
    layers[k] = { xP, h1, h2, spline: g.tape };
  }
  return { x, logDet, tape: { p, N, order, layers, buffer } };
}

/**
 * Backward of `splineCouplingRun`. dy: [N, D + 1] = [∂L/∂x_out | ∂L/∂logdet]. Returns ∂L/∂x0:
 * [N, D] and ∂L/∂v per variable in `flow.variables` order (float32). With `release`, the tape's
 * buffer goes back to the scratch pool (the tape must not be used again).
 */
export function splineCouplingBackward(
  tape: SplineCouplingTape,
  dy: ArrayLike<number>,
  release = false,
): { dx: Float32Array; grads: Float32Array[] } {
  const { p, N } = tape;
  const { D, H } = p;
  const Pn = splineParamCount(p.cfg.bins);
  const { gz: g, gl } = splitUpstream(dy, N, D); // g: [N, D] running ∂L/∂x, gl: [N]
  const gH = new Float64Array(N * H);
  const gH1 = new Float64Array(N * H);
  const grads = new Array<Float32Array>(6 * p.layers.length);
  for (let o = tape.order.length - 1; o >= 0; o--) {
    const k = tape.order[o]!;
    const l = p.layers[k]!;
    const t = tape.layers[k]!;
    const P = l.keep.length;
    const M = l.move.length;
    const gyM = new Float64Array(N * M); // ∂L/∂x'_M: [N, |M|]
    const gLD = new Float64Array(N * M); // ∂L/∂(each element's log-det) = ḡ_l
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < M; j++) {
        gyM[n * M + j] = g[n * D + l.move[j]!]!;
        gLD[n * M + j] = gl[n]!;
      }
    }
    const { dx, dTheta } = splineBackward(t.spline, gyM, gLD);
    for (let n = 0; n < N; n++) for (let j = 0; j < M; j++) g[n * D + l.move[j]!] = dx[n * M + j]!;
    const d = zeroMLPGrads(P, H, M * Pn);
    const gxP = new Float64Array(N * P); // [N, |P|]
    mlpBackward(l, t.xP, t.h1, t.h2, dTheta, d, gxP, gH, gH1, N, P, H, M * Pn);
    for (let n = 0; n < N; n++) for (let i = 0; i < P; i++) g[n * D + l.keep[i]!] += gxP[n * P + i]!;
    [d.w1, d.b1, d.w2, d.b2, d.w3, d.b3].forEach((gv, i) => (grads[6 * k + i] = new Float32Array(gv)));
  }
  if (release) releaseScratch(tape.buffer);
  return { dx: new Float32Array(g), grads };
}

/** The spline coupling stack's two passes for the shared op and array plumbing (stack-op.ts). */
const PASSES: StackPasses<SplineCouplingFlow, SplineCouplingTape> = {
  run: (flow, vars, x, N, dir) =>
    splineCouplingRun(packSplineCouplingParams(flow.dim, flow.K, flow.hidden, flow.spline, vars), x, N, dir),
  backward: splineCouplingBackward,
};

registerFlowKernel(SplineCouplingFlow, { ...stackForwardKernel(PASSES), ...stackInverseKernel(PASSES) });
