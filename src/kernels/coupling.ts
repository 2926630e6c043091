/**
 * The coupling flow (flows/coupling.ts, RealNVP) in typed-array loops: float64 arithmetic,
 * float32 in and out, both directions with their backward passes, registered for CouplingFlow.
 *
 * Layer k with kept coordinates P (mask 1) and moved coordinates M (mask 0); x_P: [N, |P|]:
 *
 *   h1 = tanh(x_P W1_P + b1): [N, H],   h2 = tanh(h1 W2 + b2): [N, H]
 *   [r | t] = h2 W3_M + b3_M: [N, 2|M|]      (only the moved columns of the head: the kept ones
 *   s = c · tanh(r / c)                       are multiplied by 1 - m = 0 in the reference)
 *
 * and, per moved coordinate, with σ = +1 (forward, base -> data) or -1 (inverse, data -> base),
 * e = exp(σ s):
 *
 *   forward:  x' = x e + t,        u = x e
 *   inverse:  x' = (x - t) e,      u = x' = (x - t) e
 *   log|det| += σ Σ_M s
 *
 * Kept coordinates pass through: x'_P = x_P.
 *
 * Backward of one layer (ḡ = ∂L/∂x': [N, D], ḡ_l = ∂L/∂logdet: [N], the same for every layer
 * since the log-det is a sum), per moved coordinate:
 *
 *   ∂L/∂s = σ (ḡ u + ḡ_l)                      (∂x'/∂s = σ u)
 *   ∂L/∂r = ∂L/∂s · (1 - (s/c)²)
 *   ∂L/∂t = ḡ (forward),  -ḡ e (inverse)
 *   ∂L/∂x = ḡ e                                (the direct path, moved coordinates)
 *
 * then through the MLP (mlp.ts), with g_out = [∂L/∂r | ∂L/∂t]: [N, 2|M|]:
 *
 *   ∂L/∂W3_M = h2ᵀ g_out,  ∂L/∂b3_M = Σ_n g_out,  ∂L/∂a2 = (g_out W3_Mᵀ) ⊙ (1 - h2²)
 *   ∂L/∂W2 = h1ᵀ ∂L/∂a2,   ∂L/∂b2 = Σ_n ∂L/∂a2,  ∂L/∂a1 = (∂L/∂a2 W2ᵀ) ⊙ (1 - h1²)
 *   ∂L/∂W1_P = x_Pᵀ ∂L/∂a1, ∂L/∂b1 = Σ_n ∂L/∂a1, ∂L/∂x_P = ḡ_P + ∂L/∂a1 W1_Pᵀ
 *
 * and ∂L/∂W1 = 0 on the rows of M, ∂L/∂W3 = ∂L/∂b3 = 0 on the head's kept columns (as the
 * reference's gradients, which multiply them by exact zeros). Layers run in order 0..K-1
 * forward and K-1..0 inverse; the backward walks them in the opposite order.
 *
 * Speed (2 shared cores under load ~3, tsx, cpu backend), the maximum-likelihood step of the
 * CLI's --data default (K=4, H=32, batch 128; `npm run bench -- --peer`, coupling MLE row):
 *   - JS 4 × 2 register tiles, tanh as 1 - 2/(e^{2a} + 1):          1.96 ms (PyTorch 2.38: 0.83x)
 *   - tanh from a quintic table (tanh.ts, ~4.8 ns against ~12),
 *     scratch arrays reused across steps:                  2.24 -> 1.99 ms (timed by parts)
 *   - the H × H products in WebAssembly SIMD (dense.ts, gemm-wasm.ts;
 *     ~20 µs each against ~65):                                     1.04 ms (PyTorch 2.91: 0.36x)
 *   - the thin products (|P|, 2|M| = 1, 2) zero-padded into WebAssembly too, bias rows by
 *     copyWithin, four-chain column sums: fwd + bwd ~905 -> ~790 µs CPU (A/B, load ~4.5)
 * against 15 ms on the tfjs tape; `node --import tsx scripts/coupling-scaling.ts` sweeps batch and
 * H. What is left (profile): the products ~20%, the 2·N·H tanh per layer ~18%, the copies into
 * and out of WebAssembly memory, Adam, packing the parameters (~40 µs), the small loops.
 */
