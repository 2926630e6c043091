/**
 * tanh from a table, for the MLP kernels (coupling.ts): 2·N·H of them per layer and direction.
 * `1 - 2/(e^{2a} + 1)` (numerics.tanhExp) costs ~12 ns here, mostly Math.exp; this ~4.7 (Estrin
 * below: ~5% over Horner). The same loop in WebAssembly (branch-free, copysign) measured ~16-18 ns
 * and was dropped.
 *
 * tanh is odd, so the table covers |a| ∈ [0, A_MAX) in steps h = 1/TABLE_STEPS; on interval k,
 * the quintic p_k(τ), τ ∈ [0, 1), matches tanh, tanh' = 1 - t² and tanh'' = -2t(1 - t²) at both
 * ends (Hermite). Its error is ~h⁶ max|tanh⁽⁶⁾|/46080, below 1e-10 over the whole line (tested
 * against Math.tanh), and its derivative is 1 - p² to ~1e-9 (tested), so the backward's
 * h' = 1 - h² stays consistent with the values. Past A_MAX, tanh = ±1 in float64
 * (1 - tanh(20) = 8.5e-18 < 2⁻⁵³).
 */

/** |a| from here on gives tanh = ±1 exactly in float64. */
export const A_MAX = 20;
/** Knots per unit of a: h = 1/16 gives a maximum error of ~3e-11. */
export const TABLE_STEPS = 16;

/** The Hermite quintic on [0, 1) with value, slope and curvature v0, d0, s0 at 0 and v1, d1, s1 at 1. */
function quintic(v0: number, d0: number, s0: number, v1: number, d1: number, s1: number): number[] {
  const r0 = v1 - v0 - d0 - s0 / 2;
  const r1 = d1 - d0 - s0;
  const r2 = s1 - s0;
  return [v0, d0, s0 / 2, 10 * r0 - 4 * r1 + r2 / 2, -15 * r0 + 7 * r1 - r2, 6 * r0 - 3 * r1 + r2 / 2];
}

/** Coefficients c0..c5 per interval k of [0, A_MAX): tanh(k h + τ h) ≈ Σ_i c_i τ^i. */
export function tanhTable(): Float64Array {
  const h = 1 / TABLE_STEPS;
  const n = A_MAX * TABLE_STEPS;
  const at = (a: number): [number, number, number] => {
    const t = Math.tanh(a);
    const d = 1 - t * t;
    return [t, h * d, h * h * (-2 * t * d)]; // tanh, h tanh', h² tanh''
  };
  const c = new Float64Array(6 * n);
  for (let k = 0; k < n; k++) c.set(quintic(...at(k * h), ...at((k + 1) * h)), 6 * k);
  return c;
}

const TABLE = tanhTable();

/** tanh(a) from the table. */
export function tanhTab(a: number): number {
  const x = Math.abs(a) * TABLE_STEPS;
  if (!(x < A_MAX * TABLE_STEPS)) return a > 0 ? 1 : a < 0 ? -1 : a; // ±1 past A_MAX, NaN stays NaN
  const k = x | 0;
  const t = x - k;
  const o = 6 * k;
  const t2 = t * t; // Estrin's scheme: short independent chains instead of Horner's one of ten
  const high = TABLE[o + 2]! + t * TABLE[o + 3]! + t2 * (TABLE[o + 4]! + t * TABLE[o + 5]!);
  const p = TABLE[o]! + t * TABLE[o + 1]! + t2 * high;
  return a < 0 ? -p : p;
}

/** d tanhTab/da, from the quintic's derivative (for the consistency test). */
export function tanhTabSlope(a: number): number {
  const x = Math.abs(a) * TABLE_STEPS;
  if (!(x < A_MAX * TABLE_STEPS)) return 0;
  const k = x | 0;
  const t = x - k;
  const o = 6 * k;
  const [c1, c2, c3, c4, c5] = [TABLE[o + 1]!, TABLE[o + 2]!, TABLE[o + 3]!, TABLE[o + 4]!, TABLE[o + 5]!];
  return TABLE_STEPS * (c1 + t * (2 * c2 + t * (3 * c3 + t * (4 * c4 + t * 5 * c5))));
}

/** a[i] = tanh(a[i]) for i < n, in place. */
export function tanhInPlace(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] = tanhTab(a[i]!);
}
