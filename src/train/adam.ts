/**
 * Adam (Kingma & Ba 2015) in typed-array loops, with the exact update rule of `tf.train.adam`:
 *
 *   m ← β1 m + (1 - β1) g,   v ← β2 v + (1 - β2) g²
 *   θ ← θ - lr · (m / (1 - β1ᵗ)) / (√(v / (1 - β2ᵗ)) + ε),   t = 1, 2, …
 *
 * with ε = the backend's epsilon (1e-7 on float32 backends), as tfjs uses. tfjs runs ~12 small
 * ops per variable for this (plus bookkeeping); here it is one loop per variable, a read of
 * the gradient and one `assign`. Moments are kept in float64.
 */
import { tf } from '../core/backend';

export class Adam {
  /** Step size; may be changed between steps (schedules). */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly vars: tf.Variable[];
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  /** β1ᵗ and β2ᵗ of the NEXT step. */
  private accBeta1: number;
  private accBeta2: number;

  constructor(variables: tf.Variable[], learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    this.vars = variables;
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon ?? tf.backend().epsilon();
    this.m = variables.map((x) => new Float64Array(x.size));
    this.v = variables.map((x) => new Float64Array(x.size));
    this.accBeta1 = beta1;
    this.accBeta2 = beta2;
  }

  /** One Adam step from gradients keyed by variable name (as `tf.variableGrads` returns them). */
  applyGradients(grads: Record<string, tf.Tensor>): void {
    this.applyGradientArrays(this.vars.map((x) => grads[x.name]?.dataSync() ?? null));
  }

  /** One Adam step from one gradient array per variable (null: no gradient, not updated). */
  applyGradientArrays(grads: (ArrayLike<number> | null)[]): void {
    const c1 = 1 - this.accBeta1;
    const c2 = 1 - this.accBeta2;
    const { beta1: b1, beta2: b2, epsilon: eps, learningRate: lr } = this;
    this.vars.forEach((x, i) => {
      const g = grads[i];
      if (!g) return;
      const theta = x.dataSync();
      const m = this.m[i]!;
      const v = this.v[i]!;
      const next = new Float32Array(x.size);
      for (let j = 0; j < next.length; j++) {
        const gj = g[j]!;
        const mj = b1 * m[j]! + (1 - b1) * gj;
        const vj = b2 * v[j]! + (1 - b2) * gj * gj;
        m[j] = mj;
        v[j] = vj;
        next[j] = theta[j]! - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
      }
      const t = tf.tensor(next, x.shape, 'float32');
      x.assign(t);
      t.dispose();
    });
    this.accBeta1 *= b1;
    this.accBeta2 *= b2;
  }

  /** Nothing to free (no tensors are held); present so it can stand in for a tfjs optimizer. */
  dispose(): void {
    // The moments are plain arrays, collected with this object.
  }
}
