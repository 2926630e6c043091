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
 * Registered for PlanarFlow (src/flows/kernel.ts): `forwardOn(flow, z)` and the trainer use it.
 */
import { tf } from '../core/backend';
import * as numerics from '../core/numerics';
import type { FlowOutput } from '../flows/flow';
import { registerFlowKernel, type ArrayFlowKernel } from '../flows/kernel';
import { PlanarFlow } from '../flows/planar';
import { mPlanarJS, planarUHatJS } from '../flows/planar-float64';
import { customGradOp, fusedFlowOutput, values } from './ops';
import { packStackOutput, splitUpstream, takeScratch, releaseScratch } from './ops';

// Module-level bindings of the hot-loop helpers: under tsx (esbuild's CommonJS output, as `npm
// run train` runs) every call of an imported function goes through a getter that V8 does not
// inline in these loops (planar K=32 step: 1.7 ms instead of 0.5); a const binding is inlined.
const { foldProduct, sigmoid, tanhExp, tanhPrime } = numerics;

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
 * Forward through K planar layers. z0: [N, D], u, w: [K, D], b: [K], all row-major.
 * Returns out: [N, D + 1] = [z_K | Σ_k log|det J_k|] (float32), the same in float64 (zK: [N, D],
 * logDet: [N]) and the tape for the backward.
 */
export function planarStackForward(
  z0: ArrayLike<number>,
  N: number,
  D: number,
  K: number,
  u: Float32Array | Float64Array,
  w: Float32Array | Float64Array,
  b: ArrayLike<number>,
): { out: Float32Array; zK: Float64Array; logDet: Float64Array; tape: PlanarTape } {
  const { uHat, psi } = planarUHatJS(u, w, K, D);
  const z = new Float64Array(z0 as ArrayLike<number>); // z: [N, D], the running z_k
  const zIn = takeScratch(K * N * D); // [K, N, D], every entry written below
  const h = takeScratch(K * N); // [K, N], every entry written below
  const logDet = new Float64Array(N); // [N]
  const detProd = new Float64Array(N).fill(1); // [N]: Π_k det_k, folded into logDet (foldProduct)
  for (let k = 0; k < K; k++) {
    const bk = b[k]!;
    const pk = psi[k]!;
    const kD = k * D;
    const base = k * N * D;
    zIn.set(z, base);
    if (D === 2) {
      // The common 2-D case unrolled (same arithmetic as the general loop below), here and in
      // the backward: `npm run train -- --seed 0 --steps 2000` (planar K=32) takes 0.53 ms/step
      // with both twins, 1.04 without (2 cores, cpu backend).
      const w0 = w[kD]!;
      const w1 = w[kD + 1]!;
      const u0 = uHat[kD]!;
      const u1 = uHat[kD + 1]!;
      for (let n = 0; n < N; n++) {
        const z0n = z[2 * n]!;
        const z1n = z[2 * n + 1]!;
        const t = tanhExp(bk + w0 * z0n + w1 * z1n);
        h[k * N + n] = t;
        z[2 * n] = z0n + u0 * t;
        z[2 * n + 1] = z1n + u1 * t;
        detProd[n] = foldProduct(detProd[n]! * (1 + tanhPrime(t) * pk), logDet, n);
      }
      continue;
    }
    for (let n = 0; n < N; n++) {
      const nD = n * D;
      let a = bk;
      for (let d = 0; d < D; d++) a += w[kD + d]! * z[nD + d]!;
      const t = tanhExp(a);
      h[k * N + n] = t;
      for (let d = 0; d < D; d++) z[nD + d] = z[nD + d]! + uHat[kD + d]! * t;
      detProd[n] = foldProduct(detProd[n]! * (1 + tanhPrime(t) * pk), logDet, n);
    }
  }
  const out = packStackOutput(z, logDet, detProd, N, D);
  return { out, zK: z, logDet, tape: { N, D, K, u, w, uHat, psi, zIn, h } };
}

/**
 * Backward of `planarStackForward`. dy: [N, D + 1] = [∂L/∂z_K | ∂L/∂logdet].
 * Returns ∂L/∂z0: [N, D], ∂L/∂u, ∂L/∂w: [K, D], ∂L/∂b: [K] (float32). With `release`, the
 * tape's buffers go back to the scratch pool (the tape must not be used again).
 */
