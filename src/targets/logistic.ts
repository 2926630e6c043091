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
 * The target carries a data-only `spec` (kind 'logistic'); src/kernels/logistic.ts registers
 * the plain-array value-and-gradient kernel built from it. For D = 2 the truth is known by
 * quadrature (`gridPosteriorMoments` in diagnostics/moments.ts).
 */
import { tf } from '../core/backend';
import { LOG_2PI } from '../core/numerics';
import type { Target } from './energies';
import type { TargetSpec } from './kernel';
import { checkBatch, checkPositive, checkPositiveInt } from '../core/validate';

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

/**
 * What the fast kernel of a logistic posterior is built from (src/kernels/logistic.ts): plain
 * data only. The same arrays as the target's `design`, `y` and `priorStd`.
 */
export interface LogisticSpec extends TargetSpec {
  readonly kind: 'logistic';
  /** θ's dimension D (features + intercept). */
  readonly D: number;
  /** Rows N of the data. */
  readonly N: number;
  /** Design matrix x̃, row-major: [N, D] */
  readonly design: Float32Array;
  /** Labels in {0, 1}: [N] */
  readonly y: Float32Array;
  /** Prior standard deviation s. */
  readonly priorStd: number;
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
  /** The data its fast kernel is built from (registered for kind 'logistic'). */
  readonly spec: LogisticSpec;
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
    if (X.length === 0 || X.length % P !== 0)
      throw new RangeError(`X must hold N * P values (P = ${P}), got length ${X.length}`);
    rows = X.length / P;
    flat = Float64Array.from(X);
  } else if (Array.isArray(X)) {
    rows = X.length;
    if (rows === 0) throw new RangeError('X must have at least one row');
    P = X[0]!.length;
    if (!(P >= 1)) throw new RangeError('X rows must have at least one column');
    flat = new Float64Array(rows * P);
    X.forEach((row, n) => {
      if (!Array.isArray(row) || row.length !== P)
        throw new RangeError(
          `X[${n}] must have ${P} values like X[0], got ${Array.isArray(row) ? row.length : typeof row}`,
        );
      row.forEach((v, p) => (flat[n * P + p] = v));
    });
  } else {
    throw new TypeError('X must be number[][] or a row-major Float32Array/Float64Array with P');
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!))
      throw new RangeError(`X has a non-finite value at row ${Math.floor(i / P)}, column ${i % P}`);
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
    spec: { kind: 'logistic', D, N, design, y: labels, priorStd },
    logProb64,
    dispose: () => A.dispose(),
  };
}
