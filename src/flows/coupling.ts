/**
 * Affine coupling flows (RealNVP, Dinh, Sohl-Dickstein & Bengio 2017).
 *
 * One coupling layer with a binary mask m ∈ {0, 1}^D keeps the masked coordinates and moves the
 * others by a scale and shift computed from the kept ones only:
 *
 *   y = m ⊙ x + (1 - m) ⊙ (x ⊙ exp(s(m ⊙ x)) + t(m ⊙ x))
 *   log|det ∂y/∂x| = Σ_d (1 - m_d) s_d(m ⊙ x)
 *
 * The Jacobian is triangular (up to a permutation), so its log-det is a sum, and the inverse is
 * as cheap as the forward:
 *
 *   x = m ⊙ y + (1 - m) ⊙ (y - t(m ⊙ y)) ⊙ exp(-s(m ⊙ y)),  log|det ∂x/∂y| = -Σ_d (1 - m_d) s_d
 *
 * s and t come from one small MLP per layer, D -> H -> H -> 2D (tanh hidden units); the
 * log-scale is bounded, s = c · tanh(raw_s / c) with c = `scaleFactor`, so one layer scales by at
 * most e^{±c} and a bad step cannot overflow exp. The last layer starts at zero: s = t = 0 and
 * the flow is the identity at initialisation.
 *
 * Masks alternate: for D = 2, [1, 0], [0, 1], [1, 0], …; in general the first ⌈D/2⌉ coordinates,
 * then the rest. Direction convention (as everywhere in this library): `forward` maps base ->
 * data, samples are forward(z0), and the data log-likelihood is
 *
 *   log q(x) = log q0(f⁻¹(x)) + log|det J_{f⁻¹}(x)|
 */
import { tf } from '../core/backend';
import type { Flow, FlowOutput } from './flow';
import { applyMLP, couplingSizes, createMLP, mlpVariables, perturbVariables, withoutLogDet, type MLP } from './mlp';
import { checkBatch, checkPositive, checkPositiveInt } from '../core/validate';

export interface CouplingOptions {
  /** Dimension D of x (default 2; must be >= 2: a coupling needs a coordinate to condition on). */
  dim?: number;
  /** Number of coupling layers K (default 4; use an even K so every coordinate moves as often). */
  K?: number;
  /** Hidden units H of each layer's MLP (default 32). */
  hidden?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
  /** Bound c on the log-scale: s = c · tanh(raw / c) ∈ (-c, c) (default 2). */
  scaleFactor?: number;
}

/** Output of the inverse pass: f⁻¹(y) and log|det J_{f⁻¹}(y)|. */
export interface InverseOutput {
  /** f⁻¹(y): [N, D] */
  z: tf.Tensor2D;
  /** log|det ∂f⁻¹/∂y| per row: [N] */
  logDetJ: tf.Tensor1D;
}

/** A flow that can be trained by maximum likelihood: it has an inverse with its log-det. */
export interface InvertibleFlow extends Flow {
  inverse(y: tf.Tensor2D): tf.Tensor2D;
  inverseWithLogDet(y: tf.Tensor2D): InverseOutput;
}

/** The masks of K coupling layers in D dimensions, 1 = kept (conditioned on): [K][D]. */
export function couplingMasks(dim: number, K: number): number[][] {
  checkPositiveInt('dim', dim, 2);
  checkPositiveInt('K', K);
  const half = Math.ceil(dim / 2);
  const first = Array.from({ length: dim }, (_, d) => (d < half ? 1 : 0));
  return Array.from({ length: K }, (_, k) => (k % 2 === 0 ? first : first.map((m) => 1 - m)));
}

/** One layer: its mask and a D -> H -> H -> 2D MLP (src/flows/mlp.ts). */
interface CouplingLayer extends MLP {
  /** 1 where kept: [1, D] */
  mask: tf.Tensor2D;
  /** 1 - mask: [1, D] */
  inv: tf.Tensor2D;
}

