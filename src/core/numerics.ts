/**
 * Scalar numerics shared by the library, in float64: one home for each formula.
 */

/** log 2π, the Gaussian normaliser's constant. */
export const LOG_2PI = Math.log(2 * Math.PI);

/** log mean exp(x), stable, in float64. */
export function logMeanExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s / x.length);
}

/** ln(e^a + e^b) = max(a, b) + log1p(e^{-|a - b|}): finite for every finite a, b. */
export function logAddExpPair(a: number, b: number): number {
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** softplus(x) = log(1 + eˣ), without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * σ(x) = 1/(1 + e⁻ˣ), without overflow. Also the stable weight of a in ln(e^a + e^b):
 * e^a / (e^a + e^b) = σ(a - b), and ∂ softplus/∂x = σ(x).
 */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * tanh(a) = 1 - 2/(e^{2a} + 1): one exp and no branch (faster than Math.tanh in the kernels'
 * loops); ±1 when the exp over- or underflows. Its derivative is h' = 1 - tanh², see tanhPrime.
 */
export function tanhExp(a: number): number {
  return 1 - 2 / (Math.exp(2 * a) + 1);
}

/** h'(a) = 1 - tanh²(a), from t = tanh(a). */
export function tanhPrime(t: number): number {
  return 1 - t * t;
}

/**
 * Bounds of a running product of Jacobian factors: Σ_k log|det_k| is computed as log Π_k det_k
 * (one log per sample instead of K; Math.log costs ~25-40 ns), and the product is folded into
 * the log whenever it leaves [PRODUCT_MIN, PRODUCT_MAX], so it never under- or overflows.
 */
export const PRODUCT_MIN = 1e-100;
export const PRODUCT_MAX = 1e100;

/**
 * Fold a running product p into logDet[n] when it leaves [PRODUCT_MIN, PRODUCT_MAX] (or is not
 * finite): returns the product to carry on with (p, or 1 after folding).
 */
export function foldProduct(p: number, logDet: Float64Array, n: number): number {
  if (p > PRODUCT_MIN && p < PRODUCT_MAX) return p;
  logDet[n] = logDet[n]! + Math.log(Math.abs(p));
  return 1;
}

/** The x and y columns of interleaved 2-D points [x0, y0, x1, y1, ...], as arrays made by `make`. */
export function columnsXY<T extends Float32Array | Float64Array>(
  pts: ArrayLike<number>,
  make: (n: number) => T,
): { x: T; y: T } {
  const n = Math.floor(pts.length / 2);
  const x = make(n);
  const y = make(n);
  for (let i = 0; i < n; i++) {
    x[i] = pts[2 * i]!;
    y[i] = pts[2 * i + 1]!;
  }
  return { x, y };
}

/** Median of a list (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}

/**
 * The w-weighted mean Σ_n w_n x_n / Σ w_n of the rows of x (row-major [N, D]) and their
 * w-weighted covariance Σ_n w_n (x_n - mean)(x_n - mean)ᵀ / Σ w_n, float64, plus `floor` on the
 * covariance's diagonal. w = 1 gives the sample moments (divisor N).
 */
export function weightedMeanCov(
  x: ArrayLike<number>,
  D: number,
  w: ArrayLike<number>,
  floor = 0,
): { mean: number[]; cov: number[] } {
  const N = x.length / D;
  let sw = 0;
  for (let n = 0; n < N; n++) sw += w[n]!;
  const mean = new Array<number>(D).fill(0);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) mean[d]! += w[n]! * x[n * D + d]!;
  for (let d = 0; d < D; d++) mean[d]! /= sw;
  const cov = new Array<number>(D * D).fill(0);
  for (let n = 0; n < N; n++) {
    for (let a = 0; a < D; a++) {
      const da = x[n * D + a]! - mean[a]!;
      for (let b = 0; b < D; b++) cov[a * D + b]! += w[n]! * da * (x[n * D + b]! - mean[b]!);
    }
  }
  for (let k = 0; k < D * D; k++) cov[k]! /= sw;
  for (let d = 0; d < D; d++) cov[d * D + d]! += floor;
  return { mean, cov };
}
