/**
 * The whole K-layer planar stack as ONE tfjs op with a hand-derived backward pass.
 *
 * tfjs spends ~10-50 µs of bookkeeping on every op, while a planar layer on a batch of 512
 * 2-D points is ~3000 flops: op by op, the overhead is 50-100x the arithmetic. Here the stack
 * runs in typed-array loops (float64 arithmetic, float32 in and out) inside one `tf.customGrad`:
 *
 *   û_k = u_k + (m(w_kᵀu_k) - w_kᵀu_k) w_k/‖w_k‖²,  m(x) = -1 + softplus(x) + M_MARGIN
 *   a_k = w_kᵀ z_{k-1} + b_k,  h_k = tanh(a_k),  z_k = z_{k-1} + û_k h_k
 *   log|det J| = Σ_k log|1 + (1 - h_k²) w_kᵀû_k|
 *
 * Backward (upstream ḡ_z = ∂L/∂z_K: [N, D], ḡ_l = ∂L/∂logdet: [N]), layer k from K down to 1,
 * with ψ_k = w_kᵀû_k, h' = 1 - h², det = 1 + h'ψ_k:
 *
 *   ∂L/∂h   = ḡ_zᵀ û_k - 2 h ψ_k ḡ_l / det
 *   ∂L/∂a   = ∂L/∂h · h'
 *   ∂L/∂û_k += Σ_n h ḡ_z + (Σ_n h' ḡ_l/det) w_k
 *   ∂L/∂w_k += Σ_n ∂L/∂a z_{k-1} + (Σ_n h' ḡ_l/det) û_k
 *   ∂L/∂b_k += Σ_n ∂L/∂a
 *   ḡ_z     ← ḡ_z + ∂L/∂a w_k            (this is ∂L/∂z_{k-1})
 *
 * and through û (s = wᵀu, n = ‖w‖², c = (m(s) - s)/n, σ = sigmoid = m'):
 *
 *   ∂L/∂u = ḡ_û + (ḡ_ûᵀw)(σ(s) - 1) w/n
 *   ∂L/∂w += c ḡ_û + (ḡ_ûᵀw)((σ(s) - 1) u/n - 2(m(s) - s) w/n²)
 *
 * Because z0 is an input of the op, gradients also reach whatever produced z0 (compositions).
 */
import { tf } from './backend';
import type { FlowOutput } from './flow';
import { M_MARGIN, type PlanarFlow } from './planar';
import { checkBatch } from './validate';

