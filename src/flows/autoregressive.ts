/**
 * What MAF (maf.ts) and IAF (iaf.ts) share: a stack of K affine autoregressive layers, each one
 * MADE (made.ts) giving a shift μ and log-scale α, the variable order reversed between layers so
 * that every coordinate gets conditioned on every other one.
 *
 * Both flows move a layer's base side u to its data side v by the same affine map,
 *
 *   base -> data:  v = u ⊙ e^{α} + μ,      log|det ∂v/∂u| =  Σ_d α_d
 *   data -> base:  u = (v - μ) ⊙ e^{-α},   log|det ∂u/∂v| = -Σ_d α_d
 *
 * and differ only in which side μ and α are computed from:
 *
 *   MAF (Papamakarios et al. 2017): μ_d(v_<d), α_d(v_<d)  -- the data side: density in one pass
 *   IAF (Kingma et al. 2016):       μ_d(u_<d), α_d(u_<d)  -- the base side: sampling in one pass
 *
 * In the direction whose input is the conditioning side, one MADE pass gives all μ, α at once. In
 * the other direction coordinate o[i] of the output needs μ, α of the outputs before it, so the
 * output is built in D passes: after pass i, the first i coordinates in the order are exact.
 * Either way the Jacobian is triangular in the order and log|det| = ±Σ_d α_d.
 */
import { tf } from '../core/backend';
import { LayeredFlow } from './layered';
import { perturbVariables } from './mlp';
import { Made, type MadeOptions, type ShiftLogScale } from './made';
import { Rng } from '../core/random';
import { checkPositive, checkPositiveInt, checkSeed } from '../core/validate';

export interface AutoregressiveOptions extends MadeOptions {
  /** Dimension D of x (default 2; any D >= 1). */
  dim?: number;
  /** Number of autoregressive layers K (default 4). */
  K?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

/** Which side of each layer its MADE reads: 'data' (MAF) or 'base' (IAF). */
export type ConditionedOn = 'data' | 'base';

/** Variable orders of K layers in D dimensions, reversed between layers: [K][D]. */
export function reversedOrders(dim: number, K: number): number[][] {
  checkPositiveInt('dim', dim);
  checkPositiveInt('K', K);
  const identity = Array.from({ length: dim }, (_, d) => d);
  return Array.from({ length: K }, (_, k) => (k % 2 === 0 ? identity : [...identity].reverse()));
}

/** One layer in the direction `toData`: base -> data (u e^α + μ) or data -> base ((v - μ) e^{-α}). */
function affineStep(input: tf.Tensor2D, { mu, alpha }: ShiftLogScale, toData: boolean): tf.Tensor2D {
  return toData
    ? (tf.add(tf.mul(input, tf.exp(alpha)), mu) as tf.Tensor2D) // u ⊙ e^α + μ: [N, D]
    : (tf.mul(tf.sub(input, mu), tf.exp(tf.neg(alpha))) as tf.Tensor2D); // (v - μ) ⊙ e^{-α}: [N, D]
}

export abstract class AutoregressiveFlow extends LayeredFlow {
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  readonly hidden: number;
  readonly scaleFactor: number;
  /** The K MADEs, layer 0 next to the base distribution. */
  readonly layers: Made[];
  /** Which side of a layer μ and α are computed from. */
  protected abstract readonly conditionedOn: ConditionedOn;

  protected get numLayers(): number {
    return this.K;
  }

  constructor(label: string, options: AutoregressiveOptions = {}) {
    super();
    this.dim = checkPositiveInt('dim', options.dim ?? 2);
    this.K = checkPositiveInt('K', options.K ?? 4);
    this.hidden = checkPositiveInt('hidden', options.hidden ?? 32);
    this.scaleFactor = checkPositive('scaleFactor', options.scaleFactor ?? 2);
    const rng = new Rng(checkSeed('seed', options.seed ?? 0));
    const made = { hidden: this.hidden, scaleFactor: this.scaleFactor };
    this.name = `${label}(K=${this.K}, H=${this.hidden})`;
    this.layers = reversedOrders(this.dim, this.K).map((order) => new Made(order, rng, made));
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }

  /**
   * One layer in the direction `toData` from `input`: [N, D] -> output [N, D] and Σ_d α_d: [N].
   * One MADE pass when μ, α come from the input side, else D passes on the output built so far.
   */
  private layerStep(made: Made, input: tf.Tensor2D, toData: boolean): { out: tf.Tensor2D; sumAlpha: tf.Tensor1D } {
    const inputSide: ConditionedOn = toData ? 'base' : 'data';
    if (this.conditionedOn === inputSide) {
      const params = made.apply(input);
      return { out: affineStep(input, params, toData), sumAlpha: tf.sum(params.alpha, 1) };
    }
    // Pass i reads an output whose first i coords (in the order) are exact, so μ, α of the first
    // i + 1 are, and so is the output they give. μ, α of the last pass read D - 1 exact coords.
    let out = tf.zerosLike(input); // [N, D]
    let alpha = out;
    for (let pass = 0; pass < this.dim; pass++) {
      const params = made.apply(out);
      out = affineStep(input, params, toData);
      alpha = params.alpha;
    }
    return { out, sumAlpha: tf.sum(alpha, 1) };
  }

  /** Layer k toward the data (inverse false: + Σ_d α_d) or the base (true: - Σ_d α_d). */
  protected layer(k: number, x: tf.Tensor2D, inverse: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
    const { out, sumAlpha } = this.layerStep(this.layers[k]!, x, !inverse);
    return { y: out, logDet: inverse ? tf.neg(sumAlpha) : sumAlpha };
  }

  /** Add N(0, std²) noise to every variable (tests and demos: move off the identity init). */
  perturb(std: number, seed = 1): void {
    perturbVariables(this.variables, checkPositive('std', std), checkSeed('seed', seed));
  }

  override dispose(): void {
    this.layers.forEach((l) => l.dispose());
  }
}
