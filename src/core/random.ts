/**
 * A small seeded random number generator, independent of the tfjs backend, so that the same
 * seed gives the same samples on cpu, wasm and tfjs-node.
 *
 * Uniforms: mulberry32 (32-bit state, period 2^32; plenty for mini-batches).
 * Normals: Box-Muller, u1 in (0, 1] so log(u1) is finite.
 */
import { tf } from './backend';
import { checkPositiveInt, checkSeed } from './validate';

const TWO_POW_32 = 4294967296;

export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    // An integer in [0, 2³² - 1]: a fraction would be floored and 2³² would wrap onto seed 0.
    checkSeed('seed', seed);
    // Scramble the seed so that seeds 0, 1, 2 ... start far apart.
    this.state = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 0x6d2b79f5;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_POW_32;
  }

  /** Standard normal (Box-Muller, pairs cached). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fill `out` with standard normals and return it. */
  fillNormal<T extends Float32Array | Float64Array>(out: T): T {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** A [rows, cols] tensor of N(0, 1) draws. */
  normalTensor(rows: number, cols: number): tf.Tensor2D {
    checkPositiveInt('rows', rows);
    checkPositiveInt('cols', cols);
    return tf.tensor2d(this.fillNormal(new Float32Array(rows * cols)), [rows, cols]);
  }

  /** A tensor of U(lo, hi) draws. */
  uniformTensor(shape: number[], lo: number, hi: number): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * this.uniform();
    return tf.tensor(v, shape);
  }
}

/**
 * N(mean, std²) draws of any shape from a seeded `Rng`. Use it instead of
 * `tf.randomNormal(shape, mean, std, 'float32', seed)`: tfjs takes seed 0 as "no seed" and
 * draws different numbers on every run.
 */
export function randomNormal<R extends tf.Rank = tf.Rank>(
  shape: number[],
  seed: number,
  mean = 0,
  std = 1,
): tf.Tensor<R> {
  shape.forEach((s, i) => checkPositiveInt(`shape[${i}]`, s));
  const v = new Rng(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
  for (let i = 0; i < v.length; i++) v[i] = mean + std * v[i]!;
  const t: tf.Tensor = tf.tensor(v, shape);
  return t as tf.Tensor<R>;
}
