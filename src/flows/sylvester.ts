/**
 * Sylvester flows (van den Berg, Hasenclever, Tomczak & Welling 2018), non-amortised.
 *
 *   z' = z + Q R h(R̃ Qᵀ z + b),  h = tanh
 *
 * Q: D×M with orthonormal columns, R and R̃: M×M upper triangular, b: [M]. By Sylvester's
 * determinant identity det(I_D + A B) = det(I_M + B A), the D×D Jacobian determinant becomes
 * an M×M one, and with triangular R, R̃ a product of diagonals:
 *
 *   log|det J| = Σ_i log|1 + r_ii r̃_ii h'((R̃ Qᵀ z + b)_i)|
 *
 * Invertibility: the authors put the diagonals through tanh, so r_ii r̃_ii ∈ (-1, 1) and with
 * h' ∈ (0, 1] every factor is > 0 (here tanh·DIAG_BOUND, so that it also holds in float32).
 * R̃'s strictly upper entries come from the TRANSPOSED strictly lower triangle of the raw matrix, so R and R̃ never share an entry.
 *
 * Three ways to get Q (the variants of the paper):
 * - orthogonal: Q ← Q(I + ½(I - QᵀQ)) from Q_raw/‖Q_raw‖_F until ‖QᵀQ - I‖_F ≤ 1e-6 (≤ 100 steps;
 *   a Q_raw that is zero or (nearly) rank-deficient never gets there and is an error, as a wrong
 *   log-det would be silent);
 * - householder: Q = first M columns of H_1 ⋯ H_H, H_h = I - 2 v_h v_hᵀ/‖v_h‖² (v_h = 0: H_h = I);
 * - triangular: Q = identity on even layers and the reversal permutation on odd layers.
 */
import { tf } from '../core/backend';
import { ownedVariable, type Flow, type FlowOutput } from './flow';
import { Rng } from '../core/random';
import { checkBatch, checkFinite, checkOneOf, checkPositiveInt, checkSeed } from '../core/validate';

export const SYLVESTER_VARIANTS = ['orthogonal', 'householder', 'triangular'] as const;
export type SylvesterVariant = (typeof SYLVESTER_VARIANTS)[number];

/** Björck orthogonalisation stops when ‖QᵀQ - I‖_F ≤ ORTHO_TOL, or after ORTHO_MAX_STEPS. */
export const ORTHO_TOL = 1e-6;
export const ORTHO_MAX_STEPS = 100;

/**
 * Bound on |r_ii|, |r̃_ii|: tanh(raw)·DIAG_BOUND. tanh rounds to exactly ±1 in float32 for
 * |raw| > 9, and r r̃ = -1 would zero a Jacobian factor; with the bound every factor
 * 1 + r r̃ h' ≥ 1 - DIAG_BOUND² ≈ 2e-4 > 0.
 */
export const DIAG_BOUND = 1 - 1e-4;

/** Diagonal entries r_ii = DIAG_BOUND · tanh(raw) ∈ (-1, 1). */
export function boundedDiag(raw: tf.Tensor): tf.Tensor {
  return tf.mul(tf.tanh(raw), DIAG_BOUND);
}

/** boundedDiag of one entry in float64, for the typed-array kernels. */
export function boundedDiagJS(raw: number): number {
  return DIAG_BOUND * Math.tanh(raw);
}

export interface SylvesterOptions {
  dim?: number;
  /** Layers (default 1). */
  K?: number;
  /** Columns of Q, 1 ≤ M ≤ D (default D). */
  M?: number;
  variant?: SylvesterVariant;
  /** Householder reflections per layer (default D). */
  H?: number;
  seed?: number;
  /** Scale of R at initialisation; 0 gives the identity map exactly (default 0.01). */
  initScale?: number;
}