import { CouplingFlow, couplingMasks } from '../flows/coupling';
import { registerFlowKernel } from '../flows/kernel';
import * as tanh from './tanh';
import { mlpBackward, mlpForward, type DenseMLPGrads } from './mlp';
import { releaseScratch, splitUpstream, takeScratch } from './ops';
import { stackForwardKernel, stackInverseKernel, type Direction, type StackPasses } from './stack-op';

// Module-level bindings of the hot-loop helpers (see planar.ts: under tsx an imported function
// called in a loop goes through a getter that V8 does not inline).
const { tanhTab } = tanh;

/**
 * Scratch arrays of the loops, one per slot, reused from step to step while its length stays
 * the same (nothing in them outlives a call): a training step then allocates only its outputs.
 */
const scratchSlots: Float64Array[] = [];
enum Slot {
  head,
  gOut,
  gH,
  gH1,
  gxP,
  dW1,
  db1,
  dW2,
  db2,
  dW3,
  db3,
}
/** The slot's array of length n, zeroed when `zero`. */
function slot(s: Slot, n: number, zero = false): Float64Array {
  const a = scratchSlots[s];
  if (a?.length !== n) return (scratchSlots[s] = new Float64Array(n));
  if (zero) a.fill(0);
  return a;
}

/** +1: forward (base -> data), -1: inverse (data -> base). */
export type { Direction };

/** One layer's parameters, packed for the loops (float64). */
interface LayerParams {
  /** Kept coordinates P and moved coordinates M (indices into 0..D-1). */
  keep: Int32Array;
  move: Int32Array;
  /** W1 on the kept rows: [|P|, H] */
  w1: Float64Array;
  b1: Float64Array; // [H]
  w2: Float64Array; // [H, H]
  b2: Float64Array; // [H]
  /** The head's moved columns [r_M | t_M]: [H, 2|M|] */
  w3: Float64Array;
  b3: Float64Array; // [2|M|]
}

/** The whole flow's parameters. */
export interface CouplingParams {
  D: number;
  H: number;
  K: number;
  /** Bound c of the log-scale s = c tanh(r / c). */
  c: number;
  layers: LayerParams[];
}

/** A layer's mask as index lists: `keep` (mask 1, conditioned on) and `move` (mask 0, transformed). */
export function keepMove(mask: readonly number[]): { keep: Int32Array; move: Int32Array } {
  return {
    keep: Int32Array.from(mask.flatMap((m, d) => (m === 1 ? [d] : []))),
    move: Int32Array.from(mask.flatMap((m, d) => (m === 0 ? [d] : []))),
  };
}

/**
 * Pack a coupling flow's variables (the values of `flow.variables`, [w1, b1, w2, b2, w3, b3]
 * per layer, in order) into float64 per-layer parameters.
 */
export function packCouplingParams(
  D: number,
  K: number,
  H: number,
  c: number,
  vars: ArrayLike<number>[],
): CouplingParams {
  const layers = couplingMasks(D, K).map((mask, k): LayerParams => {
    const { keep, move } = keepMove(mask);
    const [w1, b1, w2, b2, w3, b3] = vars.slice(6 * k, 6 * k + 6) as ArrayLike<number>[];
    const P = keep.length;
    const M = move.length;
    const w1P = new Float64Array(P * H); // [|P|, H]
    keep.forEach((d, i) => {
      for (let j = 0; j < H; j++) w1P[i * H + j] = w1![d * H + j]!;
    });
    const w3M = new Float64Array(H * 2 * M); // [H, 2|M|]
    const b3M = new Float64Array(2 * M);
    move.forEach((d, j) => {
      for (let h = 0; h < H; h++) {
        w3M[h * 2 * M + j] = w3![h * 2 * D + d]!;
        w3M[h * 2 * M + M + j] = w3![h * 2 * D + D + d]!;
      }
      b3M[j] = b3![d]!;
      b3M[M + j] = b3![D + d]!;
    });
    return {
      keep,
      move,
      w1: w1P,
      b1: new Float64Array(b1!),
      w2: new Float64Array(w2!),
      b2: new Float64Array(b2!),
      w3: w3M,
      b3: b3M,
    };
  });
  return { D, H, K, c, layers };
}