export class CouplingFlow implements InvertibleFlow {
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  readonly hidden: number;
  readonly scaleFactor: number;
  private readonly layers: CouplingLayer[];

  constructor(options: CouplingOptions = {}) {
    const { dim: D, K, hidden: H, rng } = couplingSizes(options);
    [this.dim, this.K, this.hidden] = [D, K, H];
    this.scaleFactor = checkPositive('scaleFactor', options.scaleFactor ?? 2);
    this.name = `coupling(K=${this.K}, H=${H})`;
    this.layers = couplingMasks(D, this.K).map((m) => ({
      mask: tf.tensor2d(m, [1, D]),
      inv: tf.tensor2d(
        m.map((x) => 1 - x),
        [1, D],
      ),
      ...createMLP(rng, D, H, 2 * D),
    }));
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap(mlpVariables);
  }

  /** log-scale s and shift t of layer k from the kept coordinates: each [N, D], zero where kept. */
  private scaleShift(l: CouplingLayer, x: tf.Tensor2D): { s: tf.Tensor2D; t: tf.Tensor2D } {
    const D = this.dim;
    const c = this.scaleFactor;
    const xm = tf.mul(x, l.mask) as tf.Tensor2D; // m ⊙ x: [N, D]
    const out = applyMLP(l, xm); // [N, 2D]
    const [raw, shift] = tf.split(out, [D, D], 1) as [tf.Tensor2D, tf.Tensor2D];
    const s = tf.mul(tf.mul(c, tf.tanh(tf.div(raw, c))), l.inv) as tf.Tensor2D; // (1 - m) ⊙ c·tanh(raw/c): [N, D]
    const t = tf.mul(shift, l.inv) as tf.Tensor2D; // (1 - m) ⊙ t: [N, D]
    return { s, t };
  }

  /** f(z) base -> data, with log|det ∂f/∂z| = Σ_k Σ_d s_kd. z: [N, D]. */
  forward(z: tf.Tensor2D): FlowOutput {
    checkBatch('z', z, this.dim);
    return tf.tidy(() => {
      let x = z;
      let logDetJ = tf.zeros([z.shape[0]]) as tf.Tensor1D; // [N]
      for (const l of this.layers) {
        const { s, t } = this.scaleShift(l, x);
        x = tf.add(tf.mul(x, tf.exp(s)), t) as tf.Tensor2D; // kept coords: s = t = 0, unchanged
        logDetJ = tf.add(logDetJ, tf.sum(s, 1));
      }
      return { z: x, logDetJ };
    });
  }

  /** f⁻¹(y) data -> base with log|det ∂f⁻¹/∂y| = -Σ_k Σ_d s_kd. y: [N, D]. */
  inverseWithLogDet(y: tf.Tensor2D): InverseOutput {
    checkBatch('y', y, this.dim);
    return tf.tidy(() => {
      let x = y;
      let logDetJ = tf.zeros([y.shape[0]]) as tf.Tensor1D; // [N]
      for (let k = this.layers.length - 1; k >= 0; k--) {
        const l = this.layers[k]!;
        const { s, t } = this.scaleShift(l, x); // kept coords of x equal those before layer k
        x = tf.mul(tf.sub(x, t), tf.exp(tf.neg(s))) as tf.Tensor2D;
        logDetJ = tf.sub(logDetJ, tf.sum(s, 1));
      }
      return { z: x, logDetJ };
    });
  }

  /** f⁻¹(y): [N, D]. */
  inverse(y: tf.Tensor2D): tf.Tensor2D {
    return withoutLogDet(() => this.inverseWithLogDet(y));
  }

  /** Add N(0, std²) noise to every variable (tests and demos: move off the identity init). */
  perturb(std: number, seed = 1): void {
    perturbVariables(this.variables, std, seed);
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
    this.layers.forEach((l) => {
      l.mask.dispose();
      l.inv.dispose();
    });
  }
}
