/**
 * Planar flows (Rezende & Mohamed 2015, §4.1 and Appendix A.1).
 *
 *   f(z) = z + û h(wᵀz + b),  h = tanh
 *   log|det J| = log|1 + ûᵀψ(z)|,  ψ(z) = h'(wᵀz + b) w
 *
 * f is invertible iff wᵀû ≥ -1. The paper enforces it by reparameterising u:
 *
 *   û = u + (m(wᵀu) - wᵀu) w / ‖w‖²,  m(x) = -1 + softplus(x)
 *
 * so that wᵀû = m(wᵀu) > -1. (Dividing by ‖w‖ instead of ‖w‖² is a common bug.) In float32
 * m gets a margin of 1e-4 (M_MARGIN) so that the strict inequality survives rounding, the
 * log-det uses ψ = m(wᵀu) itself (wᵀû recomputed from a float32 û can round to -1 or below
 * when |u| ≫ 1: u = (-1e4, 0), w = (1, 0) gives exactly -1), and û gets one correction step so
 * that the map itself has wᵀû = ψ to float32 precision. A layer with w = 0 is the translation
 * z + u h(b): û = u, ψ = 0.
 *
 * This class stacks K layers; their parameters live in three variables u, w: [K, D], b: [K],
 * so an optimiser updates 3 tensors, not 3K.
 */
import { tf } from '../core/backend';
import { ownedVariable, type Flow, type FlowOutput } from './flow';
import { softplus } from '../core/numerics';
import { Rng } from '../core/random';
import { checkBatch, checkFinite, checkPositiveInt, checkSeed } from '../core/validate';

/**
 * Margin added to m so that wᵀû > -1 survives float32: -1 + softplus(x) rounds to exactly -1
 * once softplus(x) < 6e-8 (x < -16.6), and wᵀû = -1 makes 1 + h'·wᵀû = 0 at h' = 1.
 * With it, 1 + h'·wᵀû ≥ 1e-4 and log|det J| ≥ -9.2 per layer.
 */
export const M_MARGIN = 1e-4;

/** x with m(x) = 0, i.e. softplus(x) = 1 - M_MARGIN: x = ln(e^{1 - M_MARGIN} - 1) ≈ ln(e - 1). */
export const M_ZERO = Math.log(Math.exp(1 - M_MARGIN) - 1);

export interface PlanarOptions {
  /** Dimension D of z (default 2). */
  dim?: number;
  /** Number of layers K (default 1). */
  K?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
  /** Scale of û at initialisation; 0 gives the identity map exactly (default 0.01). */
  initScale?: number;
}

/** m(x) = -1 + softplus(x) (+ M_MARGIN): maps R onto (-1, ∞), also in float32. */
export function mPlanar(x: tf.Tensor): tf.Tensor {
  return tf.add(tf.softplus(x), M_MARGIN - 1);
}

/** m(x) in float64: the same map as mPlanar, for the typed-array kernels and the inverse. */
export function mPlanarJS(x: number): number {
  return softplus(x) - 1 + M_MARGIN;
}

/**
 * û = u + (m(wᵀu) - wᵀu) w/‖w‖² row by row, and ψ = wᵀû = m(wᵀu); u, w: [K, D] -> û: [K, D],
 * ψ: [K]. In float32 the first û loses wᵀû to cancellation when |u| ≫ 1, so one correction
 * step û += (ψ - wᵀû) w/‖w‖² follows (zero in exact arithmetic, so gradients are unchanged).
 * Rows with w = 0 give û = u and ψ = 0.
 */
export function planarUHatPsi(u: tf.Tensor2D, w: tf.Tensor2D): { uHat: tf.Tensor2D; psi: tf.Tensor1D } {
  return tf.tidy(() => {
    const wu = tf.sum(tf.mul(w, u), 1, true); // [K, 1]
    const wNorm2 = tf.sum(tf.square(w), 1, true); // [K, 1]
    // w = 0 would divide 0 by 0: nonZero = sign(‖w‖²) ∈ {0, 1} (differentiable, unlike a comparison).
    const nonZero = tf.sign(wNorm2); // [K, 1]
    const safeNorm2 = tf.add(wNorm2, tf.sub(1, nonZero)); // ‖w‖², or 1 where w = 0
    const psi = tf.mul(mPlanar(wu), nonZero); // [K, 1]
    const uHat0 = tf.add(u, tf.mul(tf.div(tf.sub(psi, wu), safeNorm2), w));
    const residual = tf.sub(psi, tf.sum(tf.mul(w, uHat0), 1, true)); // [K, 1], rounding only
    const uHat = tf.add(uHat0, tf.mul(tf.div(residual, safeNorm2), w)) as tf.Tensor2D;
    return { uHat, psi: tf.reshape(psi, [-1]) as tf.Tensor1D };
  });
}