/** What one layer keeps for the backward pass (views into one scratch buffer). */
interface LayerTape {
  xP: Float64Array; // [N, |P|], the kept input coordinates
  h1: Float64Array; // [N, H]
  h2: Float64Array; // [N, H]
  s: Float64Array; // [N, |M|]
  e: Float64Array; // [N, |M|], exp(σ s)
  u: Float64Array; // [N, |M|]
}

export interface CouplingTape {
  p: CouplingParams;
  N: number;
  dir: Direction;
  /** Layer indices in the order they were applied. */
  order: number[];
  /** Per layer index k. */
  layers: LayerTape[];
  buffer: Float64Array;
}

/** Layer sizes of the tape: |P| + 2H + 3|M| floats per row. */
function tapeLayout(p: CouplingParams, N: number): { sizes: number[][]; total: number } {
  let total = 0;
  const sizes = p.layers.map((l) => {
    const s = [l.keep.length, p.H, p.H, l.move.length, l.move.length, l.move.length].map((w) => w * N);
    total += s.reduce((a, b) => a + b, 0);
    return s;
  });
  return { sizes, total };
}

/**
 * x0: [N, D] through the K layers in direction `dir`. Returns x: [N, D] (f(x0) or f⁻¹(x0)),
 * logDet: [N] (log|det| of that map) and the tape for `couplingBackward`.
 */
export function couplingRun(
  p: CouplingParams,
  x0: ArrayLike<number>,
  N: number,
  dir: Direction,
): { x: Float64Array; logDet: Float64Array; tape: CouplingTape } {
  const { D, H, K, c } = p;
  const x = new Float64Array(x0); // x: [N, D], the running point
  const logDet = new Float64Array(N); // [N]
  const { sizes, total } = tapeLayout(p, N);
  const buffer = takeScratch(total);
  let offset = 0;
  const view = (n: number): Float64Array => buffer.subarray(offset, (offset += n));
  const layers = sizes.map((s) => {
    const [xP, h1, h2, sv, e, u] = s.map(view) as [Float64Array, ...Float64Array[]];
    return { xP, h1: h1!, h2: h2!, s: sv!, e: e!, u: u! };
  });
  const order = Array.from({ length: K }, (_, i) => (dir === 1 ? i : K - 1 - i));
  for (const k of order) {
    const l = p.layers[k]!;
    const t = layers[k]!;
    const P = l.keep.length;
    const M = l.move.length;
    for (let n = 0; n < N; n++) for (let i = 0; i < P; i++) t.xP[n * P + i] = x[n * D + l.keep[i]!]!;
    const head = slot(Slot.head, N * 2 * M); // [N, 2|M|], the MLP's output
    mlpForward(l, t.xP, t.h1, t.h2, head, N, P, H, 2 * M);
    for (let n = 0; n < N; n++) {
      let sumS = 0;
      for (let j = 0; j < M; j++) {
        const s = c * tanhTab(head[n * 2 * M + j]! / c);
        const shift = head[n * 2 * M + M + j]!;
        const e = Math.exp(dir * s);
        const xi = n * D + l.move[j]!;
        const u = dir === 1 ? x[xi]! * e : (x[xi]! - shift) * e;
        x[xi] = dir === 1 ? u + shift : u;
        t.s[n * M + j] = s;
        t.e[n * M + j] = e;
        t.u[n * M + j] = u;
        sumS += s;
      }
      logDet[n] = logDet[n]! + dir * sumS;
    }
  }
  return { x, logDet, tape: { p, N, dir, order, layers, buffer } };
}

/**
 * Backward of `couplingRun`. dy: [N, D + 1] = [∂L/∂x_out | ∂L/∂logdet]. Returns ∂L/∂x0: [N, D]
 * and ∂L/∂v for each of the flow's variables in `flow.variables` order (float32). With
 * `release`, the tape's buffer goes back to the scratch pool (the tape must not be used again).
 */
