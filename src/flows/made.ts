/**
 * MADE: Masked Autoencoder for Distribution Estimation (Germain, Gregor, Murray & Larochelle 2015).
 *
 * A dense net D -> H -> H -> 2D whose weights are multiplied by fixed binary masks so that output
 * d depends only on the inputs before d in a variable order o (a permutation of 0..D-1). Every
 * unit gets a degree m: input x_d has m(d) = its position in o plus one (1..D), hidden unit k has
 * m(k) ∈ {1, …, D-1}, and a weight is kept when
 *
 *   hidden <- input or hidden:  M_kj = [m(k) >= m(j)]
 *   output <- hidden:           M_dk = [m(d) >  m(k)]     (strict: no path from x_d to output d)
 *
 * So ∂out_d/∂x_j = 0 unless m(j) < m(d): the Jacobian is strictly lower-triangular in the order.
 * The 2D outputs are a shift μ_d and a log-scale α_d per coordinate, the log-scale bounded as in
 * coupling.ts, α = c · tanh(raw / c), so one layer scales by at most e^{±c}. Hidden units are tanh;
 * the last layer starts at zero (μ = α = 0), so a flow built on it starts at the identity.
 *
 * With `outputsPerCoordinate` P (default 2) the last layer has P·D units in P blocks of D, block
 * p holding output p of every coordinate with that coordinate's degree (`rawOutput`; a spline MAF
 * takes P = 3K - 1 per coordinate through `perCoordinate`). P = 2 is the (μ, α) net above.
 *
 * Hidden degrees cycle, m(k) = 1 + (k mod (D-1)), so every degree has a unit when H >= D-1 (Germain
 * et al. draw them at random; cycling is the deterministic choice). For D = 1 the hidden degree is
 * 0 and no weight reaches the input: μ and α are constants (their biases).
 */
import { tf } from '../core/backend';
import { ownedVariable } from './flow';
import { Rng } from '../core/random';
import { checkPositive, checkPositiveInt } from '../core/validate';

/** The shift μ and bounded log-scale α of an autoregressive layer, each [N, D]. */
export interface ShiftLogScale {
  mu: tf.Tensor2D;
  alpha: tf.Tensor2D;
}

/** Check that `order` is a permutation of 0..dim-1; returns it. */
export function checkOrder(name: string, order: readonly number[], dim: number): readonly number[] {
  const sorted = [...order].sort((a, b) => a - b);
  if (order.length !== dim || sorted.some((v, i) => v !== i))
    throw new RangeError(`${name} must be a permutation of 0..${dim - 1}, got [${order.join(', ')}]`);
  return order;
}

/** Degrees of the D inputs (position in `order` + 1) and of H hidden units (cycling 1..D-1). */
export function madeDegrees(order: readonly number[], hidden: number): { input: number[]; hidden: number[] } {
  const D = order.length;
  const input = new Array<number>(D);
  order.forEach((d, position) => (input[d] = position + 1));
  const hiddenDeg = Array.from({ length: hidden }, (_, k) => (D === 1 ? 0 : 1 + (k % (D - 1))));
  return { input, hidden: hiddenDeg };
}

/** Mask [from.length, to.length] with 1 where the connection from -> to is kept. */
function degreeMask(from: number[], to: number[], strict: boolean): tf.Tensor2D {
  const m = new Float32Array(from.length * to.length);
  from.forEach((a, i) => to.forEach((b, j) => (m[i * to.length + j] = (strict ? b > a : b >= a) ? 1 : 0)));
  return tf.tensor2d(m, [from.length, to.length]);
}

/** Glorot-uniform draws in ±√(6 / (fan_in + fan_out)): keeps tanh units out of saturation at init. */
function glorotUniform(rng: Rng, fanIn: number, fanOut: number): tf.Tensor2D {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  return rng.uniformTensor([fanIn, fanOut], -lim, lim) as tf.Tensor2D;
}

export interface MadeOptions {
  /** Hidden units H per layer (default 32). */
  hidden?: number;
  /** Bound c on the log-scale: α = c · tanh(raw / c) ∈ (-c, c) (default 2). */
  scaleFactor?: number;
  /** Outputs P per coordinate (default 2: μ and α; `apply` needs 2). */
  outputsPerCoordinate?: number;
}

