/**
 * The coupling flows' conditioner MLP (flows/mlp.ts) on plain float64 arrays, forward and
 * backward, on the dense products of dense.ts (WebAssembly SIMD where there is one). Shared by
 * the affine coupling kernel (coupling.ts), the spline coupling kernel (spline-coupling.ts) and,
 * on its masked weights, the MADE of the autoregressive kernels (made.ts).
 *
 *   h1 = tanh(x W1 + b1): [N, H],   h2 = tanh(h1 W2 + b2): [N, H],   out = h2 W3 + b3: [N, O]
 *
 * Backward, given g_out = ∂L/∂out: [N, O]:
 *
 *   ∂L/∂W3 = h2ᵀ g_out,  ∂L/∂b3 = Σ_n g_out,  ∂L/∂a2 = (g_out W3ᵀ) ⊙ (1 - h2²)
 *   ∂L/∂W2 = h1ᵀ ∂L/∂a2, ∂L/∂b2 = Σ_n ∂L/∂a2, ∂L/∂a1 = (∂L/∂a2 W2ᵀ) ⊙ (1 - h1²)
 *   ∂L/∂W1 = xᵀ ∂L/∂a1,  ∂L/∂b1 = Σ_n ∂L/∂a1, ∂L/∂x = ∂L/∂a1 W1ᵀ
 */
import * as dense from './dense';
import * as tanh from './tanh';

// Module-level bindings of the hot-loop helpers (see planar.ts: under tsx an imported function
// called in a loop goes through a getter that V8 does not inline).
const { matMulBias, matMulTransB, addMatTMul, addColSums } = dense;
const { tanhInPlace } = tanh;

/** One MLP's weights in float64 (I inputs, H hidden units, O outputs). */
export interface DenseMLP {
  w1: Float64Array; // [I, H]
  b1: Float64Array; // [H]
  w2: Float64Array; // [H, H]
  b2: Float64Array; // [H]
  w3: Float64Array; // [H, O]
  b3: Float64Array; // [O]
}

/** ∂L/∂ of each weight, in the shapes of DenseMLP (accumulated into: zero them first). */
export type DenseMLPGrads = DenseMLP;

/** Zeroed gradient arrays for an I -> H -> H -> O MLP. */
export function zeroMLPGrads(I: number, H: number, O: number): DenseMLPGrads {
  return {
    w1: new Float64Array(I * H),
    b1: new Float64Array(H),
    w2: new Float64Array(H * H),
    b2: new Float64Array(H),
    w3: new Float64Array(H * O),
    b3: new Float64Array(O),
  };
}

/** Forward: x: [N, I] -> h1, h2: [N, H] (kept for the backward) and out: [N, O]. */
export function mlpForward(
  p: DenseMLP,
  x: Float64Array,
  h1: Float64Array,
  h2: Float64Array,
  out: Float64Array,
  N: number,
  I: number,
  H: number,
  O: number,
): void {
  matMulBias(x, p.w1, p.b1, h1, N, I, H);
  tanhInPlace(h1, N * H);
  matMulBias(h1, p.w2, p.b2, h2, N, H, H);
  tanhInPlace(h2, N * H);
  matMulBias(h2, p.w3, p.b3, out, N, H, O);
}

/**
 * Backward of `mlpForward`: adds ∂L/∂(each weight) into `grads`, writes ∂L/∂x: [N, I] into
 * `gx`. gH, gH1: [N, H] scratch.
 */
export function mlpBackward(
  p: DenseMLP,
  x: Float64Array,
  h1: Float64Array,
  h2: Float64Array,
  gOut: Float64Array,
  grads: DenseMLPGrads,
  gx: Float64Array,
  gH: Float64Array,
  gH1: Float64Array,
  N: number,
  I: number,
  H: number,
  O: number,
): void {
  addMatTMul(h2, gOut, grads.w3, N, H, O);
  addColSums(gOut, grads.b3, N, O);
  matMulTransB(gOut, p.w3, gH, N, O, H);
  for (let i = 0; i < N * H; i++) gH[i] = gH[i]! * (1 - h2[i]! * h2[i]!); // ∂L/∂a2
  addMatTMul(h1, gH, grads.w2, N, H, H);
  addColSums(gH, grads.b2, N, H);
  matMulTransB(gH, p.w2, gH1, N, H, H);
  for (let i = 0; i < N * H; i++) gH1[i] = gH1[i]! * (1 - h1[i]! * h1[i]!); // ∂L/∂a1
  addMatTMul(x, gH1, grads.w1, N, I, H);
  addColSums(gH1, grads.b1, N, H);
  matMulTransB(gH1, p.w1, gx, N, H, I);
}