export function couplingBackward(
  tape: CouplingTape,
  dy: ArrayLike<number>,
  release = false,
): { dx: Float32Array; grads: Float32Array[] } {
  const { p, N, dir } = tape;
  const { D, H, c } = p;
  const { gz: g, gl } = splitUpstream(dy, N, D); // g: [N, D] running ∂L/∂x, gl: [N]
  const gH = slot(Slot.gH, N * H); // [N, H]
  const gH1 = slot(Slot.gH1, N * H); // [N, H]
  const grads: Float32Array[] = new Array<Float32Array>(6 * p.K);
  for (let o = tape.order.length - 1; o >= 0; o--) {
    const k = tape.order[o]!;
    const l = p.layers[k]!;
    const t = tape.layers[k]!;
    const P = l.keep.length;
    const M = l.move.length;
    const gOut = slot(Slot.gOut, N * 2 * M); // [N, 2|M|] = [∂L/∂r | ∂L/∂t]
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < M; j++) {
        const xi = n * D + l.move[j]!;
        const gx = g[xi]!;
        const e = t.e[n * M + j]!;
        const r = t.s[n * M + j]! / c;
        gOut[n * 2 * M + j] = dir * (gx * t.u[n * M + j]! + gl[n]!) * (1 - r * r);
        gOut[n * 2 * M + M + j] = dir === 1 ? gx : -gx * e;
        g[xi] = gx * e;
      }
    }
    const d: DenseMLPGrads = {
      w1: slot(Slot.dW1, P * H, true),
      b1: slot(Slot.db1, H, true),
      w2: slot(Slot.dW2, H * H, true),
      b2: slot(Slot.db2, H, true),
      w3: slot(Slot.dW3, H * 2 * M, true),
      b3: slot(Slot.db3, 2 * M, true),
    };
    const gxP = slot(Slot.gxP, N * P); // [N, |P|]
    mlpBackward(l, t.xP, t.h1, t.h2, gOut, d, gxP, gH, gH1, N, P, H, 2 * M);
    for (let n = 0; n < N; n++) for (let i = 0; i < P; i++) g[n * D + l.keep[i]!] += gxP[n * P + i]!;
    unpackLayerGrads(p, l, d.w1, d.b1, d.w2, d.b2, d.w3, d.b3).forEach((gv, i) => (grads[6 * k + i] = gv));
  }
  if (release) releaseScratch(tape.buffer);
  return { dx: new Float32Array(g), grads };
}

/** One layer's gradients in the variables' shapes: W1 [D, H] (zero on M's rows), W3 [H, 2D], b3 [2D]. */
function unpackLayerGrads(
  p: CouplingParams,
  l: LayerParams,
  dW1P: Float64Array,
  db1: Float64Array,
  dW2: Float64Array,
  db2: Float64Array,
  dW3M: Float64Array,
  db3M: Float64Array,
): Float32Array[] {
  const { D, H } = p;
  const M = l.move.length;
  const dW1 = new Float32Array(D * H);
  l.keep.forEach((d, i) => dW1.set(dW1P.subarray(i * H, (i + 1) * H), d * H));
  const dW3 = new Float32Array(H * 2 * D);
  const db3 = new Float32Array(2 * D);
  l.move.forEach((d, j) => {
    for (let h = 0; h < H; h++) {
      dW3[h * 2 * D + d] = dW3M[h * 2 * M + j]!;
      dW3[h * 2 * D + D + d] = dW3M[h * 2 * M + M + j]!;
    }
    db3[d] = db3M[j]!;
    db3[D + d] = db3M[M + j]!;
  });
  return [dW1, new Float32Array(db1), new Float32Array(dW2), new Float32Array(db2), dW3, db3];
}

/** The coupling stack's two passes for the shared op and array plumbing (stack-op.ts). */
const PASSES: StackPasses<CouplingFlow, CouplingTape> = {
  run: (flow, vars, x, N, dir) =>
    couplingRun(packCouplingParams(flow.dim, flow.K, flow.hidden, flow.scaleFactor, vars), x, N, dir),
  backward: couplingBackward,
};

registerFlowKernel(CouplingFlow, { ...stackForwardKernel(PASSES), ...stackInverseKernel(PASSES) });