/** The strictly upper-triangular mask of an M×M matrix. */
function strictUpperMask(M: number): tf.Tensor2D {
  const m = new Float32Array(M * M);
  for (let i = 0; i < M; i++) for (let j = i + 1; j < M; j++) m[i * M + j] = 1;
  return tf.tensor2d(m, [M, M]);
}

/** The error for a Q_raw that cannot be orthogonalised (zero, or not converged: rank-deficient). */
export function orthogonalizeError(
  layer: number,
  normOrErr: { norm?: number; err?: number },
  steps: number,
  tol: number,
): RangeError {
  if (normOrErr.norm !== undefined) {
    return new RangeError(
      `Sylvester layer ${layer}: Q_raw is ${normOrErr.norm === 0 ? 'zero' : `not finite (norm ${normOrErr.norm})`}, so it has no orthonormal columns`,
    );
  }
  return new RangeError(
    `Sylvester layer ${layer}: orthogonalisation did not converge in ${steps} steps (‖QᵀQ - I‖_F = ${normOrErr.err!.toPrecision(3)} > ${tol.toExponential()}): ` +
      'Q_raw is (nearly) rank-deficient, and its log-det would be wrong',
  );
}

/**
 * Iterative orthogonalisation of a batch Q: [K, D, M], differentiable. Returns Q with
 * orthonormal columns and the number of steps used. Throws when a Q_raw is zero or not finite,
 * or when ‖QᵀQ - I‖_F is still above `tol` after `maxSteps` steps.
 */
export function orthogonalize(
  qRaw: tf.Tensor3D,
  tol = ORTHO_TOL,
  maxSteps = ORTHO_MAX_STEPS,
): { Q: tf.Tensor3D; steps: number } {
  const [, , M] = qRaw.shape;
  let steps = 0;
  const Q = tf.tidy(() => {
    const eye = tf.eye(M).expandDims(0);
    const norms = tf.sqrt(tf.sum(tf.square(qRaw), [1, 2], true)); // [K, 1, 1]
    const normValues = norms.dataSync();
    const bad = normValues.findIndex((n) => !(n > 0) || !Number.isFinite(n));
    if (bad >= 0) throw orthogonalizeError(bad, { norm: normValues[bad]! }, 0, tol);
    let q = tf.div(qRaw, norms) as tf.Tensor3D;
    for (;;) {
      const qtq = tf.matMul(q, q, true, false); // [K, M, M]
      const dev = tf.sub(eye, qtq);
      const errs = Array.from(tf.sqrt(tf.sum(tf.square(dev), [1, 2])).dataSync()); // [K]
      const worst = errs.reduce((w, e, k) => (e > errs[w]! || Number.isNaN(e) ? k : w), 0);
      if (errs[worst]! <= tol) break;
      if (steps >= maxSteps) throw orthogonalizeError(worst, { err: errs[worst]! }, steps, tol);
      q = tf.matMul(q, tf.add(eye, tf.mul(0.5, dev))) as tf.Tensor3D;
      steps++;
    }
    return q;
  });
  return { Q, steps };
}

/** Q: [K, D, M] as the first M columns of products of H Householder reflections v: [K, H, D]. */
export function householderQ(v: tf.Tensor3D, M: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [K, H, D] = v.shape;
    let Q = tf.tile(tf.eye(D).expandDims(0), [K, 1, 1]) as tf.Tensor3D; // [K, D, D]
    for (let h = 0; h < H; h++) {
      const vh = tf.slice(v, [0, h, 0], [K, 1, D]); // [K, 1, D]
      const n2 = tf.sum(tf.square(vh), 2, true); // [K, 1, 1]
      const safeN2 = tf.add(n2, tf.sub(1, tf.sign(n2))); // ‖v‖², or 1 where v = 0: H = I, not 0/0
      // Q ← Q (I - 2 v vᵀ/‖v‖²) = Q - 2 (Q v) vᵀ/‖v‖²
      const Qv = tf.matMul(Q, vh, false, true); // [K, D, 1]
      Q = tf.sub(Q, tf.div(tf.mul(2, tf.matMul(Qv, vh)), safeN2)) as tf.Tensor3D;
    }
    return tf.slice(Q, [0, 0, 0], [K, D, M]) as tf.Tensor3D;
  });
}

