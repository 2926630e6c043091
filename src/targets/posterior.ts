/**
 * A real posterior to sample by reverse KL: Bayesian logistic regression.
 *
 * Data (x_n, y_n), n = 1..N, x_n ∈ R^P, y_n ∈ {0, 1}; with an intercept the design row is
 * x̃_n = (1, x_n) and θ ∈ R^D, D = P + 1 (else x̃_n = x_n, D = P). The unnormalised posterior is
 *
 *   log p̃(θ) = Σ_n [ y_n log σ(x̃_nᵀθ) + (1 - y_n) log σ(-x̃_nᵀθ) ] + log N(θ; 0, s² I_D)
 *
 * so that Z = ∫ p̃ = p(y | X), the evidence. log σ(l) = -softplus(-l) keeps every term finite
 * for any |l| in float32 (the naive log(1/(1 + e^{-l})) is log 0 = -inf at l = -104).
 *
 * For D = 2 the truth is known by quadrature (`gridPosteriorMoments`), which is what a trained
 * flow is measured against.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { tf } from '../core/backend';
import { readCSVColumns, standardize } from './data';
import type { FlowSamples } from '../diagnostics/evaluate';
import { checkGrid, logProbOnGrid, type Grid2D } from './grid';
import { LOG_2PI } from '../flows/base';
import type { Target } from './energies';
import { checkBatch, checkFinite, checkPositive, checkPositiveInt } from '../core/validate';

export interface LogisticPosteriorOptions {
  /** Features: [N, P], as rows (number[][]) or row-major (Float32Array / Float64Array with `P`). */
  X: Float32Array | Float64Array | readonly (readonly number[])[];
  /** Columns P of a row-major `X` (ignored for number[][]). */
  P?: number;
  /** Labels in {0, 1}: [N] */
  y: ArrayLike<number>;
  /** Prior standard deviation s of every coefficient, θ ~ N(0, s² I) (default 5). */
  priorStd?: number;
  /** Prepend a column of ones, θ_0 is the intercept (default true). */
  intercept?: boolean;
  /** Display name (default "logistic posterior (N=…, D=…)"). */
  name?: string;
}

/** A logistic-regression posterior, with its data for plots and checks. */
export interface LogisticPosterior extends Target {
  /** Design matrix x̃ (with the column of ones first when `intercept`), row-major: [N, D] */
  readonly design: Float32Array;
  /** Labels: [N] */
  readonly y: Float32Array;
  readonly N: number;
  readonly priorStd: number;
  readonly intercept: boolean;
  /** The same log p̃(θ) in plain float64 JavaScript for one θ: [D] -> number (a test oracle). */
  logProb64(theta: ArrayLike<number>): number;
  /** Free the constant data tensor held by `logProb`. */
  dispose(): void;
}

/** log σ(l) = -softplus(-l) = -log(1 + e^{-l}) in float64, exact to rounding for any l. */
export function logSigmoid64(l: number): number {
  return l >= 0 ? -Math.log1p(Math.exp(-l)) : l - Math.log1p(Math.exp(l));
}

/**
 * The Bayesian logistic-regression posterior as a `Target` of dimension D = P (+1 with the
 * intercept):
 *
 *   log p̃(θ) = Σ_n [y_n log σ(x̃_nᵀθ) + (1 - y_n) log σ(-x̃_nᵀθ)] - ‖θ‖²/(2s²) - (D/2) log(2πs²)
 *
 * `logProb(θ: [B, D]) -> [B]` is one matMul [B, D]×[D, N] for all logits and one softplus
 * (via y log σ(l) + (1 - y) log σ(-l) = log σ((2y - 1) l)), with no loop over the batch, and
 * differentiable in θ. `logProb64` is the same in float64 for one θ.
 */
