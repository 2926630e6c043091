/**
 * The MADE masked MLP (flows/made.ts) in typed-array loops, float64, for the autoregressive
 * kernels (autoregressive.ts; generic in the outputs P per coordinate so a spline MAF can reuse it):
 *
 *   a1 = x (W1 ⊙ M1) + b1,  h1 = tanh(a1): [N, H]        x: [N, D]
 *   a2 = h1 (W2 ⊙ M2) + b2, h2 = tanh(a2): [N, H]
 *   raw = h2 (W3 ⊙ M3) + b3: [N, P·D]                    (P blocks of D, block p = output p of each d)
 *
 * with the degree masks M1: [D, H], M2: [H, H], M3: [H, P·D] of flows/made.ts (madeDegrees). The
 * masked weights Wℓ ⊙ Mℓ are formed once per `packMadeParams`.
 *
 * Backward, given ḡ = ∂L/∂raw: [N, P·D]:
 *
 *   ∂L/∂W3 = (h2ᵀ ḡ) ⊙ M3,  ∂L/∂b3 = Σ_n ḡ,  ∂L/∂a2 = (ḡ (W3 ⊙ M3)ᵀ) ⊙ (1 - h2²)
 *   ∂L/∂W2 = (h1ᵀ ∂L/∂a2) ⊙ M2, ∂L/∂b2 = Σ_n ∂L/∂a2, ∂L/∂a1 = (∂L/∂a2 (W2 ⊙ M2)ᵀ) ⊙ (1 - h1²)
 *   ∂L/∂W1 = (xᵀ ∂L/∂a1) ⊙ M1,  ∂L/∂b1 = Σ_n ∂L/∂a1,    ∂L/∂x = ∂L/∂a1 (W1 ⊙ M1)ᵀ
 *
 * (zero where masked, as the reference's gradients through tf.mul(W, M)). On the masked weights
 * this is the coupling conditioner's MLP (mlp.ts, on dense.ts's products and tanh.ts's table)
 * followed by the masking of the weight gradients.
 */
import { madeDegrees } from '../flows/made';
import { mlpBackward, mlpForward, zeroMLPGrads } from './mlp';

/** One MADE's parameters, masked and packed for the loops (float64). */
export interface MadeParams {
  D: number;
  H: number;
  /** Outputs per coordinate. */
  P: number;
  /** Masks M1: [D, H], M2: [H, H], M3: [H, P·D] (1 kept, 0 cut). */
  m1: Float64Array;
  m2: Float64Array;
  m3: Float64Array;
  /** Masked weights W ⊙ M and biases. */
  w1: Float64Array; // [D, H]
  b1: Float64Array; // [H]
  w2: Float64Array; // [H, H]
  b2: Float64Array; // [H]
  w3: Float64Array; // [H, P·D]
  b3: Float64Array; // [P·D]
}

/** Degree mask [from.length, to.length]: 1 where from -> to is kept (as flows/made.ts). */
function degreeMask(from: number[], to: number[], strict: boolean): Float64Array {
  const m = new Float64Array(from.length * to.length);
  from.forEach((a, i) => to.forEach((b, j) => (m[i * to.length + j] = (strict ? b > a : b >= a) ? 1 : 0)));
  return m;
}

/** The three masks of a MADE over `order` with H hidden units and P outputs per coordinate. */
export function madeMasks(order: readonly number[], H: number, P: number): [Float64Array, Float64Array, Float64Array] {
  const deg = madeDegrees(order, H);
  const outDeg = Array.from({ length: P }, () => deg.input).flat(); // P blocks of D
  return [
    degreeMask(deg.input, deg.hidden, false),
    degreeMask(deg.hidden, deg.hidden, false),
    degreeMask(deg.hidden, outDeg, true),
  ];
}

/** w ⊙ m into a new float64 array. */
function masked(w: ArrayLike<number>, m: Float64Array): Float64Array {
  const out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = w[i]! * m[i]!;
  return out;
}

/**
 * Pack a MADE's variable values [w1, b1, w2, b2, w3, b3] (the order of `Made.variables`), with
 * the masks of `madeMasks` (computed once per MADE by the caller and passed here).
 */
