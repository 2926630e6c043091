/**
 * The elementwise rational-quadratic spline of flows/spline.ts on plain arrays: float64 inside,
 * forward g and inverse g⁻¹, each with a tape and a backward to the input and to the 3K - 1
 * unnormalised parameters θ = (θ^w, θ^h, θ^d) of every element. The same constants, tails (the
 * identity outside [-B, B], zero θ-gradient there), bin search (k = #{interior knots <= u}, u = B
 * in the last bin) and root as the reference, so the two agree to float32 rounding. Generic in
 * where θ comes from: a coupling MLP (spline-coupling.ts) or an autoregressive conditioner.
 *
 * Forward, per element (the reference's equations; K bins, shares p = softmax(θ^w)):
 *
 *   w_j = w_min + (1 - K w_min) p_j,   x^(k) = -B + 2B Σ_{j<k} w_j (k = 1..K-1), x^(0) = -B, x^(K) = B
 *   (the same for y^(k) from θ^h), δ_k = δ_min + softplus(θ^d_k + c), δ_0 = δ_K = 1
 *
 *   in bin k: W = x^(k+1) - x^(k), h = y^(k+1) - y^(k), s = h / W,
 *             ξ = (x - x^(k)) / W,  ω = (x^(k+1) - x) / W  (1 - ξ, computed apart as the reference)
 *             q = ξ ω,  T = δ_{k+1} + δ_k - 2 s,  den = s + T q,  num = s ξ² + δ_k q
 *             P = δ_{k+1} ξ² + 2 s q + δ_k ω²
 *   y = y^(k) + h num / den,   LD = log g'(x) = 2 log s + log P - 2 log den
 *
 * Backward of one element (micrograd style: each line pushes ḡ of a node to its inputs; ȳ and
 * L̄D given):
 *
 *   h̄ += ȳ num / den,   n̄um = ȳ h / den,   d̄en = -ȳ h num / den² - 2 L̄D / den,   P̄ = L̄D / P,
 *   s̄ += 2 L̄D / s
 *   num:  s̄ += n̄um ξ²,   ξ̄ += 2 n̄um s ξ,   δ̄_k += n̄um q,   q̄ += n̄um δ_k
 *   den:  s̄ += d̄en,   T̄ = d̄en q,   q̄ += d̄en T
 *   T:    δ̄_{k+1} += T̄,   δ̄_k += T̄,   s̄ -= 2 T̄
 *   P:    δ̄_{k+1} += P̄ ξ²,  ξ̄ += 2 P̄ δ_{k+1} ξ,  s̄ += 2 P̄ q,  q̄ += 2 P̄ s,  δ̄_k += P̄ ω²,  ω̄ += 2 P̄ δ_k ω
 *   q:    ξ̄ += q̄ ω,   ω̄ += q̄ ξ
 *   s:    h̄ += s̄ / W,   W̄ = -s̄ s / W
 *   ξ, ω: W̄ -= (ξ̄ ξ + ω̄ ω) / W,   x̄ = (ξ̄ - ω̄) / W,   x̄^(k) = -ξ̄ / W - W̄,   x̄^(k+1) = ω̄ / W + W̄
 *   h:    ȳ^(k) = ȳ - h̄,   ȳ^(k+1) = h̄
 *
 * then the knots to θ (only interior knots depend on θ; ± B are constants):
 *
 *   w̄_j = 2B Σ_{interior k' > j} x̄^(k'),   p̄_j = (1 - K w_min) w̄_j,   θ̄^w_j = p_j (p̄_j - Σ_i p_i p̄_i)
 *   θ̄^d_k = δ̄_k σ(θ^d_k + c)   (softplus' = the logistic σ)
 *
 * The inverse: y in bin k of the y-knots, ξ the stable root of the quadratic (flows/spline.ts,
 * `stableRoot`), x = x^(k) + ξ W, and log|g⁻¹'(y)| = -LD(x) with ξ, ω recomputed from x as the
 * reference. Its backward by the implicit function theorem, at the x returned (g(x; θ) = y):
 *
 *   x̄_tot = x̄ + ∂(-LD)/∂x · L̄D_inv,   ȳ = x̄_tot / g'(x),   θ̄ += -(x̄_tot / g'(x)) ∂g/∂θ + ∂(-LD)/∂θ · L̄D_inv
 *
 * (the same gradients as autodiff through the root formula, without its cancellations): two
 * calls of the element backward above, one with (ȳ, L̄D) = (0, -L̄D_inv) and one with
 * (-x̄_tot / g', 0).
 */
import type { SplineConfig } from '../flows/spline';

