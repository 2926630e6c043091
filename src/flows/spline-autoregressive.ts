/**
 * The autoregressive rational-quadratic neural spline flow (Durkan, Bekasov, Murray & Papamakarios
 * 2019, "RQ-NSF (AR)"): a MAF (src/flows/autoregressive.ts) whose affine map is replaced by the
 * monotone rational-quadratic spline g of src/flows/spline.ts, one spline per coordinate.
 *
 * Each of the K layers has a MADE (src/flows/made.ts) with P = 3K_b - 1 outputs per coordinate
 * (K_b bins: θ^w, θ^h ∈ R^{K_b}, θ^d ∈ R^{K_b - 1}), all of coordinate d of degree d, so that
 * θ_d depends on x_<d only (in the layer's order o, reversed between layers). On a layer's data
 * side v and base side u, MAF-style (θ from the data side):
 *
 *   data -> base:  u_d = g_{θ_d(v_<d)}(v_d),     log|det ∂u/∂v| =  Σ_d log g'(v_d)
 *   base -> data:  v_d = g⁻¹_{θ_d(v_<d)}(u_d),   log|det ∂v/∂u| = -Σ_d log g'(v_d)
 *
 * Density evaluation (data -> base) takes one MADE pass per layer; sampling takes D passes, pass
 * i making the first i + 1 coordinates of v in the order exact (as in autoregressive.ts). The
 * Jacobian is triangular in the order, so the log-det is the sum of the diagonal's logs.
 *
 * With `conditionedOn: 'base'` θ comes from the base side instead, IAF-style (the inverse
 * autoregressive spline, name `spline-iaf`): sampling is the one pass and densities take D passes,
 *
 *   base -> data:  v_d = g_{θ_d(u_<d)}(u_d),     log|det ∂v/∂u| =  Σ_d log g'(u_d)
 *   data -> base:  u_d = g⁻¹_{θ_d(u_<d)}(v_d),   log|det ∂u/∂v| = -Σ_d log g'(u_d)
 *
 * In both variants the one-pass direction applies g to its input and the D-pass one g⁻¹.
 * The MADE's last layer starts at zero: θ = 0, the identity spline, so the flow starts at the
 * identity. Outside [-B, B] each spline is the identity (linear tails).
 */
import { tf } from '../core/backend';
import { reversedOrders, type AutoregressiveOptions, type ConditionedOn } from './autoregressive';
import { LayeredFlow } from './layered';
import { Made } from './made';
import { perturbVariables } from './mlp';
import { Rng } from '../core/random';
import {
  rqSpline,
  splineConfig,
  splineParamCount,
  splitSplineParams,
  type SplineConfig,
  type SplineOptions,
} from './spline';
import { checkOneOf, checkPositive, checkPositiveInt, checkSeed } from '../core/validate';

export type SplineAutoregressiveOptions = Omit<AutoregressiveOptions, 'scaleFactor' | 'outputsPerCoordinate'> &
  SplineOptions & {
    /**
     * Which side of each layer θ is computed from: 'data' (default; MAF-style, densities in one
     * pass) or 'base' (IAF-style, `spline-iaf`: samples in one pass).
     */
    conditionedOn?: ConditionedOn;
  };

export class SplineAutoregressiveFlow extends LayeredFlow {
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  readonly hidden: number;
  /** The splines' bins, interval and lower limits. */
  readonly spline: SplineConfig;
  /** The K MADEs, layer 0 next to the base distribution. */
  readonly layers: Made[];
  /** Which side of a layer θ is computed from: 'data' (spline-ar) or 'base' (spline-iaf). */
  readonly conditionedOn: ConditionedOn;

  protected get numLayers(): number {
    return this.K;
  }

  constructor(options: SplineAutoregressiveOptions = {}) {
    super();
    this.dim = checkPositiveInt('dim', options.dim ?? 2);
    this.K = checkPositiveInt('K', options.K ?? 4);
    this.hidden = checkPositiveInt('hidden', options.hidden ?? 32);
    this.spline = splineConfig(options);
    this.conditionedOn = checkOneOf('conditionedOn', options.conditionedOn ?? 'data', ['data', 'base'] as const);
    const rng = new Rng(checkSeed('seed', options.seed ?? 0));
    const made = { hidden: this.hidden, outputsPerCoordinate: splineParamCount(this.spline.bins) };
    const label = this.conditionedOn === 'data' ? 'spline-ar' : 'spline-iaf';
    this.name = `${label}(K=${this.K}, bins=${this.spline.bins}, H=${this.hidden})`;
    this.layers = reversedOrders(this.dim, this.K).map((order) => new Made(order, rng, made));
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }

  /**
   * The splines of layer k with θ from the conditioning side `cond` (v for spline-ar, u for
   * spline-iaf): g_{θ(cond_<d)} applied to `input` (g⁻¹ when `inverse`).
   */
  private splineAt(k: number, cond: tf.Tensor2D, input: tf.Tensor2D, inverse: boolean) {
    const theta = this.layers[k]!.perCoordinate(cond); // [N, D, 3K_b - 1]
    return rqSpline(input, splitSplineParams(theta, this.spline.bins), this.spline, inverse);
  }

  /**
   * Layer k toward the base (inverse true) or the data (false): one pass when the input is the
   * conditioning side (spline-ar toward the base, spline-iaf toward the data), else D passes.
   */
  protected layer(k: number, x: tf.Tensor2D, inverse: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
    const inputSide: ConditionedOn = inverse ? 'data' : 'base';
    if (this.conditionedOn === inputSide) {
      const g = this.splineAt(k, x, x, false); // out = g(x), log g'(x): each [N, D]
      return { y: g.y as tf.Tensor2D, logDet: tf.sum(g.logDet, 1) as tf.Tensor1D };
    }
    // The output built coordinate by coordinate: after pass i the first i + 1 in the order are exact
    let out = tf.zerosLike(x) as tf.Tensor2D; // [N, D]
    let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    for (let pass = 0; pass < this.dim; pass++) {
      const g = this.splineAt(k, out, x, true); // out = g⁻¹(x), log|g⁻¹'(x)| = -log g'(out)
      out = g.y as tf.Tensor2D;
      logDet = tf.sum(g.logDet, 1) as tf.Tensor1D;
    }
    return { y: out, logDet };
  }

  /** Add N(0, std²) noise to every variable (tests and demos: move off the identity init). */
  perturb(std: number, seed = 1): void {
    perturbVariables(this.variables, checkPositive('std', std), checkSeed('seed', seed));
  }

  override dispose(): void {
    this.layers.forEach((l) => l.dispose());
  }
}