/** û = u + (m(wᵀu) - wᵀu) w/‖w‖² row by row; u, w: [K, D] -> [K, D] (see planarUHatPsi). */
export function planarUHat(u: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const { uHat, psi } = planarUHatPsi(u, w);
  psi.dispose();
  return uHat;
}

/**
 * planarUHatPsi in float64 on plain arrays (u, w: [K, D] row-major), for the typed-array kernels
 * and the inverse: û: [K, D] and ψ_k = w_kᵀû_k = m(w_kᵀu_k): [K]. No correction step is needed
 * in float64. Rows with w = 0 give û = u and ψ = 0.
 */
export function planarUHatJS(
  u: ArrayLike<number>,
  w: ArrayLike<number>,
  K: number,
  D: number,
): { uHat: Float64Array; psi: Float64Array } {
  const uHat = new Float64Array(K * D);
  const psi = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    let n2 = 0;
    for (let d = 0; d < D; d++) {
      s += w[k * D + d]! * u[k * D + d]!;
      n2 += w[k * D + d]! * w[k * D + d]!;
    }
    const c = n2 > 0 ? (mPlanarJS(s) - s) / n2 : 0; // w = 0: û = u, ψ = 0
    let p = 0;
    for (let d = 0; d < D; d++) {
      const v = u[k * D + d]! + c * w[k * D + d]!;
      uHat[k * D + d] = v;
      p += w[k * D + d]! * v;
    }
    psi[k] = p;
  }
  return { uHat, psi };
}

/** Newton steps of the scalar inverse (each layer); converges in < 10 from the bracket. */
const INVERSE_MAX_ITERS = 60;
const INVERSE_TOL = 1e-12;

export class PlanarFlow implements Flow {
  readonly name: string;
  readonly dim: number;
  readonly K: number;
  /** u: [K, D] */
  readonly u: tf.Variable<tf.Rank.R2>;
  /** w: [K, D] */
  readonly w: tf.Variable<tf.Rank.R2>;
  /** b: [K] */
  readonly b: tf.Variable<tf.Rank.R1>;

  constructor(options: PlanarOptions = {}) {
    this.dim = checkPositiveInt('dim', options.dim ?? 2);
    this.K = checkPositiveInt('K', options.K ?? 1);
    const seed = checkSeed('seed', options.seed ?? 0);
    const initScale = checkFinite('initScale', options.initScale ?? 0.01);
    if (initScale < 0) throw new RangeError(`initScale must be >= 0, got ${initScale}`);
    this.name = `planar(K=${this.K})`;
    const { K, dim: D } = this;
    const rng = new Rng(seed);
    // Near-identity start: w ~ U(-√(2/D), √(2/D)) (as normflows); u = v + M_ZERO w/‖w‖² with
    // small v, so that wᵀu ≈ M_ZERO, m(wᵀu) ≈ 0 and û ≈ v: f(z) ≈ z.
    const wLim = Math.sqrt(2 / D);
    const w = new Float32Array(K * D);
    const u = new Float32Array(K * D);
    for (let k = 0; k < K; k++) {
      let n2 = 0;
      for (let d = 0; d < D; d++) {
        const x = (2 * rng.uniform() - 1) * wLim;
        w[k * D + d] = x;
        n2 += x * x;
      }
      if (n2 < 1e-12) {
        w[k * D] = wLim; // a zero w has no direction; never happens in practice
        n2 = wLim * wLim;
      }
      for (let d = 0; d < D; d++) u[k * D + d] = initScale * rng.normal() + (M_ZERO * w[k * D + d]!) / n2;
    }
    this.u = ownedVariable(tf.tensor2d(u, [K, D]));
    this.w = ownedVariable(tf.tensor2d(w, [K, D]));
    this.b = ownedVariable(tf.zeros([K]));
  }