export class Made {
  readonly dim: number;
  readonly hidden: number;
  readonly scaleFactor: number;
  /** Outputs P per coordinate. */
  readonly outputsPerCoordinate: number;
  /** The variable order o: output o[i] depends on inputs o[0..i-1]. */
  readonly order: readonly number[];
  private readonly masks: [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // [D, H], [H, H], [H, P·D]
  private readonly w1: tf.Variable<tf.Rank.R2>; // [D, H]
  private readonly b1: tf.Variable<tf.Rank.R1>; // [H]
  private readonly w2: tf.Variable<tf.Rank.R2>; // [H, H]
  private readonly b2: tf.Variable<tf.Rank.R1>; // [H]
  private readonly w3: tf.Variable<tf.Rank.R2>; // [H, P·D], zero at init
  private readonly b3: tf.Variable<tf.Rank.R1>; // [P·D], zero at init

  /** A MADE over `order` (a permutation of 0..D-1), initialised from `rng`. */
  constructor(order: readonly number[], rng: Rng, options: MadeOptions = {}) {
    this.dim = checkPositiveInt('dim', order.length);
    this.order = checkOrder('order', order, this.dim);
    this.hidden = checkPositiveInt('hidden', options.hidden ?? 32);
    this.scaleFactor = checkPositive('scaleFactor', options.scaleFactor ?? 2);
    this.outputsPerCoordinate = checkPositiveInt('outputsPerCoordinate', options.outputsPerCoordinate ?? 2);
    const { dim: D, hidden: H, outputsPerCoordinate: P } = this;
    const deg = madeDegrees(order, H);
    this.masks = [
      degreeMask(deg.input, deg.hidden, false),
      degreeMask(deg.hidden, deg.hidden, false),
      degreeMask(deg.hidden, Array.from({ length: P }, () => deg.input).flat(), true), // P blocks of D
    ];
    this.w1 = ownedVariable(glorotUniform(rng, D, H));
    this.b1 = ownedVariable(tf.zeros([H]) as tf.Tensor1D);
    this.w2 = ownedVariable(glorotUniform(rng, H, H));
    this.b2 = ownedVariable(tf.zeros([H]) as tf.Tensor1D);
    this.w3 = ownedVariable(tf.zeros([H, P * D]) as tf.Tensor2D);
    this.b3 = ownedVariable(tf.zeros([P * D]) as tf.Tensor1D);
  }

  get variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2, this.w3, this.b3];
  }

  /** The masked net's output for every row of x: [N, D] -> [N, P·D], block p = output p of each d. */
  rawOutput(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [m1, m2, m3] = this.masks;
      const h1 = tf.tanh(tf.add(tf.matMul(x, tf.mul(this.w1, m1)), this.b1)); // [N, H]
      const h2 = tf.tanh(tf.add(tf.matMul(h1, tf.mul(this.w2, m2)), this.b2)); // [N, H]
      return tf.add(tf.matMul(h2, tf.mul(this.w3, m3)), this.b3) as tf.Tensor2D; // [N, P·D]
    });
  }

  /** The P outputs of each coordinate d, depending on x_<d only: [N, D] -> [N, D, P]. */
  perCoordinate(x: tf.Tensor2D): tf.Tensor3D {
    const [N, D, P] = [x.shape[0], this.dim, this.outputsPerCoordinate];
    return tf.tidy(() => tf.transpose(tf.reshape(this.rawOutput(x), [N, P, D]), [0, 2, 1]) as tf.Tensor3D);
  }

  /** μ_d(x_<d) and α_d(x_<d) for every row of x: [N, D] -> each [N, D]. Needs P = 2. */
  apply(x: tf.Tensor2D): ShiftLogScale {
    if (this.outputsPerCoordinate !== 2) {
      throw new RangeError(`apply needs outputsPerCoordinate = 2 (μ, α), got ${this.outputsPerCoordinate}`);
    }
    return tf.tidy(() => {
      const c = this.scaleFactor;
      const [mu, raw] = tf.split(this.rawOutput(x), 2, 1) as [tf.Tensor2D, tf.Tensor2D]; // each [N, D]
      const alpha = tf.mul(c, tf.tanh(tf.div(raw, c))) as tf.Tensor2D; // c·tanh(raw/c): [N, D]
      return { mu, alpha };
    });
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
    this.masks.forEach((m) => m.dispose());
  }
}
