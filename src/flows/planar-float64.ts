/**
 * The planar maths in float64 on plain arrays: m, û (for the typed-array kernels and the inverse)
 * and the inverse's per-layer root find. The tf-op versions that the notebooks teach are in
 * planar.ts; each formula is written once per representation.
 */
import { softplus } from '../core/numerics';

/**
 * Margin added to m so that wᵀû > -1 survives float32: -1 + softplus(x) rounds to exactly -1
 * once softplus(x) < 6e-8 (x < -16.6), and wᵀû = -1 makes 1 + h'·wᵀû = 0 at h' = 1.
 * With it, 1 + h'·wᵀû ≥ 1e-4 and log|det J| ≥ -9.2 per layer.
 */
export const M_MARGIN = 1e-4;

/** m(x) in float64: the same map as mPlanar, for the typed-array kernels and the inverse. */
export function mPlanarJS(x: number): number {
  return softplus(x) - 1 + M_MARGIN;
}

/**
 * planarUHatPsi in float64 on plain arrays (u, w: [K, D] row-major), for the typed-array kernels
 * and the inverse: û: [K, D] and ψ_k = w_kᵀû_k = m(w_kᵀu_k): [K]. No correction step is needed
 * in float64. Rows with w = 0 give û = u and ψ = 0.
 */
export function planarUHatJS(
  u: ArrayLike<number>,
  w: ArrayLike<number>,
  K: number,
  D: number,
): { uHat: Float64Array; psi: Float64Array } {
  const uHat = new Float64Array(K * D);
  const psi = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    let n2 = 0;
    for (let d = 0; d < D; d++) {
      s += w[k * D + d]! * u[k * D + d]!;
      n2 += w[k * D + d]! * w[k * D + d]!;
    }
    const c = n2 > 0 ? (mPlanarJS(s) - s) / n2 : 0; // w = 0: û = u, ψ = 0
    let p = 0;
    for (let d = 0; d < D; d++) {
      const v = u[k * D + d]! + c * w[k * D + d]!;
      uHat[k * D + d] = v;
      p += w[k * D + d]! * v;
    }
    psi[k] = p;
  }
  return { uHat, psi };
}

/** Newton steps of the scalar inverse (each layer); converges in < 10 from the bracket. */
const INVERSE_MAX_ITERS = 60;
const INVERSE_TOL = 1e-12;

/**
 * f⁻¹(y) for a stack of K planar layers, y: [n, D] row-major, from the last layer down. For
 * y = z + û h(wᵀz + b), α = wᵀz solves wᵀy = α + ψ h(α + b) (ψ = wᵀû > -1, so the left side is
 * strictly increasing in α); Newton in a bisection bracket, then z = y - û h(α + b).
 */
export function planarInverseJS(
  y: ArrayLike<number>,
  n: number,
  D: number,
  K: number,
  uHat: Float64Array,
  psi: Float64Array,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
): Float64Array {
  const z = Float64Array.from(y);
  for (let k = K - 1; k >= 0; k--) {
    const wu = psi[k]!;
    const bound = Math.abs(wu); // |wᵀû h| ≤ |wᵀû|, so α ∈ [wᵀy - |wᵀû|, wᵀy + |wᵀû|]
    for (let i = 0; i < n; i++) {
      let wy = 0;
      for (let d = 0; d < D; d++) wy += w[k * D + d]! * z[i * D + d]!;
      let lo = wy - bound - 1e-9;
      let hi = wy + bound + 1e-9;
      let alpha = wy;
      let prevAbsG = Infinity;
      for (let it = 0; it < INVERSE_MAX_ITERS; it++) {
        const t = Math.tanh(alpha + b[k]!);
        const g = alpha + wu * t - wy;
        if (Math.abs(g) < INVERSE_TOL) break;
        if (g > 0) hi = alpha;
        else lo = alpha;
        const next = alpha - g / (1 + wu * (1 - t * t));
        // Newton, unless it leaves the bracket or stalls: on a steep tanh (large wᵀû, large ‖w‖)
        // it can jump back and forth across the root, each step landing just inside the
        // bracket, and never converge. Bisect when |g| did not at least halve.
        const newtonOk = next > lo && next < hi && Math.abs(g) < 0.5 * prevAbsG;
        alpha = newtonOk ? next : 0.5 * (lo + hi);
        prevAbsG = Math.abs(g);
      }
      const t = Math.tanh(alpha + b[k]!);
      for (let d = 0; d < D; d++) z[i * D + d] = z[i * D + d]! - uHat[k * D + d]! * t;
    }
  }
  return z;
}
