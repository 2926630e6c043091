/**
 * The small conditioner network that coupling flows share: an MLP in -> H -> H -> out with tanh
 * hidden units,
 *
 *   h1 = tanh(x W1 + b1),  h2 = tanh(h1 W2 + b2),  out = h2 W3 + b3
 *
 * W1, W2 start Glorot-uniform (from a seeded `Rng`), the biases and the last layer at zero, so
 * out = 0 at initialisation: a coupling layer whose transform is the identity at zero parameters
 * starts as the identity.
 */
import { tf } from '../core/backend';
import { ownedVariable } from './flow';
import { Rng } from '../core/random';
import { checkPositive, checkPositiveInt, checkSeed } from '../core/validate';

/** The sizes every coupling flow checks, and the seeded generator of its initialisation. */
export interface CouplingSizes {
  /** D >= 2 (a coupling needs a coordinate to condition on), default 2 */
  dim: number;
  /** Number of layers, default 4 */
  K: number;
  /** Hidden units H of each layer's MLP, default 32 */
  hidden: number;
  /** Rng(seed), seed default 0 */
  rng: Rng;
}

/** Check a coupling flow's dim, K, hidden and seed options (errors name the option). */
export function couplingSizes(options: { dim?: number; K?: number; hidden?: number; seed?: number }): CouplingSizes {
  return {
    dim: checkPositiveInt('dim', options.dim ?? 2, 2),
    K: checkPositiveInt('K', options.K ?? 4),
    hidden: checkPositiveInt('hidden', options.hidden ?? 32),
    rng: new Rng(checkSeed('seed', options.seed ?? 0)),
  };
}

/** One MLP's parameters. */
export interface MLP {
  w1: tf.Variable<tf.Rank.R2>; // [in, H]
  b1: tf.Variable<tf.Rank.R1>; // [H]
  w2: tf.Variable<tf.Rank.R2>; // [H, H]
  b2: tf.Variable<tf.Rank.R1>; // [H]
  w3: tf.Variable<tf.Rank.R2>; // [H, out], zero at init
  b3: tf.Variable<tf.Rank.R1>; // [out], zero at init
}

/** Glorot-uniform limit √(6 / (fan_in + fan_out)): keeps tanh units out of saturation at init. */
export function glorot(rng: Rng, fanIn: number, fanOut: number): tf.Tensor2D {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  const v = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < v.length; i++) v[i] = (2 * rng.uniform() - 1) * lim;
  return tf.tensor2d(v, [fanIn, fanOut]);
}

/** A fresh MLP in -> H -> H -> out; draws W1 then W2 from `rng`; zero last layer. */
export function createMLP(rng: Rng, inDim: number, hidden: number, outDim: number): MLP {
  return {
    w1: ownedVariable(glorot(rng, inDim, hidden)),
    b1: ownedVariable(tf.zeros([hidden]) as tf.Tensor1D),
    w2: ownedVariable(glorot(rng, hidden, hidden)),
    b2: ownedVariable(tf.zeros([hidden]) as tf.Tensor1D),
    w3: ownedVariable(tf.zeros([hidden, outDim]) as tf.Tensor2D),
    b3: ownedVariable(tf.zeros([outDim]) as tf.Tensor1D),
  };
}

/** The variables of `p` in the order the fused kernels pack them: W1, b1, W2, b2, W3, b3. */
export function mlpVariables(p: MLP): tf.Variable[] {
  return [p.w1, p.b1, p.w2, p.b2, p.w3, p.b3];
}

/** out = MLP(x). x: [N, in] -> [N, out]. */
export function applyMLP(p: MLP, x: tf.Tensor2D): tf.Tensor2D {
  const h1 = tf.tanh(tf.add(tf.matMul(x, p.w1), p.b1)); // [N, H]
  const h2 = tf.tanh(tf.add(tf.matMul(h1, p.w2), p.b2)); // [N, H]
  return tf.add(tf.matMul(h2, p.w3), p.b3) as tf.Tensor2D; // [N, out]
}

/** Add N(0, std²) noise to every variable (tests and demos: move off the identity init). */
export function perturbVariables(variables: tf.Variable[], std: number, seed: number): void {
  checkPositive('std', std);
  const rng = new Rng(seed);
  for (const v of variables) {
    tf.tidy(() => {
      v.assign(tf.add(v, tf.mul(std, rng.normalTensor(1, v.size).reshape(v.shape))));
    });
  }
}

/** f⁻¹(y) alone from an inverse pass that also gives its log-det (which is freed). */
export function withoutLogDet(run: () => { z: tf.Tensor2D; logDetJ: tf.Tensor1D }): tf.Tensor2D {
  return tf.tidy(() => {
    const { z, logDetJ } = run();
    logDetJ.dispose();
    return z;
  });
}