/** What the backward needs of one `splineForward` call (n elements, K bins). */
export interface SplineTape {
  n: number;
  cfg: SplineConfig;
  inverse: boolean;
  /** 1 where |u| <= B (the spline acts), 0 in the tails: [n] */
  inside: Uint8Array;
  /** The bin k of each element: [n] */
  bin: Int32Array;
  /** The point in x-space: the input (forward) or the output (inverse): [n] */
  x: Float64Array;
  /** log g'(x) (forward's log-det, minus the inverse's): [n] */
  ld: Float64Array;
  /**
   * The bin's x^(k), x^(k+1), y^(k), y^(k+1), δ_k, δ_{k+1} and σ(θ^d + c) = ∂δ/∂θ^d at knots k,
   * k + 1 (0 at the ends, whose δ = 1 is a constant): [n, BIN_VALUES]
   */
  bq: Float64Array;
  /** Softmax shares of θ^w, θ^h: [n, K] each */
  pw: Float64Array;
  ph: Float64Array;
}

/** Values per element kept of its bin (SplineTape.bq). */
const BIN_VALUES = 8;

/** y^(k) = -B + 2B Σ_{j<k} (min + (1 - K min) p_j) from θ[off..off+K); shares p into `p`. */
function knots(
  theta: ArrayLike<number>,
  off: number,
  K: number,
  minBin: number,
  B: number,
  out: Float64Array,
  oOff: number,
  p: Float64Array,
  pOff: number,
): void {
  let m = -Infinity;
  for (let j = 0; j < K; j++) m = Math.max(m, theta[off + j]!);
  let sum = 0;
  for (let j = 0; j < K; j++) sum += p[pOff + j] = Math.exp(theta[off + j]! - m);
  const scale = 1 - K * minBin;
  out[oOff] = -B; // the ends exactly ∓B, as the reference
  let c = 0;
  for (let j = 0; j < K; j++) {
    const pj = p[pOff + j]! / sum;
    p[pOff + j] = pj;
    if (j < K - 1) {
      c += minBin + scale * pj;
      out[oOff + j + 1] = -B + 2 * B * c;
    }
  }
  out[oOff + K] = B;
}

/** θ̄ of one knot vector's softmax from x̄^(k), x̄^(k+1) (bin k), added into dTheta[tOff..tOff+K). */
function knotsBackward(
  gLo: number,
  gHi: number,
  k: number,
  K: number,
  minBin: number,
  B: number,
  p: Float64Array,
  pOff: number,
  dTheta: Float64Array,
  tOff: number,
): void {
  // interior knots only: x^(k) when k >= 1, x^(k+1) when k + 1 <= K - 1
  const a = k >= 1 ? gLo : 0;
  const b = k + 1 <= K - 1 ? gHi : 0;
  const scale = 2 * B * (1 - K * minBin);
  let dot = 0;
  for (let j = 0; j < K; j++) {
    // w̄_j = 2B (x̄^(k) [j < k] + x̄^(k+1) [j < k + 1]), p̄_j = (1 - K min) w̄_j
    const gp = scale * ((j < k ? a : 0) + (j <= k ? b : 0));
    dot += p[pOff + j]! * gp;
  }
  for (let j = 0; j < K; j++) {
    const gp = scale * ((j < k ? a : 0) + (j <= k ? b : 0));
    dTheta[tOff + j] = dTheta[tOff + j]! + p[pOff + j]! * (gp - dot);
  }
}

/** y and LD of the bin at x (header equations), written into res[0], res[1]. */
function binForward(
  x: number,
  xLo: number,
  xHi: number,
  yLo: number,
  yHi: number,
  dLo: number,
  dHi: number,
  res: Float64Array,
): void {
  const W = xHi - xLo;
  const h = yHi - yLo;
  const s = h / W;
  const xi = (x - xLo) / W;
  const om = (xHi - x) / W;
  const q = xi * om;
  const den = s + (dHi + dLo - 2 * s) * q;
  res[0] = yLo + (h * (s * xi * xi + dLo * q)) / den;
  const P = dHi * xi * xi + 2 * s * q + dLo * om * om;
  res[1] = 2 * Math.log(s) + Math.log(P) - 2 * Math.log(den);
}

/**
 * Backward of `binForward` for cotangents (ȳ, L̄D): out = ∂L/∂(x, x^(k), x^(k+1), y^(k),
 * y^(k+1), δ_k, δ_{k+1}) (header lines, in order).
 */