  get variables(): tf.Variable[] {
    return [this.u, this.w, this.b];
  }

  /** û for all layers: [K, D]. */
  uHat(): tf.Tensor2D {
    return planarUHat(this.u, this.w);
  }

  /** Reference forward: K layers op by op. z: [N, D]. */
  forward(z: tf.Tensor2D): FlowOutput {
    checkBatch('z', z, this.dim);
    return tf.tidy(() => {
      const { uHat, psi: wuHat } = planarUHatPsi(this.u, this.w); // û: [K, D]; wᵀû = m(wᵀu) ≥ -1 + M_MARGIN: [K]
      let zk = z;
      let logDetJ = tf.zeros([z.shape[0]]) as tf.Tensor1D;
      for (let k = 0; k < this.K; k++) {
        const wk = tf.slice(this.w, [k, 0], [1, this.dim]); // [1, D]
        const uk = tf.slice(uHat, [k, 0], [1, this.dim]); // [1, D]
        const a = tf.add(tf.matMul(zk, wk, false, true), tf.slice(this.b, [k], [1])); // [N, 1]
        const h = tf.tanh(a); // [N, 1]
        zk = tf.add(zk, tf.mul(h, uk)); // [N, D]
        const hPrime = tf.sub(1, tf.square(h)); // [N, 1]
        const det = tf.add(1, tf.mul(hPrime, tf.slice(wuHat, [k], [1]))); // 1 + h'·wᵀû
        logDetJ = tf.add(logDetJ, tf.reshape(tf.log(tf.abs(det)), [-1]));
      }
      return { z: zk as tf.Tensor2D, logDetJ };
    });
  }

  /**
   * f⁻¹(y), layer by layer from the last. For y = z + û h(wᵀz + b), α = wᵀz solves the scalar
   * equation wᵀy = α + wᵀû h(α + b), strictly increasing in α because 1 + wᵀû h' > 0; Newton
   * with a bisection bracket in float64, then z = y - û h(α + b).
   */
  inverse(y: tf.Tensor2D): tf.Tensor2D {
    checkBatch('y', y, this.dim);
    const D = this.dim;
    const n = y.shape[0];
    const w = this.w.dataSync();
    const b = this.b.dataSync();
    // û and ψ = wᵀû > -1 in float64 (as the fused path): float32 rounding could break the bracket.
    const { uHat, psi } = planarUHatJS(this.u.dataSync(), w, this.K, D);
    const z = Float64Array.from(y.dataSync());
    for (let k = this.K - 1; k >= 0; k--) {
      const wu = psi[k]!;
      const bound = Math.abs(wu); // |wᵀû h| ≤ |wᵀû|, so α ∈ [wᵀy - |wᵀû|, wᵀy + |wᵀû|]
      for (let i = 0; i < n; i++) {
        let wy = 0;
        for (let d = 0; d < D; d++) wy += w[k * D + d]! * z[i * D + d]!;
        let lo = wy - bound - 1e-9;
        let hi = wy + bound + 1e-9;
        let alpha = wy;
        let prevAbsG = Infinity;
        for (let it = 0; it < INVERSE_MAX_ITERS; it++) {
          const t = Math.tanh(alpha + b[k]!);
          const g = alpha + wu * t - wy;
          if (Math.abs(g) < INVERSE_TOL) break;
          if (g > 0) hi = alpha;
          else lo = alpha;
          const next = alpha - g / (1 + wu * (1 - t * t));
          // Newton, unless it leaves the bracket or stalls: on a steep tanh (large wᵀû, large ‖w‖)
          // it can jump back and forth across the root, each step landing just inside the
          // bracket, and never converge. Bisect when |g| did not at least halve.
          const newtonOk = next > lo && next < hi && Math.abs(g) < 0.5 * prevAbsG;
          alpha = newtonOk ? next : 0.5 * (lo + hi);
          prevAbsG = Math.abs(g);
        }
        const t = Math.tanh(alpha + b[k]!);
        for (let d = 0; d < D; d++) z[i * D + d] = z[i * D + d]! - uHat[k * D + d]! * t;
      }
    }
    return tf.tensor2d(Float32Array.from(z), [n, D]);
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
  }
}
