/**
 * The affine flow: a full-covariance Gaussian as one invertible linear layer.
 *
 *   θ = f(z) = μ + L z,   L lower triangular, L_dd = e^{a_dd} > 0,   log|det J| = Σ_d a_dd
 *
 * L is read off one raw matrix a: [D, D], its strict lower part as is and its diagonal through
 * exp (the strict upper part of a is unused). Pushing N(0, I) through f gives exactly
 * N(μ, LLᵀ), and every covariance has such a Cholesky factor. It starts at the identity
 * (μ = 0, a = 0). Placed after planar layers (`compose(planar, affine)`) it does the bulk move
 * and scale to a posterior's location, the planar layers the shape (notebook 05).
 */
import { tf } from '../core/backend';
import { ownedVariable, type Flow, type FlowOutput } from './flow';
import { checkBatch, checkPositiveInt } from '../core/validate';

export class AffineFlow implements Flow {
  readonly name: string;
  readonly dim: number;
  /** μ: [D] */
  readonly shift: tf.Variable<tf.Rank.R1>;
  /** a: [D, D]; L = strict lower part of a + diag(e^{a_dd}) */
  readonly raw: tf.Variable<tf.Rank.R2>;
  /** I_D: [D, D] (picks the diagonal) */
  private readonly eye: tf.Tensor2D;
  /** 1 below the diagonal, 0 on and above: [D, D] */
  private readonly strictLower: tf.Tensor2D;

  constructor(dim: number) {
    this.dim = checkPositiveInt('dim', dim);
    this.name = `affine(D=${dim})`;
    this.shift = ownedVariable(tf.zeros([dim]) as tf.Tensor1D);
    this.raw = ownedVariable(tf.zeros([dim, dim]) as tf.Tensor2D);
    this.eye = tf.eye(dim) as tf.Tensor2D;
    const mask = new Float32Array(dim * dim);
    for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) mask[i * dim + j] = 1;
    this.strictLower = tf.tensor2d(mask, [dim, dim]);
  }

  get variables(): tf.Variable[] {
    return [this.shift, this.raw];
  }

  /** L = strict lower part of a + diag(e^{a_dd}): [D, D]. */
  L(): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.mul(this.raw, this.strictLower), tf.mul(tf.exp(this.raw), this.eye)) as tf.Tensor2D);
  }

  /** Reference forward: θ = μ + L z row-wise, z: [N, D]; log|det J| = Σ_d a_dd for every row. */
  forward(z: tf.Tensor2D): FlowOutput {
    checkBatch('z', z, this.dim);
    return tf.tidy(() => {
      const x = tf.add(tf.matMul(z, this.L(), false, true), this.shift) as tf.Tensor2D; // μ + L z: [N, D]
      const logDet = tf.sum(tf.mul(this.raw, this.eye)); // Σ_d a_dd: []
      return { z: x, logDetJ: tf.mul(tf.ones([z.shape[0]]), logDet) as tf.Tensor1D };
    });
  }

  /** f⁻¹(θ) = L⁻¹(θ - μ) by forward substitution in float64, θ: [N, D] -> z: [N, D]. */
  inverse(y: tf.Tensor2D): tf.Tensor2D {
    checkBatch('y', y, this.dim);
    const [N, D] = y.shape;
    const [a, mu, yv] = [this.raw.dataSync(), this.shift.dataSync(), y.dataSync()];
    const z = new Float32Array(N * D); // [N, D]
    const row = new Float64Array(D); // z_n in float64
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < D; i++) {
        let r = yv[n * D + i]! - mu[i]!; // (θ - μ)_i - Σ_{j<i} L_ij z_j
        for (let j = 0; j < i; j++) r -= a[i * D + j]! * row[j]!;
        row[i] = r / Math.exp(a[i * D + i]!);
        z[n * D + i] = row[i]!;
      }
    }
    return tf.tensor2d(z, [N, D]);
  }

  dispose(): void {
    this.shift.dispose();
    this.raw.dispose();
    this.eye.dispose();
    this.strictLower.dispose();
  }
}