/**
 * The triangular variant's Q: [K, D, M] row-major: identity columns on even layers, reversed
 * identity on odd layers (for the typed-array kernels; triangularQ is the tensor).
 */
export function triangularQValues(K: number, D: number, M: number): Float64Array {
  const q = new Float64Array(K * D * M);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < M; j++) {
      const row = k % 2 === 0 ? j : D - 1 - j;
      q[k * D * M + row * M + j] = 1;
    }
  }
  return q;
}

/** Q: [K, D, M]: identity columns on even layers, reversed identity on odd layers. */
export function triangularQ(K: number, D: number, M: number): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from(triangularQValues(K, D, M)), [K, D, M]);
}

export class SylvesterFlow implements Flow {
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  readonly M: number;
  readonly H: number;
  readonly variant: SylvesterVariant;
  /** orthogonal: raw Q [K, D, M]; householder: reflection vectors [K, H, D]; triangular: none. */
  readonly qParam: tf.Variable | null;
  /** Raw [K, M, M]: strict upper triangle -> R, strict lower triangle (transposed) -> R̃. */
  readonly rRaw: tf.Variable<tf.Rank.R3>;
  /** Pre-tanh diagonals of R and R̃: [K, M]. */
  readonly rDiag: tf.Variable<tf.Rank.R2>;
  readonly rTildeDiag: tf.Variable<tf.Rank.R2>;
  /** b: [K, M] */
  readonly b: tf.Variable<tf.Rank.R2>;
  /** Orthogonalisation steps used in the last forward pass (orthogonal variant). */
  lastOrthoSteps = 0;
  private readonly triangularQConst: tf.Tensor3D | null;
  private readonly upperMask: tf.Tensor2D;