export function packMadeParams(
  masks: [Float64Array, Float64Array, Float64Array],
  D: number,
  H: number,
  P: number,
  vars: ArrayLike<number>[],
): MadeParams {
  const [m1, m2, m3] = masks;
  const [w1, b1, w2, b2, w3, b3] = vars as [ArrayLike<number>, ...ArrayLike<number>[]];
  return {
    D,
    H,
    P,
    m1,
    m2,
    m3,
    w1: masked(w1, m1),
    b1: new Float64Array(b1!),
    w2: masked(w2!, m2),
    b2: new Float64Array(b2!),
    w3: masked(w3!, m3),
    b3: new Float64Array(b3!),
  };
}

/** Variables per MADE: [w1, b1, w2, b2, w3, b3]. */
const MADE_VARS = 6;

type Masks = [Float64Array, Float64Array, Float64Array];
/** Each flow's MADE masks, computed once per instance (a flow's orders never change). */
const maskCache = new WeakMap<object, Masks[]>();

/** A stack of MADEs (MAF/IAF, nsf-ar/nsf-iaf): its layers' orders and widths. */
export interface MadeStack {
  dim: number;
  hidden: number;
  layers: readonly { order: readonly number[]; hidden: number }[];
}

/**
 * Pack a stack's variable values ([w1, b1, w2, b2, w3, b3] per layer, in order) for the loops,
 * P outputs per coordinate; the masks are built on the first call per flow.
 */
export function packMadeStack(flow: MadeStack, P: number, vars: ArrayLike<number>[]): MadeParams[] {
  let masks = maskCache.get(flow);
  if (!masks) maskCache.set(flow, (masks = flow.layers.map((l) => madeMasks(l.order, l.hidden, P))));
  return masks.map((m, k) =>
    packMadeParams(m, flow.dim, flow.hidden, P, vars.slice(MADE_VARS * k, MADE_VARS * (k + 1))),
  );
}

/** What the forward keeps for the backward. */
export interface MadeTape {
  p: MadeParams;
  N: number;
  x: Float64Array; // [N, D], the input (not copied: the caller must not change it)
  h1: Float64Array; // [N, H]
  h2: Float64Array; // [N, H]
}

/**
 * raw = MADE(x): x [N, D] -> raw [N, P·D], and the tape. `h1`, `h2` and `raw` may be given
 * (scratch of the right sizes, [N, H], [N, H], [N, P·D]) to avoid allocating.
 */
export function madeForward(
  p: MadeParams,
  x: Float64Array,
  N: number,
  h1 = new Float64Array(N * p.H),
  h2 = new Float64Array(N * p.H),
  raw = new Float64Array(N * p.P * p.D),
): { raw: Float64Array; tape: MadeTape } {
  const { D, H, P } = p;
  mlpForward(p, x, h1, h2, raw, N, D, H, P * D); // the MLP on the masked weights
  return { raw, tape: { p, N, x, h1, h2 } };
}

/** Scratch of the backward, reused from call to call while the sizes stay (nothing outlives a call). */
let gA2 = new Float64Array(0);
let gA1 = new Float64Array(0);
let gxScratch = new Float64Array(0);

/**
 * Backward of `madeForward`: dRaw = ∂L/∂raw [N, P·D] -> adds ∂L/∂x into `dx` ([N, D]; a new
 * zero array when not given) and returns ∂L/∂[w1, b1, w2, b2, w3, b3] (float64, masked).
 */
export function madeBackward(
  tape: MadeTape,
  dRaw: Float64Array,
  dx: Float64Array = new Float64Array(tape.N * tape.p.D),
): { dx: Float64Array; grads: Float64Array[] } {
  const { p, N, x, h1, h2 } = tape;
  const { D, H, P } = p;
  if (gA2.length !== N * H) [gA2, gA1] = [new Float64Array(N * H), new Float64Array(N * H)];
  if (gxScratch.length !== N * D) gxScratch = new Float64Array(N * D);
  const d = zeroMLPGrads(D, H, P * D);
  mlpBackward(p, x, h1, h2, dRaw, d, gxScratch, gA2, gA1, N, D, H, P * D);
  for (let i = 0; i < N * D; i++) dx[i] += gxScratch[i]!;
  for (const [g, m] of [
    [d.w1, p.m1],
    [d.w2, p.m2],
    [d.w3, p.m3],
  ] as const) {
    for (let i = 0; i < m.length; i++) g[i] = g[i]! * m[i]!;
  }
  return { dx, grads: [d.w1, d.b1, d.w2, d.b2, d.w3, d.b3] };
}
