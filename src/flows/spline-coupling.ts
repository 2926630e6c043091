/**
 * Rational-quadratic spline coupling flows (Durkan, Bekasov, Murray & Papamakarios 2019).
 *
 * A coupling layer as in RealNVP (src/flows/coupling.ts), with the affine map replaced by the
 * monotone rational-quadratic spline g of src/flows/spline.ts. With a binary mask m the kept
 * coordinates x_m condition the splines of the moved ones x_{1-m}:
 *
 *   y_m = x_m,   y_d = g_{θ_d(x_m)}(x_d)  for d moved,   log|det ∂y/∂x| = Σ_{d moved} log g'(x_d)
 *
 * θ_d = (θ^w, θ^h, θ^d) ∈ R^{3K-1} per moved coordinate come from one MLP per layer,
 * |kept| -> H -> H -> |moved| (3K - 1) (src/flows/mlp.ts; tanh hidden units). Its last layer
 * starts at zero, so θ = 0: K equal bins with every knot derivative 1, the identity; the flow
 * starts as the identity. The inverse runs the layers backwards with g⁻¹ (closed form), so
 * sampling and density evaluation cost the same, and the log-det is exact in both directions.
 *
 * Masks alternate as in `couplingMasks`: the first ⌈D/2⌉ coordinates, then the rest. Direction
 * convention: `forward` maps base -> data; the data log-likelihood uses `inverseWithLogDet`.
 */
import { tf } from '../core/backend';
import { couplingMasks } from './coupling';
import { LayeredFlow } from './layered';
import { applyMLP, couplingSizes, createMLP, mlpVariables, type MLP } from './mlp';
import { rqSpline, splineConfig, splineParamCount, splitSplineParams, type SplineConfig } from './spline';

export interface SplineCouplingOptions {
  /** Dimension D of x (default 2; must be >= 2: a coupling needs a coordinate to condition on). */
  dim?: number;
  /** Number of coupling layers (default 4; an even number moves every coordinate as often). */
  K?: number;
  /** Bins per spline (default 8). */
  bins?: number;
  /** The splines act on [-B, B] and are the identity outside (default 3). */
  bound?: number;
  /** Hidden units H of each layer's MLP (default 32). */
  hidden?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
  /** Smallest bin width as a share of 2B (default 1e-3). */
  minBinWidth?: number;
  /** Smallest bin height as a share of 2B (default 1e-3). */
  minBinHeight?: number;
  /** Smallest interior knot derivative (default 1e-3). */
  minDerivative?: number;
}

/** One layer: which coordinates it keeps and moves, and its conditioner. */
interface SplineLayer {
  /** Indices of the kept coordinates x_m (conditioned on). */
  kept: number[];
  /** Indices of the moved coordinates (each through its own spline). */
  moved: number[];
  /** Where column d of y sits in [x_kept | y_moved]: undoes the split. */
  order: number[];
  /** |kept| -> H -> H -> |moved| (3K - 1) */
  mlp: MLP;
}

export class SplineCouplingFlow extends LayeredFlow {
  /** The splines' bins, interval and lower limits. */
  readonly spline: SplineConfig;
  private readonly layers: SplineLayer[];
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  readonly hidden: number;

  protected get numLayers(): number {
    return this.K;
  }

  constructor(options: SplineCouplingOptions = {}) {
    super();
    this.spline = splineConfig(options);
    const { dim: D, K, hidden: H, rng } = couplingSizes(options);
    [this.dim, this.K, this.hidden] = [D, K, H];
    const P = splineParamCount(this.spline.bins);
    this.name = `spline-coupling(K=${this.K}, bins=${this.spline.bins}, H=${H})`;
    this.layers = couplingMasks(D, this.K).map((m) => {
      const kept = m.flatMap((v, d) => (v === 1 ? [d] : []));
      const moved = m.flatMap((v, d) => (v === 0 ? [d] : []));
      const split = [...kept, ...moved];
      const order = split.map((_, d) => split.indexOf(d));
      return { kept, moved, order, mlp: createMLP(rng, kept.length, H, moved.length * P) };
    });
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => mlpVariables(l.mlp));
  }

  /** One layer in either direction: x [N, D] -> y [N, D] and Σ_{d moved} log|g'| or log|g⁻¹'|: [N]. */
  protected layer(k: number, x: tf.Tensor2D, inverse: boolean): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
    const l = this.layers[k]!;
    const N = x.shape[0];
    const xKept = tf.gather(x, l.kept, 1) as tf.Tensor2D; // [N, |kept|], the same on both sides
    const xMoved = tf.gather(x, l.moved, 1); // [N, |moved|]
    const raw = tf.reshape(applyMLP(l.mlp, xKept), [N, l.moved.length, splineParamCount(this.spline.bins)]);
    const g = rqSpline(xMoved, splitSplineParams(raw, this.spline.bins), this.spline, inverse);
    const y = tf.gather(tf.concat([xKept, g.y], 1), l.order, 1) as tf.Tensor2D; // [N, D]
    return { y, logDet: tf.sum(g.logDet, 1) as tf.Tensor1D };
  }
}