/** softplus(x) = log(1 + eˣ), without overflow. */
export function softplusJS(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** σ(x) = 1/(1 + e⁻ˣ), without overflow. */
export function sigmoidJS(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Forward state kept for the backward pass. */
export interface PlanarTape {
  N: number;
  D: number;
  K: number;
  u: Float32Array | Float64Array;
  w: Float32Array | Float64Array;
  /** û: [K, D] */
  uHat: Float64Array;
  /** ψ_k = w_kᵀû_k: [K] */
  psi: Float64Array;
  /** Input of layer k, z_{k-1}: [K, N, D] */
  zIn: Float64Array;
  /** h_k = tanh(a_k): [K, N] */
  h: Float64Array;
}

/**
 * û_k = u_k + (m(w_kᵀu_k) - w_kᵀu_k) w_k/‖w_k‖², m(x) = -1 + softplus(x) + M_MARGIN, for every
 * row; u, w: [K, D] row-major.
 * Returns û: [K, D] and ψ_k = w_kᵀû_k = m(w_kᵀu_k): [K].
 */
export function planarUHatJS(u: ArrayLike<number>, w: ArrayLike<number>, K: number, D: number): { uHat: Float64Array; psi: Float64Array } {
  const uHat = new Float64Array(K * D);
  const psi = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    let n2 = 0;
    for (let d = 0; d < D; d++) {
      s += w[k * D + d]! * u[k * D + d]!;
      n2 += w[k * D + d]! * w[k * D + d]!;
    }
    const c = (softplusJS(s) - 1 + M_MARGIN - s) / n2;
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

/**
 * Forward through K planar layers. z0: [N, D], u, w: [K, D], b: [K], all row-major.
 * Returns out: [N, D + 1] = [z_K | Σ_k log|det J_k|] (float32), the same in float64 (zK: [N, D],
 * logDet: [N]) and the tape for the backward.
 */
export function planarStackForward(
  z0: ArrayLike<number>, N: number, D: number, K: number,
  u: Float32Array | Float64Array, w: Float32Array | Float64Array, b: ArrayLike<number>,
): { out: Float32Array; zK: Float64Array; logDet: Float64Array; tape: PlanarTape } {
  const { uHat, psi } = planarUHatJS(u, w, K, D);
  const z = Float64Array.from(z0 as ArrayLike<number>); // z: [N, D], the running z_k
  const zIn = new Float64Array(K * N * D); // [K, N, D]
  const h = new Float64Array(K * N); // [K, N]
  const logDet = new Float64Array(N); // [N]
  for (let k = 0; k < K; k++) {
    const bk = b[k]!;
    const pk = psi[k]!;
    const kD = k * D;
    const base = k * N * D;
    zIn.set(z, base);
    for (let n = 0; n < N; n++) {
      const nD = n * D;
      let a = bk;
      for (let d = 0; d < D; d++) a += w[kD + d]! * z[nD + d]!;
      const t = Math.tanh(a);
      h[k * N + n] = t;
      for (let d = 0; d < D; d++) z[nD + d] = z[nD + d]! + uHat[kD + d]! * t;
      logDet[n] = logDet[n]! + Math.log(Math.abs(1 + (1 - t * t) * pk));
    }
  }
  const out = new Float32Array(N * (D + 1));
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) out[n * (D + 1) + d] = z[n * D + d]!;
    out[n * (D + 1) + D] = logDet[n]!;
  }
  return { out, zK: z, logDet, tape: { N, D, K, u, w, uHat, psi, zIn, h } };
}

/**
 * Backward of `planarStackForward`. dy: [N, D + 1] = [∂L/∂z_K | ∂L/∂logdet].
 * Returns ∂L/∂z0: [N, D], ∂L/∂u, ∂L/∂w: [K, D], ∂L/∂b: [K] (float32).
 */
export function planarStackBackward(tape: PlanarTape, dy: ArrayLike<number>): {
  dz0: Float32Array; du: Float32Array; dw: Float32Array; db: Float32Array;
} {
  const { N, D, K, u, w, uHat, psi, zIn, h } = tape;
  const gz = new Float64Array(N * D); // ∂L/∂z_k: [N, D]
  const gl = new Float64Array(N); // ∂L/∂logdet: [N]
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) gz[n * D + d] = dy[n * (D + 1) + d]!;
    gl[n] = dy[n * (D + 1) + D]!;
  }
  const dUHat = new Float64Array(K * D);
  const dw = new Float64Array(K * D);
  const db = new Float64Array(K);
  for (let k = K - 1; k >= 0; k--) {
    const pk = psi[k]!;
    const kD = k * D;
    const base = k * N * D;
    let dPsi = 0;
    let dbk = 0;
    for (let n = 0; n < N; n++) {
      const nD = n * D;
      const t = h[k * N + n]!;
      const hp = 1 - t * t;
      const g = gl[n]! / (1 + hp * pk); // ḡ_l / det
      dPsi += g * hp;
      let dh = -2 * t * pk * g;
      for (let d = 0; d < D; d++) {
        const gzd = gz[nD + d]!;
        dh += gzd * uHat[kD + d]!;
        dUHat[kD + d] = dUHat[kD + d]! + gzd * t;
      }
      const da = dh * hp;
      dbk += da;
      for (let d = 0; d < D; d++) {
        dw[kD + d] = dw[kD + d]! + da * zIn[base + nD + d]!;
        gz[nD + d] = gz[nD + d]! + da * w[kD + d]!;
      }
    }
    db[k] = dbk;
    for (let d = 0; d < D; d++) {
      dw[kD + d] = dw[kD + d]! + dPsi * uHat[kD + d]!;
      dUHat[kD + d] = dUHat[kD + d]! + dPsi * w[kD + d]!;
    }
  }
  // Through û = u + c w, c = (m(s) - s)/‖w‖², s = wᵀu.
  const du = new Float32Array(K * D);
  const dwOut = new Float32Array(K * D);
  for (let k = 0; k < K; k++) {
    const kD = k * D;
    let s = 0;
    let n2 = 0;
    let gw = 0;
    for (let d = 0; d < D; d++) {
      s += w[kD + d]! * u[kD + d]!;
      n2 += w[kD + d]! * w[kD + d]!;
      gw += dUHat[kD + d]! * w[kD + d]!;
    }
    const ms = softplusJS(s) - 1 + M_MARGIN - s; // m(s) - s
    const c = ms / n2;
    const sig1 = (sigmoidJS(s) - 1) / n2; // ∂c/∂s
    for (let d = 0; d < D; d++) {
      const g = dUHat[kD + d]!;
      du[kD + d] = g + gw * sig1 * w[kD + d]!;
      dwOut[kD + d] = dw[kD + d]! + c * g + gw * (sig1 * u[kD + d]! - (2 * ms * w[kD + d]!) / (n2 * n2));
    }
  }
  return { dz0: Float32Array.from(gz), du, dw: dwOut, db: Float32Array.from(db) };
}

/** Float32 or Float64 contents of a tensor (no copy on the cpu backend). */
function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * The planar stack as one differentiable op: (z0: [N, D], u: [K, D], w: [K, D], b: [K]) ->
 * [N, D + 1] = [z_K | Σ_k log|det J_k|], û computed inside. Gradients flow to all four inputs.
 */
export const planarStackOp: (z0: tf.Tensor2D, u: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D =
  tf.customGrad(((z0: tf.Tensor2D, u: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => {
    const [N, D] = z0.shape;
    const K = u.shape[0];
    // Copy u, w: the tape must not see later in-place updates of the variables' buffers.
    const { out, tape } = planarStackForward(values(z0), N, D, K, values(u).slice(), values(w).slice(), values(b));
    return {
      value: tf.tensor2d(out, [N, D + 1]),
      gradFunc: (dy: tf.Tensor) => {
        const g = planarStackBackward(tape, values(dy));
        return [tf.tensor2d(g.dz0, [N, D]), tf.tensor2d(g.du, [K, D]), tf.tensor2d(g.dw, [K, D]), tf.tensor1d(g.db)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (z0: tf.Tensor2D, u: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Split a packed [N, D + 1] output into z: [N, D] and logDetJ: [N]. */
export function unpackFlowOutput(packed: tf.Tensor2D, D: number): FlowOutput {
  const N = packed.shape[0];
  const [z, ld] = tf.split(packed, [D, 1], 1) as [tf.Tensor2D, tf.Tensor2D];
  return { z, logDetJ: tf.reshape(ld, [N]) as tf.Tensor1D };
}

/** Fused forward of a PlanarFlow: same map, log-det and gradients as `flow.forward(z)`. */
export function fusedPlanarForward(flow: PlanarFlow, z: tf.Tensor2D): FlowOutput {
  checkBatch('z', z, flow.dim);
  return tf.tidy(() => {
    const { z: zK, logDetJ } = unpackFlowOutput(planarStackOp(z, flow.u, flow.w, flow.b), flow.dim);
    return { z: zK, logDetJ };
  });
}