export function planarStackBackward(
  tape: PlanarTape,
  dy: ArrayLike<number>,
  release = false,
): {
  dz0: Float32Array;
  du: Float32Array;
  dw: Float32Array;
  db: Float32Array;
} {
  const { N, D, K, u, w, uHat, psi, zIn, h } = tape;
  const { gz, gl } = splitUpstream(dy, N, D); // ∂L/∂z_K: [N, D], ∂L/∂logdet: [N]
  const dUHat = new Float64Array(K * D);
  const dw = new Float64Array(K * D);
  const db = new Float64Array(K);
  for (let k = K - 1; k >= 0; k--) {
    const pk = psi[k]!;
    const kD = k * D;
    const base = k * N * D;
    let dPsi = 0;
    let dbk = 0;
    if (D === 2) {
      // The 2-D case unrolled, per-layer sums in registers (same arithmetic as below).
      const w0 = w[kD]!;
      const w1 = w[kD + 1]!;
      const u0 = uHat[kD]!;
      const u1 = uHat[kD + 1]!;
      let du0 = 0;
      let du1 = 0;
      let dw0 = 0;
      let dw1 = 0;
      for (let n = 0; n < N; n++) {
        const t = h[k * N + n]!;
        const hp = tanhPrime(t);
        const g = gl[n]! / (1 + hp * pk);
        dPsi += g * hp;
        const g0 = gz[2 * n]!;
        const g1 = gz[2 * n + 1]!;
        du0 += g0 * t;
        du1 += g1 * t;
        const da = (g0 * u0 + g1 * u1 - 2 * t * pk * g) * hp;
        dbk += da;
        dw0 += da * zIn[base + 2 * n]!;
        dw1 += da * zIn[base + 2 * n + 1]!;
        gz[2 * n] = g0 + da * w0;
        gz[2 * n + 1] = g1 + da * w1;
      }
      db[k] = dbk;
      dw[kD] = dw0 + dPsi * u0;
      dw[kD + 1] = dw1 + dPsi * u1;
      dUHat[kD] = du0 + dPsi * w0;
      dUHat[kD + 1] = du1 + dPsi * w1;
      continue;
    }
    for (let n = 0; n < N; n++) {
      const nD = n * D;
      const t = h[k * N + n]!;
      const hp = tanhPrime(t);
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
  if (release) {
    releaseScratch(zIn);
    releaseScratch(h);
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
    const ms = mPlanarJS(s) - s; // m(s) - s
    const wNonZero = n2 > 0; // w = 0: û = u (as in the forward), no gradient through c
    const c = wNonZero ? ms / n2 : 0;
    const sig1 = wNonZero ? (sigmoid(s) - 1) / n2 : 0; // ∂c/∂s, m' = σ
    for (let d = 0; d < D; d++) {
      const g = dUHat[kD + d]!;
      du[kD + d] = g + gw * sig1 * w[kD + d]!;
      const dc = wNonZero ? sig1 * u[kD + d]! - (2 * ms * w[kD + d]!) / (n2 * n2) : 0;
      dwOut[kD + d] = dw[kD + d]! + c * g + gw * dc;
    }
  }
  return { dz0: Float32Array.from(gz), du, dw: dwOut, db: Float32Array.from(db) };
}

/**
 * The planar stack as one differentiable op: (z0: [N, D], u: [K, D], w: [K, D], b: [K]) ->
 * [N, D + 1] = [z_K | Σ_k log|det J_k|], û computed inside. Gradients flow to all four inputs.
 */
export const planarStackOp = customGradOp((z0: tf.Tensor2D, u: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => {
  const [N, D] = z0.shape;
  const K = u.shape[0];
  // u, w are copied ([K, D], cheap) so the tape holds its own values, whatever the backend.
  const { out, tape } = planarStackForward(values(z0), N, D, K, values(u).slice(), values(w).slice(), values(b));
  return {
    value: tf.tensor2d(out, [N, D + 1]),
    gradFunc: (dy: tf.Tensor) => {
      const g = planarStackBackward(tape, values(dy), true); // tfjs runs a gradFunc once
      return [tf.tensor2d(g.dz0, [N, D]), tf.tensor2d(g.du, [K, D]), tf.tensor2d(g.dw, [K, D]), tf.tensor1d(g.db)];
    },
  };
});

/** Fused forward of a PlanarFlow: same map, log-det and gradients as `flow.forward(z)`. */
export function fusedPlanarForward(flow: PlanarFlow, z: tf.Tensor2D): FlowOutput {
  return fusedFlowOutput(z, flow.dim, () => planarStackOp(z, flow.u, flow.w, flow.b));
}

/** The planar stack of `flow` on plain arrays (for the trainer's tape-free step). */
export function planarArrays(flow: PlanarFlow): ArrayFlowKernel {
  return {
    forward(z0, N) {
      const { zK, logDet, tape } = planarStackForward(
        z0,
        N,
        flow.dim,
        flow.K,
        values(flow.u).slice(),
        values(flow.w).slice(),
        values(flow.b),
      );
      return {
        zK,
        logDet,
        backward: (dy) => {
          const g = planarStackBackward(tape, dy, true);
          return [g.du, g.dw, g.db]; // flow.variables = [u, w, b]
        },
      };
    },
  };
}

registerFlowKernel(PlanarFlow, { op: fusedPlanarForward, arrays: planarArrays });