function binBackward(
  x: number,
  xLo: number,
  xHi: number,
  yLo: number,
  yHi: number,
  dLo: number,
  dHi: number,
  gy: number,
  gLD: number,
  out: Float64Array,
): void {
  const W = xHi - xLo;
  const h = yHi - yLo;
  const s = h / W;
  const xi = (x - xLo) / W;
  const om = (xHi - x) / W;
  const q = xi * om;
  const T = dHi + dLo - 2 * s;
  const den = s + T * q;
  const num = s * xi * xi + dLo * q;
  const P = dHi * xi * xi + 2 * s * q + dLo * om * om;
  let gh = (gy * num) / den;
  const gNum = (gy * h) / den;
  const gDen = (-gy * h * num) / (den * den) - (2 * gLD) / den;
  const gP = gLD / P;
  let gs = (2 * gLD) / s;
  let gxi = 0;
  let gom = 0;
  let gq = 0;
  let gdLo = 0;
  let gdHi = 0;
  // num = s ξ² + δ_k q
  gs += gNum * xi * xi;
  gxi += 2 * gNum * s * xi;
  gdLo += gNum * q;
  gq += gNum * dLo;
  // den = s + T q, T = δ_{k+1} + δ_k - 2 s
  gs += gDen;
  const gT = gDen * q;
  gq += gDen * T;
  gdHi += gT;
  gdLo += gT;
  gs -= 2 * gT;
  // P = δ_{k+1} ξ² + 2 s q + δ_k ω²
  gdHi += gP * xi * xi;
  gxi += 2 * gP * dHi * xi;
  gs += 2 * gP * q;
  gq += 2 * gP * s;
  gdLo += gP * om * om;
  gom += 2 * gP * dLo * om;
  // q = ξ ω
  gxi += gq * om;
  gom += gq * xi;
  // s = h / W; ξ = (x - x^(k)) / W; ω = (x^(k+1) - x) / W
  gh += gs / W;
  const gW = (-gs * s - gxi * xi - gom * om) / W;
  out[0] = (gxi - gom) / W;
  out[1] = -gxi / W - gW;
  out[2] = gom / W + gW;
  out[3] = gy - gh;
  out[4] = gh;
  out[5] = gdLo;
  out[6] = gdHi;
}

/** Number of θ entries per element: K widths + K heights + (K - 1) derivatives. */
function paramCount(K: number): number {
  return 3 * K - 1;
}

/**
 * The spline on n elements: u: [n], theta: [n, 3K - 1] row-major (θ^w, θ^h, θ^d per row, as
 * `splitSplineParams`). Returns y = g(u) (or g⁻¹(u) with `inverse`): [n], logDet = log|g'(u)|
 * (or log|g⁻¹'(u)|): [n], and the tape for `splineBackward`.
 */
export function splineForward(
  u: ArrayLike<number>,
  theta: ArrayLike<number>,
  n: number,
  cfg: SplineConfig,
  inverse = false,
): { y: Float64Array; logDet: Float64Array; tape: SplineTape } {
  const { bins: K, bound: B, minBinWidth, minBinHeight, minDerivative } = cfg;
  const Pn = paramCount(K);
  if (u.length !== n) throw new RangeError(`u must have n = ${n} values, got ${u.length}`);
  if (theta.length !== n * Pn) {
    throw new RangeError(`theta must have n · (3 · bins - 1) = ${n * Pn} values, got ${theta.length}`);
  }
  const shift = Math.log(Math.expm1(1 - minDerivative)); // softplus(shift) = 1 - δ_min
  const tape: SplineTape = {
    n,
    cfg,
    inverse,
    inside: new Uint8Array(n),
    bin: new Int32Array(n),
    x: new Float64Array(n),
    ld: new Float64Array(n),
    bq: new Float64Array(n * BIN_VALUES),
    pw: new Float64Array(n * K),
    ph: new Float64Array(n * K),
  };
  const { bq } = tape;
  const xk = new Float64Array(K + 1); // one element's knots, reused
  const yk = new Float64Array(K + 1);
  const y = new Float64Array(n);
  const logDet = new Float64Array(n);
  const res = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    const ui = u[i]!;
    if (!(B >= Math.abs(ui))) {
      y[i] = ui; // tails: the identity, log-det 0
      tape.x[i] = ui;
      continue;
    }
    tape.inside[i] = 1;
    const t0 = i * Pn;
    knots(theta, t0, K, minBinWidth, B, xk, 0, tape.pw, i * K);
    knots(theta, t0 + K, K, minBinHeight, B, yk, 0, tape.ph, i * K);
    const kn = inverse ? yk : xk;
    let k = 0;
    while (k < K - 1 && ui >= kn[k + 1]!) k++;
    tape.bin[i] = k;
    // δ_k, δ_{k+1} (1 at the ends) and σ = ∂δ/∂θ^d (0 at the ends): only this bin's two
    const b0 = i * BIN_VALUES;
    for (let e = 0; e < 2; e++) {
      const j = k + e; // knot index
      let delta = 1;
      let sigma = 0;
      if (j >= 1 && j <= K - 1) {
        const a = theta[t0 + 2 * K + j - 1]! + shift;
        const ea = Math.exp(-Math.abs(a));
        delta = minDerivative + Math.max(a, 0) + Math.log1p(ea); // δ_min + softplus(a)
        sigma = a >= 0 ? 1 / (1 + ea) : ea / (1 + ea);
      }
      bq[b0 + 4 + e] = delta;
      bq[b0 + 6 + e] = sigma;
    }
    const xLo = (bq[b0] = xk[k]!);
    const xHi = (bq[b0 + 1] = xk[k + 1]!);
    const yLo = (bq[b0 + 2] = yk[k]!);
    const yHi = (bq[b0 + 3] = yk[k + 1]!);
    const dLo = bq[b0 + 4]!;
    const dHi = bq[b0 + 5]!;
    let x = ui;
    if (inverse) {
      const W = xHi - xLo;
      const h = yHi - yLo;
      const s = h / W;
      const sum2 = dHi + dLo - 2 * s;
      const dy = ui - yLo;
      const a = h * (s - dLo) + dy * sum2;
      const b = h * dLo - dy * sum2;
      const c = -s * dy;
      const rootDisc = Math.sqrt(Math.max(0, b * b - 4 * a * c));
      const xi = b >= 0 ? (2 * c) / (-b - rootDisc) : (-b + rootDisc) / (2 * a); // stableRoot
      x = xLo + xi * W;
    }
    binForward(x, xLo, xHi, yLo, yHi, dLo, dHi, res);
    tape.x[i] = x;
    tape.ld[i] = res[1]!;
    y[i] = inverse ? x : res[0]!;
    logDet[i] = inverse ? -res[1]! : res[1]!;
  }
  return { y, logDet, tape };
}

