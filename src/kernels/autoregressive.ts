/**
 * The affine autoregressive flows (flows/autoregressive.ts) in their one-pass direction, in
 * typed-array loops (float64 inside, float32 in and out), registered for
 *
 *   MaskedAutoregressiveFlow   inverseOp + inverseArrays: data -> base (what maximum likelihood runs)
 *   InverseAutoregressiveFlow  op + arrays:               base -> data (what reverse KL runs)
 *
 * The other direction needs D MADE passes per layer and stays on the reference path.
 *
 * Layer k reads its input x (the data side v for MAF, the base side u for IAF) through its MADE
 * (made.ts, P = 2): [μ | r] = MADE_k(x): [N, 2D], α = c · tanh(r / c), and with σ = +1 (IAF,
 * base -> data, layers 0..K-1) or σ = -1 (MAF, data -> base, layers K-1..0), e = exp(σ α):
 *
 *   σ = +1:  x' = x e + μ,      u = x e
 *   σ = -1:  x' = (x - μ) e,    u = x'
 *   log|det| += σ Σ_d α_d
 *
 * Backward of one layer (ḡ = ∂L/∂x': [N, D], ḡ_l = ∂L/∂logdet: [N]), per coordinate:
 *
 *   ∂L/∂α = σ (ḡ u + ḡ_l)                 (∂x'/∂α = σ u)
 *   ∂L/∂r = ∂L/∂α · (1 - (α/c)²)
 *   ∂L/∂μ = ḡ (σ = +1),  -ḡ e (σ = -1)
 *   ∂L/∂x = ḡ e + MADE backward of [∂L/∂μ | ∂L/∂r]   (the direct path plus the one through the net)
 *
 * The layers' orders alternate (reversedOrders), so each MADE carries its own masks.
 *
 * Speed (`npm run bench -- --cases mafMLE,iafKL,couplingKL,couplingMLE --peer`, 2 shared cores
 * under load ~6, K = 4, H = 32, batch 128, median ms/step fused / reference):
 *   - MAF MLE on the penguin bills:        0.88 / 14.6   (coupling MLE 0.82; PyTorch 1 thread ~2.1)
 *   - IAF reverse KL on U1:                0.88 / 13.5   (coupling reverse KL 0.81)
 * The MADE's products are the coupling kernel's (dense.ts), so the two flows cost about the same.
 */
import type { AutoregressiveFlow } from '../flows/autoregressive';
import { InverseAutoregressiveFlow } from '../flows/iaf';
import { registerFlowKernel } from '../flows/kernel';
import { MaskedAutoregressiveFlow } from '../flows/maf';
import { madeBackward, madeForward, packMadeStack, type MadeParams, type MadeTape } from './made';
import * as tanh from './tanh';
import { releaseScratch, splitUpstream, takeScratch } from './ops';
import { stackForwardKernel, stackInverseKernel, type Direction, type StackPasses } from './stack-op';

const { tanhTab } = tanh;

/** +1: base -> data (IAF's one pass), -1: data -> base (MAF's one pass); defined in stack-op.ts. */
export type { Direction };

/** Outputs per coordinate of an affine layer's MADE: μ and the raw log-scale r. */
const P_AFFINE = 2;

/** The whole flow's parameters. */
export interface ArParams {
  D: number;
  H: number;
  K: number;
  /** Bound c of the log-scale α = c tanh(r / c). */
  c: number;
  layers: MadeParams[];
}

/** Pack the flow's variable values ([w1, b1, w2, b2, w3, b3] per layer, in order) for the loops. */
export function packArParams(flow: AutoregressiveFlow, vars: ArrayLike<number>[]): ArParams {
  const { dim: D, hidden: H, K, scaleFactor: c } = flow;
  return { D, H, K, c, layers: packMadeStack(flow, P_AFFINE, vars) };
}

/** What one layer keeps for the backward pass (views into one scratch buffer). */
interface LayerTape {
  made: MadeTape; // its x is the layer's input: [N, D]
  alpha: Float64Array; // [N, D]
  e: Float64Array; // [N, D], exp(σ α)
  u: Float64Array; // [N, D]
}

export interface ArTape {
  p: ArParams;
  N: number;
  dir: Direction;
  /** Layer indices in the order they were applied. */
  order: number[];
  /** Per layer index k. */
  layers: LayerTape[];
  buffer: Float64Array;
}

/** Scratch for the MADE's output [N, 2D] and the backward's ∂L/∂raw, reused across calls. */
let rawScratch = new Float64Array(0);
let dRawScratch = new Float64Array(0);

