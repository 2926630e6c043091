/**
 * A float64 oracle of the rational-quadratic spline in plain Math, written from the paper
 * (Durkan et al. 2019, eq. 4) independently of src/flows/spline.ts, for test/spline.test.ts.
 */
import { Rng } from '../src/core/random';
import type { SplineConfig } from '../src/flows/spline';

/** Float64 central-difference step for the oracle: error ~h² g''' + 1e-16/h, far below the tolerance. */
export const FD64_STEP = 1e-6;
/** One spline's unnormalised parameters θ^w, θ^h, θ^d as plain numbers. */
export interface Theta {
  w: number[];
  h: number[];
  d: number[];
}

export function randomTheta(rng: Rng, K: number, scale: number): Theta {
  const draw = (n: number) => Array.from({ length: n }, () => scale * rng.normal());
  return { w: draw(K), h: draw(K), d: draw(K - 1) };
}

/** Knots x^(k) (or y^(k)) in float64, written from the paper independently of src/. */
export function knots64(theta: number[], minBin: number, B: number): number[] {
  const K = theta.length;
  const m = Math.max(...theta);
  const e = theta.map((t) => Math.exp(t - m));
  const sum = e.reduce((a, b) => a + b, 0);
  const out = [-B];
  let c = 0;
  for (let k = 0; k < K - 1; k++) {
    c += minBin + (1 - K * minBin) * (e[k]! / sum);
    out.push(-B + 2 * B * c);
  }
  out.push(B);
  return out;
}

/** Knot derivatives δ_0..δ_K in float64: 1 at the ends, δ_min + softplus(θ + c) inside. */
export function delta64(theta: number[], minD: number): number[] {
  const c = Math.log(Math.expm1(1 - minD));
  return [1, ...theta.map((t) => minD + Math.log1p(Math.exp(t + c))), 1];
}

/** The forward spline g(x) in float64 (paper eq. 4), identity outside [-B, B]. */
export function spline64(theta: Theta, x: number, cfg: SplineConfig): number {
  const B = cfg.bound;
  if (x < -B || x > B) return x;
  const xk = knots64(theta.w, cfg.minBinWidth, B);
  const yk = knots64(theta.h, cfg.minBinHeight, B);
  const dk = delta64(theta.d, cfg.minDerivative);
  let k = 0;
  while (k < cfg.bins - 1 && xk[k + 1]! <= x) k++;
  const s = (yk[k + 1]! - yk[k]!) / (xk[k + 1]! - xk[k]!);
  const xi = (x - xk[k]!) / (xk[k + 1]! - xk[k]!);
  const q = xi * (1 - xi);
  return yk[k]! + ((yk[k + 1]! - yk[k]!) * (s * xi * xi + dk[k]! * q)) / (s + (dk[k + 1]! + dk[k]! - 2 * s) * q);
}

/** log g′(x) in float64: the log of a central difference of `spline64` (relative error ~1e-9). */
export function logDer64(theta: Theta, x: number, cfg: SplineConfig): number {
  return Math.log((spline64(theta, x + FD64_STEP, cfg) - spline64(theta, x - FD64_STEP, cfg)) / (2 * FD64_STEP));
}

/** g⁻¹(y) in float64 by bisection on `spline64` (to the last bit). */
export function inverse64(theta: Theta, y: number, cfg: SplineConfig): number {
  let [lo, hi] = [Math.min(y, -cfg.bound) - 1, Math.max(y, cfg.bound) + 1];
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = 0.5 * (lo + hi);
    if (spline64(theta, mid, cfg) < y) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}