/**
 * Backward of `splineForward`: dy = ∂L/∂y: [n], dLogDet = ∂L/∂logDet: [n] -> dx = ∂L/∂u: [n],
 * dTheta = ∂L/∂θ: [n, 3K - 1] (zero in the tails).
 */
export function splineBackward(
  tape: SplineTape,
  dy: ArrayLike<number>,
  dLogDet: ArrayLike<number>,
): { dx: Float64Array; dTheta: Float64Array } {
  const { n, cfg, inverse, bq } = tape;
  const { bins: K, bound: B, minBinWidth, minBinHeight } = cfg;
  const Pn = paramCount(K);
  const dx = new Float64Array(n);
  const dTheta = new Float64Array(n * Pn);
  const g = new Float64Array(7); // ∂L/∂(x, x^(k), x^(k+1), y^(k), y^(k+1), δ_k, δ_{k+1})
  const g2 = new Float64Array(7);
  for (let i = 0; i < n; i++) {
    if (!tape.inside[i]) {
      dx[i] = dy[i]!;
      continue;
    }
    const k = tape.bin[i]!;
    const b0 = i * BIN_VALUES;
    const x = tape.x[i]!;
    const xLo = bq[b0]!;
    const xHi = bq[b0 + 1]!;
    const yLo = bq[b0 + 2]!;
    const yHi = bq[b0 + 3]!;
    const dLo = bq[b0 + 4]!;
    const dHi = bq[b0 + 5]!;
    if (!inverse) {
      binBackward(x, xLo, xHi, yLo, yHi, dLo, dHi, dy[i]!, dLogDet[i]!, g);
      dx[i] = g[0]!;
    } else {
      binBackward(x, xLo, xHi, yLo, yHi, dLo, dHi, 0, -dLogDet[i]!, g); // through logDet = -LD(x)
      const gPrime = Math.exp(tape.ld[i]!);
      const gX = dy[i]! + g[0]!; // x̄_tot
      dx[i] = gX / gPrime;
      // x = g⁻¹(y; θ): x̄_θ = -x̄_tot ∂g/∂θ / g'
      binBackward(x, xLo, xHi, yLo, yHi, dLo, dHi, -gX / gPrime, 0, g2);
      for (let j = 1; j < 7; j++) g[j] = g[j]! + g2[j]!;
    }
    const t0 = i * Pn;
    knotsBackward(g[1]!, g[2]!, k, K, minBinWidth, B, tape.pw, i * K, dTheta, t0);
    knotsBackward(g[3]!, g[4]!, k, K, minBinHeight, B, tape.ph, i * K, dTheta, t0 + K);
    if (k >= 1) dTheta[t0 + 2 * K + k - 1] += g[5]! * bq[b0 + 6]!; // δ_k interior
    if (k + 1 <= K - 1) dTheta[t0 + 2 * K + k] += g[6]! * bq[b0 + 7]!; // δ_{k+1} interior
  }
  return { dx, dTheta };
}
