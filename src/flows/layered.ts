/**
 * A flow built from K layers that each run in both directions, base -> data and data -> base.
 * A subclass writes one layer (`layer(k, x, inverse)`); forward, the inverse with its log-det and
 * the inverse alone follow here, the layers' log-dets added up:
 *
 *   forward:  layers 0, 1, …, K-1,   log|det ∂f/∂z| = Σ_k log|det J_k|
 *   inverse:  layers K-1, …, 0,      log|det ∂f⁻¹/∂y| = Σ_k log|det J_k⁻¹|
 */
import { tf } from '../core/backend';
import { checkBatch } from '../core/validate';
import type { FlowOutput } from './flow';
import type { InverseOutput, InvertibleFlow } from './coupling';
import { withoutLogDet } from './mlp';

export abstract class LayeredFlow implements InvertibleFlow {
  abstract readonly name: string;
  abstract readonly dim: number;
  abstract readonly variables: tf.Variable[];
  /** K, the number of layers. */
  protected abstract readonly numLayers: number;

  /** Layer k on x: [N, D] toward the data (inverse false) or the base (true), and its log|det|: [N]. */
  protected abstract layer(k: number, x: tf.Tensor2D, inverse: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D };

  private run(x0: tf.Tensor2D, inverse: boolean): FlowOutput {
    const K = this.numLayers;
    return tf.tidy(() => {
      let x = x0;
      let logDetJ = tf.zeros([x0.shape[0]]) as tf.Tensor1D; // [N]
      for (let i = 0; i < K; i++) {
        const { y, logDet } = this.layer(inverse ? K - 1 - i : i, x, inverse);
        x = y;
        logDetJ = tf.add(logDetJ, logDet);
      }
      return { z: x, logDetJ };
    });
  }

  /** f(z) base -> data with log|det ∂f/∂z|. z: [N, D]. */
  forward(z: tf.Tensor2D): FlowOutput {
    checkBatch('z', z, this.dim);
    return this.run(z, false);
  }

  /** f⁻¹(y) data -> base with log|det ∂f⁻¹/∂y|. y: [N, D]. */
  inverseWithLogDet(y: tf.Tensor2D): InverseOutput {
    checkBatch('y', y, this.dim);
    return this.run(y, true);
  }

  /** f⁻¹(y): [N, D]. */
  inverse(y: tf.Tensor2D): tf.Tensor2D {
    return withoutLogDet(() => this.inverseWithLogDet(y));
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
  }
}