/**
 * x0: [N, D] through the K layers in direction `dir`. Returns x: [N, D], logDet: [N] and the
 * tape for `arBackward`.
 */
export function arRun(
  p: ArParams,
  x0: ArrayLike<number>,
  N: number,
  dir: Direction,
): { x: Float64Array; logDet: Float64Array; tape: ArTape } {
  const { D, H, K, c } = p;
  const x = new Float64Array(x0); // x: [N, D], the running point (written in place; xIn keeps each input)
  const logDet = new Float64Array(N); // [N]
  const perLayer = N * (2 * H + 4 * D); // xIn, h1, h2, α, e, u
  const buffer = takeScratch(K * perLayer);
  if (rawScratch.length !== N * 2 * D) rawScratch = new Float64Array(N * 2 * D);
  const raw = rawScratch; // [N, 2D] = [μ | r]
  const order = Array.from({ length: K }, (_, i) => (dir === 1 ? i : K - 1 - i));
  const layers = new Array<LayerTape>(K);
  let offset = 0;
  const view = (n: number): Float64Array => buffer.subarray(offset, (offset += n));
  for (const k of order) {
    const xIn = view(N * D);
    xIn.set(x);
    const made = madeForward(p.layers[k]!, xIn, N, view(N * H), view(N * H), raw).tape;
    const [alpha, e, u] = [view(N * D), view(N * D), view(N * D)];
    for (let n = 0; n < N; n++) {
      let sumAlpha = 0;
      for (let d = 0; d < D; d++) {
        const i = n * D + d;
        const mu = raw[n * 2 * D + d]!;
        const a = c * tanhTab(raw[n * 2 * D + D + d]! / c);
        const ei = Math.exp(dir * a);
        const ui = dir === 1 ? xIn[i]! * ei : (xIn[i]! - mu) * ei;
        x[i] = dir === 1 ? ui + mu : ui;
        alpha[i] = a;
        e[i] = ei;
        u[i] = ui;
        sumAlpha += a;
      }
      logDet[n] = logDet[n]! + dir * sumAlpha;
    }
    layers[k] = { made, alpha, e, u };
  }
  return { x, logDet, tape: { p, N, dir, order, layers, buffer } };
}

/**
 * Backward of `arRun`. dy: [N, D + 1] = [∂L/∂x_out | ∂L/∂logdet]. Returns ∂L/∂x0: [N, D] and
 * ∂L/∂v per flow variable (float32, `flow.variables` order). With `release` the tape's buffer
 * goes back to the scratch pool (the tape must not be used again).
 */
export function arBackward(
  tape: ArTape,
  dy: ArrayLike<number>,
  release = false,
): { dx: Float32Array; grads: Float32Array[] } {
  const { p, N, dir } = tape;
  const { D, c } = p;
  const { gz: g, gl } = splitUpstream(dy, N, D); // g: [N, D] running ∂L/∂x, gl: [N]
  if (dRawScratch.length !== N * 2 * D) dRawScratch = new Float64Array(N * 2 * D);
  const dRaw = dRawScratch; // [N, 2D] = [∂L/∂μ | ∂L/∂r]
  const grads = new Array<Float32Array>(6 * p.K);
  for (let o = tape.order.length - 1; o >= 0; o--) {
    const k = tape.order[o]!;
    const { made, alpha, e, u } = tape.layers[k]!;
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        const i = n * D + d;
        const gx = g[i]!;
        const r = alpha[i]! / c;
        dRaw[n * 2 * D + d] = dir === 1 ? gx : -gx * e[i]!;
        dRaw[n * 2 * D + D + d] = dir * (gx * u[i]! + gl[n]!) * (1 - r * r);
        g[i] = gx * e[i]!; // the direct path; the MADE's part is added below
      }
    }
    madeBackward(made, dRaw, g).grads.forEach((gv, j) => (grads[6 * k + j] = new Float32Array(gv)));
  }
  if (release) releaseScratch(tape.buffer);
  return { dx: new Float32Array(g), grads };
}

/** The autoregressive stack's two passes for the shared op and array plumbing (stack-op.ts). */
const PASSES: StackPasses<AutoregressiveFlow, ArTape> = {
  run: (flow, vars, x, N, dir) => arRun(packArParams(flow, vars), x, N, dir),
  backward: arBackward,
};

/** MAF's one pass is its inverse (data -> base), IAF's its forward (base -> data). */
registerFlowKernel(MaskedAutoregressiveFlow, stackInverseKernel<MaskedAutoregressiveFlow, ArTape>(PASSES));
registerFlowKernel(InverseAutoregressiveFlow, stackForwardKernel<InverseAutoregressiveFlow, ArTape>(PASSES));
