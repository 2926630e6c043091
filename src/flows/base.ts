/**
 * The base density q0 = N(0, I_D) of every flow in this library.
 *
 *   log q0(z) = -½‖z‖² - (D/2) log 2π
 */
import { tf } from '../core/backend';
import { Rng } from '../core/random';
import { checkBatch, checkPositiveInt } from '../core/validate';

export { LOG_2PI } from '../core/numerics';
import { LOG_2PI } from '../core/numerics';

export class StandardNormal {
  readonly dim: number;

  constructor(dim: number) {
    this.dim = checkPositiveInt('dim', dim);
  }

  /** n draws, z: [n, D]; seeded through `rng` (or a number seed). */
  sample(n: number, rng: Rng | number): tf.Tensor2D {
    checkPositiveInt('n', n);
    const r = typeof rng === 'number' ? new Rng(rng) : rng;
    return r.normalTensor(n, this.dim);
  }

  /** log q0(z): [N] for z: [N, D]. */
  logProb(z: tf.Tensor2D): tf.Tensor1D {
    checkBatch('z', z, this.dim);
    return tf.tidy(() => tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), (this.dim / 2) * LOG_2PI) as tf.Tensor1D);
  }

  /** The entropy of N(0, I_D): (D/2)(1 + log 2π). */
  entropy(): number {
    return (this.dim / 2) * (1 + LOG_2PI);
  }
}