export function logisticPosterior(options: LogisticPosteriorOptions): LogisticPosterior {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object {X, y, ...}');
  const { X } = options;
  let rows: number;
  let P: number;
  let flat: Float64Array;
  if (X instanceof Float32Array || X instanceof Float64Array) {
    P = checkPositiveInt('P (columns of a row-major X)', options.P);
    if (X.length === 0 || X.length % P !== 0) throw new RangeError(`X must hold N * P values (P = ${P}), got length ${X.length}`);
    rows = X.length / P;
    flat = Float64Array.from(X);
  } else if (Array.isArray(X)) {
    rows = X.length;
    if (rows === 0) throw new RangeError('X must have at least one row');
    P = X[0]!.length;
    if (!(P >= 1)) throw new RangeError('X rows must have at least one column');
    flat = new Float64Array(rows * P);
    X.forEach((row, n) => {
      if (!Array.isArray(row) || row.length !== P) throw new RangeError(`X[${n}] must have ${P} values like X[0], got ${Array.isArray(row) ? row.length : typeof row}`);
      row.forEach((v, p) => (flat[n * P + p] = v));
    });
  } else {
    throw new TypeError('X must be number[][] or a row-major Float32Array/Float64Array with P');
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!)) throw new RangeError(`X has a non-finite value at row ${Math.floor(i / P)}, column ${i % P}`);
  }
  const { y } = options;
  if (y === null || typeof y !== 'object' || y.length !== rows) {
    throw new RangeError(`y must have one label per row of X (${rows}), got length ${y?.length}`);
  }
  const labels = new Float32Array(rows);
  for (let n = 0; n < rows; n++) {
    if (y[n] !== 0 && y[n] !== 1) throw new RangeError(`y must contain only 0 and 1, got y[${n}] = ${y[n]}`);
    labels[n] = y[n]!;
  }
  const priorStd = checkPositive('priorStd', options.priorStd ?? 5);
  const intercept = options.intercept ?? true;
  const D = P + (intercept ? 1 : 0);
  const N = rows;
  const design = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    if (intercept) design[n * D] = 1;
    for (let p = 0; p < P; p++) design[n * D + p + (intercept ? 1 : 0)] = flat[n * P + p]!;
  }
  const designF64 = Float64Array.from(design);
  const priorConst = -(D / 2) * (LOG_2PI + 2 * Math.log(priorStd)); // log N(0; 0, s² I_D)
  const invVar = 1 / (priorStd * priorStd);

  // With the sign t_n = 2y_n - 1 ∈ {-1, +1}, each likelihood term is one log-sigmoid:
  //   y log σ(l) + (1 - y) log σ(-l) = log σ(t l) = -softplus(-t l),
  // so with the constant matrix A = -(t ⊙ x̃)ᵀ, log p(y | θ) = -Σ_n softplus((θ A)_n): one matMul
  // and one softplus per batch, stable for any |θ| (tfjs softplus returns x for large x).
  const negSignedT = new Float32Array(D * N); // A = -(t_n x̃_n)ᵀ: [D, N]
  for (let n = 0; n < N; n++) {
    const t = 2 * labels[n]! - 1;
    for (let d = 0; d < D; d++) negSignedT[d * N + n] = -t * design[n * D + d]!;
  }
  // Kept alive for the target's lifetime (a few KB for the penguin data).
  const A = tf.keep(tf.tensor2d(negSignedT, [D, N])); // A: [D, N]

  const logProb = (theta: tf.Tensor2D): tf.Tensor1D => {
    checkBatch('theta', theta, D);
    return tf.tidy(() => {
      const negSignedLogits = tf.matMul(theta, A); // -t_n x̃_nᵀθ: [B, N]
      const logLik = tf.neg(tf.sum(tf.softplus(negSignedLogits), 1)); // Σ_n log σ(t_n x̃_nᵀθ): [B]
      const logPrior = tf.add(tf.mul(-0.5 * invVar, tf.sum(tf.square(theta), 1)), priorConst); // [B]
      return tf.add(logLik, logPrior) as tf.Tensor1D;
    });
  };

  const logProb64 = (theta: ArrayLike<number>): number => {
    if (theta.length !== D) throw new RangeError(`theta must have length D = ${D}, got ${theta.length}`);
    let s = priorConst;
    for (let d = 0; d < D; d++) s -= 0.5 * invVar * theta[d]! * theta[d]!;
    for (let n = 0; n < N; n++) {
      let l = 0;
      for (let d = 0; d < D; d++) l += designF64[n * D + d]! * theta[d]!;
      s += labels[n] === 1 ? logSigmoid64(l) : logSigmoid64(-l);
    }
    return s;
  };

  return {
    name: options.name ?? `logistic posterior (N=${N}, D=${D})`,
    dim: D,
    logProb,
    design,
    y: labels,
    N,
    priorStd,
    intercept,
    logProb64,
    dispose: () => A.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------
// Ground truth in 2-D by quadrature
// ---------------------------------------------------------------------------------------------

/** Moments of a 2-D density by the midpoint rule on a grid. */
export interface GridMoments {
  /** E[θ]: [2] */
  mean: [number, number];
  /** √Var[θ_d]: [2] */
  std: [number, number];
  /** Corr(θ_0, θ_1). */
  corr: number;
  /** Covariance, row-major: [2 × 2] */
  cov: [number, number, number, number];
  /** log Z = log ∫ p̃ (the log evidence for a posterior). */
  logZ: number;
  /** Fraction of the mass in the outermost ring of cells: should be ≈ 0 (the box holds the mass). */
  edgeMass: number;
  /** The grid used. */
  grid: Grid2D;
}

function hasLogProb64(t: Target): t is Target & { logProb64(theta: ArrayLike<number>): number } {
  return typeof (t as { logProb64?: unknown }).logProb64 === 'function';
}

/** log p̃ on the grid in float64 through the target's plain-JS `logProb64` (fast for large grids). */
function gridLogProb64(target: Target & { logProb64(theta: ArrayLike<number>): number }, grid: Grid2D): Float64Array {
  const out = new Float64Array(grid.nx * grid.ny);
  const hx = (grid.xlim[1] - grid.xlim[0]) / grid.nx;
  const hy = (grid.ylim[1] - grid.ylim[0]) / grid.ny;
  const theta = new Float64Array(2);
  for (let j = 0; j < grid.ny; j++) {
    for (let i = 0; i < grid.nx; i++) {
      theta[0] = grid.xlim[0] + (i + 0.5) * hx; // float64 midpoints
      theta[1] = grid.ylim[0] + (j + 0.5) * hy;
      out[j * grid.nx + i] = target.logProb64(theta);
    }
  }
  return out;
}

/**
 * Posterior moments of a 2-D target by the midpoint rule on `grid` (y outer, x inner), with
 * weights w_ij = exp(log p̃(θ_ij) - max log p̃) summed in float64:
 *
 *   E[θ] = Σ w θ / Σ w,  Cov = Σ w (θ - E θ)(θ - E θ)ᵀ / Σ w,
 *   log Z = max log p̃ + log Σ w + log(h_x h_y)
 *
 * The box must hold essentially all the mass: check `edgeMass`, or build the grid with
 * `autoGrid`. log p̃ comes from the target's float64 `logProb64` when it has one (e.g.
 * `logisticPosterior`), else from `target.logProb` (float32); sums are float64.
 */
export function gridPosteriorMoments(target: Target, grid: Grid2D): GridMoments {
  if (target === null || typeof target !== 'object') throw new TypeError(`target must be a 2-D Target, got ${String(target)}`);
  if (target.dim !== 2) throw new RangeError(`gridPosteriorMoments needs a 2-D target, got dim ${target.dim}`);
  checkGrid(grid); // also for float64 targets, whose grid never reaches logProbOnGrid's check
  const lp = hasLogProb64(target) ? gridLogProb64(target, grid) : logProbOnGrid(target.logProb, grid);
  const hx = (grid.xlim[1] - grid.xlim[0]) / grid.nx;
  const hy = (grid.ylim[1] - grid.ylim[0]) / grid.ny;
  const cx = (i: number): number => grid.xlim[0] + (i + 0.5) * hx; // midpoints in float64
  const cy = (j: number): number => grid.ylim[0] + (j + 0.5) * hy;
  let max = -Infinity;
  for (let i = 0; i < lp.length; i++) if (lp[i]! > max) max = lp[i]!;
  if (!Number.isFinite(max)) throw new RangeError(`target log density is ${max} everywhere on the grid`);
  let w0 = 0;
  let m0 = 0;
  let m1 = 0;
  let edge = 0;
  for (let j = 0; j < grid.ny; j++) {
    for (let i = 0; i < grid.nx; i++) {
      const k = j * grid.nx + i;
      const w = Math.exp(lp[k]! - max);
      w0 += w;
      m0 += w * cx(i);
      m1 += w * cy(j);
      if (i === 0 || j === 0 || i === grid.nx - 1 || j === grid.ny - 1) edge += w;
    }
  }
  m0 /= w0;
  m1 /= w0;
  let c00 = 0;
  let c01 = 0;
  let c11 = 0;
  for (let j = 0; j < grid.ny; j++) {
    for (let i = 0; i < grid.nx; i++) {
      const w = Math.exp(lp[j * grid.nx + i]! - max);
      const d0 = cx(i) - m0;
      const d1 = cy(j) - m1;
      c00 += w * d0 * d0;
      c01 += w * d0 * d1;
      c11 += w * d1 * d1;
    }
  }
  c00 /= w0;
  c01 /= w0;
  c11 /= w0;
  return {
    mean: [m0, m1],
    std: [Math.sqrt(c00), Math.sqrt(c11)],
    corr: c01 / Math.sqrt(c00 * c11),
    cov: [c00, c01, c01, c11],
    logZ: max + Math.log(w0) + Math.log(hx * hy),
    edgeMass: edge / w0,
    grid,
  };
}

export interface AutoGridOptions {
  /** Half-width of the first, coarse box [-L, L]² around 0 (default 30). */
  initialHalfWidth?: number;
  /** Half-width of each refined box, in posterior standard deviations (default 10). */
  halfWidthSds?: number;
  /** Points per axis of the returned grid (default 300; the midpoint rule on a smooth density
   * over ±10 sd converges fast: 300 and 1000 points agree to 1e-9 on the penguin posterior). */
  n?: number;
  /** Points per axis of the rough passes that place the box (default 100). */
  coarseN?: number;
  /** Refinement passes after the first (default 3). */
  passes?: number;
}

/**
 * A grid that holds essentially all the mass of a unimodal 2-D target, found from rough
 * estimates: moments on a coarse box [-L, L]², then boxes E[θ_d] ± k·sd_d from the previous
 * pass's moments, `passes` times. With k = 10 a Gaussian loses < 1e-20 of its mass outside the
 * box; skewed posteriors have heavier tails, which `edgeMass` of the result reports.
 */
export function autoGrid(target: Target, options: AutoGridOptions = {}): Grid2D {
  const L = checkPositive('initialHalfWidth', options.initialHalfWidth ?? 30);
  const k = checkPositive('halfWidthSds', options.halfWidthSds ?? 10);
  const n = checkPositiveInt('n', options.n ?? 300, 2);
  const coarse = checkPositiveInt('coarseN', options.coarseN ?? 100, 2);
  const passes = checkPositiveInt('passes', options.passes ?? 3, 0);
  let grid: Grid2D = { xlim: [-L, L], ylim: [-L, L], nx: coarse, ny: coarse };
  for (let p = 0; p < passes; p++) {
    const m = gridPosteriorMoments(target, grid);
    // A coarse grid can put all mass in one cell (std 0): never shrink below one old cell width.
    const sx = Math.max(m.std[0], (grid.xlim[1] - grid.xlim[0]) / grid.nx);
    const sy = Math.max(m.std[1], (grid.ylim[1] - grid.ylim[0]) / grid.ny);
    grid = { xlim: [m.mean[0] - k * sx, m.mean[0] + k * sx], ylim: [m.mean[1] - k * sy, m.mean[1] + k * sy], nx: coarse, ny: coarse };
  }
  return { ...grid, nx: n, ny: n };
}

// ---------------------------------------------------------------------------------------------
// Comparing weighted samples with the truth
// ---------------------------------------------------------------------------------------------

/** Self-normalised importance-sampled moments. */
export interface WeightedMoments {
  /** Σ w θ / Σ w: [D] */
  mean: number[];
  /** √(Σ w (θ_d - mean_d)² / Σ w): [D] */
  std: number[];
  /** Σ w (θ - mean)(θ - mean)ᵀ / Σ w, row-major: [D × D] */
  cov: number[];
  /** Cov_ij / (std_i std_j), row-major: [D × D] */
  corr: number[];
  /** (Σw)² / (N Σw²). */
  essFraction: number;
}

/**
 * Self-normalised importance-sampling moments of samples θ_i (row-major [n, D]) with log-weights
 * lw_i (e.g. `logWeights` of diagnostics.ts: log p̃ - log q), w_i = exp(lw_i - max lw):
 *
 *   mean = Σ w_i θ_i / Σ w_i,  Cov = Σ w_i (θ_i - mean)(θ_i - mean)ᵀ / Σ w_i
 *
 * Pass `logWeights = null` for plain sample moments (all w_i = 1). Sums are float64.
 * Rows with a non-finite log-weight get weight 0.
 */
export function weightedMoments(
  samples: FlowSamples | Float32Array | Float64Array,
  logWeights: ArrayLike<number> | null,
  dim?: number,
): WeightedMoments {
  let z: ArrayLike<number>;
  let D: number;
  if (samples instanceof Float32Array || samples instanceof Float64Array) {
    z = samples;
    D = checkPositiveInt('dim', dim);
  } else if (samples !== null && typeof samples === 'object' && samples.z instanceof Float32Array) {
    z = samples.z;
    D = samples.dim;
  } else {
    throw new TypeError('samples must be FlowSamples {z, n, dim} or a row-major array with dim');
  }
  if (z.length === 0 || z.length % D !== 0) throw new RangeError(`samples must hold n * dim values (dim = ${D}), got ${z.length}`);
  const n = z.length / D;
  if (logWeights !== null && logWeights.length !== n) {
    throw new RangeError(`logWeights must have one entry per sample (${n}), got ${logWeights.length}`);
  }
  let max = -Infinity;
  if (logWeights) for (let i = 0; i < n; i++) if (logWeights[i]! > max && Number.isFinite(logWeights[i]!)) max = logWeights[i]!;
  if (logWeights && max === -Infinity) throw new RangeError('logWeights has no finite entry');
  const w = new Float64Array(n);
  let sw = 0;
  let sw2 = 0;
  for (let i = 0; i < n; i++) {
    const lw = logWeights ? logWeights[i]! : 0;
    w[i] = logWeights ? (Number.isFinite(lw) ? Math.exp(lw - max) : 0) : 1;
    sw += w[i]!;
    sw2 += w[i]! * w[i]!;
  }
  const mean = new Array<number>(D).fill(0);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) mean[d]! += w[i]! * z[i * D + d]!;
  for (let d = 0; d < D; d++) mean[d]! /= sw;
  const cov = new Array<number>(D * D).fill(0);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < D; a++) {
      const da = z[i * D + a]! - mean[a]!;
      for (let b = 0; b < D; b++) cov[a * D + b]! += w[i]! * da * (z[i * D + b]! - mean[b]!);
    }
  }
  for (let k = 0; k < D * D; k++) cov[k]! /= sw;
  const std = mean.map((_, d) => Math.sqrt(cov[d * D + d]!));
  const corr = cov.map((c, k) => c / (std[Math.floor(k / D)]! * std[k % D]!));
  return { mean, std, cov, corr, essFraction: (sw * sw) / (n * sw2) };
}