  constructor(options: SylvesterOptions = {}) {
    this.dim = checkPositiveInt('dim', options.dim ?? 2);
    this.K = checkPositiveInt('K', options.K ?? 1);
    this.M = checkPositiveInt('M', options.M ?? this.dim);
    if (this.M > this.dim) throw new RangeError(`M must be <= D (= ${this.dim}), got ${this.M}`);
    this.variant = checkOneOf('variant', options.variant ?? 'orthogonal', SYLVESTER_VARIANTS);
    this.H = checkPositiveInt('H', options.H ?? this.dim);
    const seed = checkSeed('seed', options.seed ?? 0);
    const initScale = checkFinite('initScale', options.initScale ?? 0.01);
    if (initScale < 0) throw new RangeError(`initScale must be >= 0, got ${initScale}`);
    const { K, M, dim: D } = this;
    this.name = `sylvester-${this.variant}(K=${K}, M=${M})`;
    const rng = new Rng(seed);
    const normal = (n: number, scale: number): Float32Array => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
      return a;
    };
    if (this.variant === 'orthogonal') this.qParam = ownedVariable(tf.tensor3d(normal(K * D * M, 1), [K, D, M]));
    else if (this.variant === 'householder')
      this.qParam = ownedVariable(tf.tensor3d(normal(K * this.H * D, 1), [K, this.H, D]));
    else this.qParam = null;
    this.triangularQConst = this.variant === 'triangular' ? triangularQ(K, D, M) : null;
    // Near-identity start: R ≈ 0 (so Q R h(·) ≈ 0) while R̃ is O(1), so gradients reach R at once.
    const raw = new Float32Array(K * M * M);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < M; j++) {
          if (j > i)
            raw[k * M * M + i * M + j] = initScale * rng.normal(); // R's free entries
          else if (j < i) raw[k * M * M + i * M + j] = rng.normal() / Math.sqrt(M); // R̃'s (transposed)
        }
      }
    }
    this.rRaw = ownedVariable(tf.tensor3d(raw, [K, M, M]));
    this.rDiag = ownedVariable(tf.tensor2d(normal(K * M, initScale), [K, M]));
    this.rTildeDiag = ownedVariable(tf.tensor2d(normal(K * M, 1), [K, M]));
    this.b = ownedVariable(tf.zeros([K, M]));
    this.upperMask = strictUpperMask(M);
  }

  get variables(): tf.Variable[] {
    const v: tf.Variable[] = [this.rRaw, this.rDiag, this.rTildeDiag, this.b];
    return this.qParam ? [this.qParam, ...v] : v;
  }

  /** Q: [K, D, M] with orthonormal columns. */
  Q(): tf.Tensor3D {
    if (this.variant === 'orthogonal') {
      const { Q, steps } = orthogonalize(this.qParam as tf.Variable<tf.Rank.R3>);
      this.lastOrthoSteps = steps;
      return Q;
    }
    if (this.variant === 'householder') return householderQ(this.qParam as tf.Variable<tf.Rank.R3>, this.M);
    return this.triangularQConst!.clone();
  }

  /** R and R̃: [K, M, M] upper triangular, diagonals tanh(raw). */
  R(): { R: tf.Tensor3D; RTilde: tf.Tensor3D } {
    return tf.tidy(() => {
      const eye = tf.eye(this.M);
      const R = tf.add(tf.mul(this.rRaw, this.upperMask), tf.mul(tf.expandDims(boundedDiag(this.rDiag), 2), eye));
      const RTilde = tf.add(
        tf.mul(tf.transpose(this.rRaw, [0, 2, 1]), this.upperMask),
        tf.mul(tf.expandDims(boundedDiag(this.rTildeDiag), 2), eye),
      );
      return { R: R as tf.Tensor3D, RTilde: RTilde as tf.Tensor3D };
    });
  }

  /** Reference forward: K layers op by op. z: [N, D]. */
  forward(z: tf.Tensor2D): FlowOutput {
    checkBatch('z', z, this.dim);
    return tf.tidy(() => {
      const { K, M, dim: D } = this;
      const Q = this.Q(); // [K, D, M]
      const { R, RTilde } = this.R(); // [K, M, M]
      const A = tf.matMul(Q, RTilde, false, true); // [K, D, M]: a = z A_k + b_k = (R̃ Qᵀ z)ᵀ
      const C = tf.matMul(R, Q, true, true); // [K, M, D]: z += h C_k = (Q R h)ᵀ
      const diagProd = tf.mul(boundedDiag(this.rDiag), boundedDiag(this.rTildeDiag)); // [K, M]: r_ii r̃_ii
      let zk = z;
      let logDetJ = tf.zeros([z.shape[0]]) as tf.Tensor1D;
      for (let k = 0; k < K; k++) {
        const Ak = tf.reshape(tf.slice(A, [k, 0, 0], [1, D, M]), [D, M]);
        const Ck = tf.reshape(tf.slice(C, [k, 0, 0], [1, M, D]), [M, D]);
        const bk = tf.slice(this.b, [k, 0], [1, M]); // [1, M]
        const h = tf.tanh(tf.add(tf.matMul(zk, Ak), bk)); // [N, M]
        zk = tf.add(zk, tf.matMul(h, Ck)); // [N, D]
        const dk = tf.slice(diagProd, [k, 0], [1, M]); // [1, M]
        const det = tf.add(1, tf.mul(dk, tf.sub(1, tf.square(h)))); // [N, M]
        logDetJ = tf.add(logDetJ, tf.sum(tf.log(tf.abs(det)), 1));
      }
      return { z: zk as tf.Tensor2D, logDetJ };
    });
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
    this.triangularQConst?.dispose();
    this.upperMask.dispose();
  }
}
