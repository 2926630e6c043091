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
import { M_MARGIN, planarInverseJS, planarUHatJS } from './planar-float64';

export { M_MARGIN };
import { Rng } from '../core/random';
import { checkBatch, checkFinite, checkPositiveInt, checkSeed } from '../core/validate';

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
   * f⁻¹(y), layer by layer from the last: α = wᵀz solves wᵀy = α + wᵀû h(α + b), strictly
   * increasing in α because wᵀû > -1, by a safeguarded Newton root find in float64 (planar-float64.ts).
   */
  inverse(y: tf.Tensor2D): tf.Tensor2D {
    checkBatch('y', y, this.dim);
    const D = this.dim;
    const n = y.shape[0];
    const w = this.w.dataSync();
    const b = this.b.dataSync();
    // û and ψ = wᵀû > -1 in float64 (as the fused path): float32 rounding could break the bracket.
    const { uHat, psi } = planarUHatJS(this.u.dataSync(), w, this.K, D);
    const z = planarInverseJS(y.dataSync(), n, D, this.K, uHat, psi, w, b);
    return tf.tensor2d(Float32Array.from(z), [n, D]);
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
  }
}
