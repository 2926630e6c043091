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
 * The MADE's last layer starts at zero: θ = 0, the identity spline, so the flow starts at the
 * identity. Outside [-B, B] each spline is the identity (linear tails).
 */
import { tf } from '../core/backend';
import { reversedOrders, type AutoregressiveOptions } from './autoregressive';
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
import { checkPositive, checkPositiveInt, checkSeed } from '../core/validate';

export type SplineAutoregressiveOptions = Omit<AutoregressiveOptions, 'scaleFactor' | 'outputsPerCoordinate'> &
  SplineOptions;

export class SplineAutoregressiveFlow extends LayeredFlow {
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  readonly hidden: number;
  /** The splines' bins, interval and lower limits. */
  readonly spline: SplineConfig;
  /** The K MADEs, layer 0 next to the base distribution. */
  readonly layers: Made[];

  protected get numLayers(): number {
    return this.K;
  }

  constructor(options: SplineAutoregressiveOptions = {}) {
    super();
    this.dim = checkPositiveInt('dim', options.dim ?? 2);
    this.K = checkPositiveInt('K', options.K ?? 4);
    this.hidden = checkPositiveInt('hidden', options.hidden ?? 32);
    this.spline = splineConfig(options);
    const rng = new Rng(checkSeed('seed', options.seed ?? 0));
    const made = { hidden: this.hidden, outputsPerCoordinate: splineParamCount(this.spline.bins) };
    this.name = `spline-ar(K=${this.K}, bins=${this.spline.bins}, H=${this.hidden})`;
    this.layers = reversedOrders(this.dim, this.K).map((order) => new Made(order, rng, made));
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }

  /** The splines of layer k at data side v: g_{θ(v_<d)} applied to `input` (g⁻¹ when `inverse`). */
  private splineAt(k: number, v: tf.Tensor2D, input: tf.Tensor2D, inverse: boolean) {
    const theta = this.layers[k]!.perCoordinate(v); // [N, D, 3K_b - 1]
    return rqSpline(input, splitSplineParams(theta, this.spline.bins), this.spline, inverse);
  }

  /** Layer k toward the base (inverse true: one pass) or the data (false: D passes). */
  protected layer(k: number, x: tf.Tensor2D, inverse: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
    if (inverse) {
      const g = this.splineAt(k, x, x, false); // u = g(v), log g'(v): each [N, D]
      return { y: g.y as tf.Tensor2D, logDet: tf.sum(g.logDet, 1) as tf.Tensor1D };
    }
    // v built coordinate by coordinate: after pass i the first i + 1 in the order are exact
    let v = tf.zerosLike(x) as tf.Tensor2D; // [N, D]
    let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    for (let pass = 0; pass < this.dim; pass++) {
      const g = this.splineAt(k, v, x, true); // v = g⁻¹(u), log|g⁻¹'(u)| = -log g'(v)
      v = g.y as tf.Tensor2D;
      logDet = tf.sum(g.logDet, 1) as tf.Tensor1D;
    }
    return { y: v, logDet };
  }

  /** Add N(0, std²) noise to every variable (tests and demos: move off the identity init). */
  perturb(std: number, seed = 1): void {
    perturbVariables(this.variables, checkPositive('std', std), checkSeed('seed', seed));
  }

  override dispose(): void {
    this.layers.forEach((l) => l.dispose());
  }
}