// ---------------------------------------------------------------------------------------------
// Posterior predictive of a 1-feature model
// ---------------------------------------------------------------------------------------------

export interface PredictiveOptions {
  /** Lower and upper quantile of the band (default [0.05, 0.95]). */
  quantiles?: [number, number];
  /** Log importance weights of the θ samples (default: equal weights). */
  logWeights?: ArrayLike<number> | null;
}

/** The posterior predictive p(y = 1 | x) of a 1-feature model at each x. */
export interface PredictiveBand {
  x: Float64Array;
  /** E[σ(θ0 + θ1 x)]: [nx] */
  mean: Float64Array;
  /** Lower quantile of σ(θ0 + θ1 x) over θ: [nx] */
  lower: Float64Array;
  /** Upper quantile: [nx] */
  upper: Float64Array;
}

/** Weighted quantile q of values v (weights w, sum sw): the smallest v with cumulative weight ≥ q. */
function weightedQuantile(order: Int32Array, v: Float64Array, w: Float64Array, sw: number, q: number): number {
  let c = 0;
  for (let i = 0; i < order.length; i++) {
    c += w[order[i]!]!;
    if (c >= q * sw) return v[order[i]!]!;
  }
  return v[order[order.length - 1]!]!;
}

/**
 * Posterior predictive of the model with intercept and one feature, θ = (θ0, θ1): at each x,
 * the (weighted) mean and quantile band of p_s(x) = σ(θ0_s + θ1_s x) over samples θ_s
 * (row-major [S, 2], e.g. flow samples, or FlowSamples).
 */
export function posteriorPredictive(
  xs: ArrayLike<number>,
  thetas: FlowSamples | Float32Array | Float64Array,
  options: PredictiveOptions = {},
): PredictiveBand {
  const z = thetas instanceof Float32Array || thetas instanceof Float64Array ? thetas : thetas.z;
  if (!(thetas instanceof Float32Array || thetas instanceof Float64Array) && thetas.dim !== 2) {
    throw new RangeError(`posteriorPredictive needs θ = (intercept, slope), dim 2; got dim ${thetas.dim}`);
  }
  if (z.length === 0 || z.length % 2 !== 0) throw new RangeError(`thetas must hold S * 2 values, got ${z.length}`);
  const S = z.length / 2;
  const [qLo, qHi] = options.quantiles ?? [0.05, 0.95];
  checkFinite('quantiles[0]', qLo);
  checkFinite('quantiles[1]', qHi);
  if (!(qLo >= 0 && qLo < qHi && qHi <= 1)) throw new RangeError(`quantiles must satisfy 0 <= lo < hi <= 1, got [${qLo}, ${qHi}]`);
  const lwIn = options.logWeights ?? null;
  if (lwIn !== null && lwIn.length !== S) throw new RangeError(`logWeights must have one entry per sample (${S}), got ${lwIn.length}`);
  const w = new Float64Array(S).fill(1);
  if (lwIn) {
    let max = -Infinity;
    for (let s = 0; s < S; s++) if (Number.isFinite(lwIn[s]!) && lwIn[s]! > max) max = lwIn[s]!;
    for (let s = 0; s < S; s++) w[s] = Number.isFinite(lwIn[s]!) ? Math.exp(lwIn[s]! - max) : 0;
  }
  let sw = 0;
  for (let s = 0; s < S; s++) sw += w[s]!;
  const nx = xs.length;
  const out: PredictiveBand = { x: Float64Array.from(xs), mean: new Float64Array(nx), lower: new Float64Array(nx), upper: new Float64Array(nx) };
  const p = new Float64Array(S);
  const order = new Int32Array(S);
  for (let i = 0; i < nx; i++) {
    const x = checkFinite(`xs[${i}]`, xs[i]);
    let m = 0;
    for (let s = 0; s < S; s++) {
      p[s] = Math.exp(logSigmoid64(z[2 * s]! + z[2 * s + 1]! * x)); // σ(θ0 + θ1 x)
      m += w[s]! * p[s]!;
      order[s] = s;
    }
    order.sort((a, b) => p[a]! - p[b]!);
    out.mean[i] = m / sw;
    out.lower[i] = weightedQuantile(order, p, w, sw, qLo);
    out.upper[i] = weightedQuantile(order, p, w, sw, qHi);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The penguin models
// ---------------------------------------------------------------------------------------------

/**
 * Where data/penguins.csv is: next to src/ or dist/ (…/data), or under the working directory
 * or its parent (a notebook in notebooks/).
 */
export function penguinsCSVPath(): string {
  const candidates = [
    join(__dirname, '..', 'data', 'penguins.csv'),
    join(__dirname, '..', '..', 'data', 'penguins.csv'),
    join(process.cwd(), 'data', 'penguins.csv'),
    join(process.cwd(), '..', 'data', 'penguins.csv'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`data/penguins.csv not found (run node scripts/make-data.mjs); looked in: ${candidates.join(', ')}`);
  return found;
}

/** A concrete posterior on the penguin data, with the standardisation used. */
export interface PenguinModel {
  target: LogisticPosterior;
  /** Raw feature names (columns of data/penguins.csv). */
  features: string[];
  /** Standardised features, row-major: [N, P] */
  X: Float32Array;
  /** Labels: [N] */
  y: Float32Array;
  /** Raw feature = mean + std · standardised feature: [P] */
  mean: Float64Array;
  std: Float64Array;
  /** What y = 1 means. */
  description: string;
}

/** Prior std of every coefficient of the penguin models: weakly informative on standardised features. */
export const PENGUIN_PRIOR_STD = 5;

export interface PenguinModelOptions {
  /** CSV path (default `penguinsCSVPath()`). */
  path?: string;
  /** Prior std s (default PENGUIN_PRIOR_STD). */
  priorStd?: number;
}

/**
 * The 2-D model: is a penguin a Chinstrap (y = 1) rather than an Adélie (y = 0), from its
 * standardised bill length? θ = (intercept, slope), N = 214 (146 Adélie, 68 Chinstrap).
 * The classes overlap in bill length (not separable), so the posterior is proper; it is
 * visibly skewed and correlated (slope skewness ≈ 0.46, corr ≈ -0.58 with s = 5).
 */
export function penguinsSpeciesModel(options: PenguinModelOptions = {}): PenguinModel {
  const path = options.path ?? penguinsCSVPath();
  const t = readCSVColumns(path, ['bill_length_mm', 'species'], {
    where: { species: ['Adelie', 'Chinstrap'] },
    encode: { species: { Adelie: 0, Chinstrap: 1 } },
  });
  const raw = new Float32Array(t.rows);
  const y = new Float32Array(t.rows);
  for (let n = 0; n < t.rows; n++) {
    raw[n] = t.matrix[2 * n]!;
    y[n] = t.matrix[2 * n + 1]!;
  }
  const s = standardize(raw, 1);
  const target = logisticPosterior({ X: s.x, P: 1, y, priorStd: options.priorStd ?? PENGUIN_PRIOR_STD, intercept: true, name: 'penguins: Chinstrap vs Adélie ~ bill length' });
  return { target, features: ['bill_length_mm'], X: s.x, y, mean: s.mean, std: s.std, description: 'y = 1: Chinstrap, y = 0: Adélie' };
}

/**
 * The >2-D model: is an Adélie penguin male (y = 1), from its standardised bill length, bill
 * depth, flipper length and body mass? θ = (intercept, 4 slopes), D = 5, N = 146 (73 / 73).
 * Not separable: plain maximum likelihood (no prior) converges, to θ ≈ (0.30, 2.23, 1.62,
 * -0.23, 3.59), so the posterior is proper for any prior width.
 */
export function penguinsSexModel(options: PenguinModelOptions = {}): PenguinModel {
  const path = options.path ?? penguinsCSVPath();
  const features = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'];
  const t = readCSVColumns(path, [...features, 'male'], { where: { species: 'Adelie' } });
  const P = features.length;
  const raw = new Float32Array(t.rows * P);
  const y = new Float32Array(t.rows);
  for (let n = 0; n < t.rows; n++) {
    for (let p = 0; p < P; p++) raw[n * P + p] = t.matrix[n * (P + 1) + p]!;
    y[n] = t.matrix[n * (P + 1) + P]!;
  }
  const s = standardize(raw, P);
  const target = logisticPosterior({ X: s.x, P, y, priorStd: options.priorStd ?? PENGUIN_PRIOR_STD, intercept: true, name: 'penguins: male ~ Adélie measurements' });
  return { target, features, X: s.x, y, mean: s.mean, std: s.std, description: 'y = 1: male, y = 0: female (Adélie only)' };
}
