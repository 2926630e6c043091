/**
 * The K-layer Sylvester stack as ONE tfjs op with a hand-derived backward pass (the planar
 * counterpart is fused-planar.ts; see there for why).
 *
 * Per layer k, with A_k = Q_k R̃_kᵀ: [D, M], C_k = R_kᵀ Q_kᵀ: [M, D], d_k = r_ii r̃_ii: [M]:
 *
 *   a = z A_k + b_k: [N, M],  h = tanh(a),  z ← z + h C_k
 *   log|det J| = Σ_k Σ_i log|1 + d_ki (1 - h_i²)|
 *
 * Backward (ḡ_z = ∂L/∂z_k: [N, D], ḡ_l = ∂L/∂logdet: [N]), per sample, h' = 1 - h²,
 * det_i = 1 + d_ki h'_i:
 *
 *   ∂L/∂h_i  = Σ_j ḡ_z,j C_k[i, j] - 2 h_i d_ki ḡ_l/det_i,   ∂L/∂a_i = ∂L/∂h_i h'_i
 *   ∂L/∂d_ki += ḡ_l h'_i/det_i,  ∂L/∂C_k[i, j] += h_i ḡ_z,j,  ∂L/∂b_ki += ∂L/∂a_i
 *   ∂L/∂A_k[j, i] += z_{k-1,j} ∂L/∂a_i,   ḡ_z,j ← ḡ_z,j + Σ_i A_k[j, i] ∂L/∂a_i
 *
 * Two ops are exported:
 * - `sylvesterStackOp(z0, A, C, diag, b)`: the stack given the per-layer matrices (any Q, R);
 * - `fusedSylvesterForward(flow, z)`: a SylvesterFlow's whole forward, INCLUDING the
 *   construction of Q (Björck iterations / Householder products / permutations), R, R̃ and
 *   A, C, d from the raw variables, with their backward, as one op. Built op by op, the
 *   ~18 Björck iterations alone cost ~150 tfjs ops forward and ~300 backward per step.
 *
 * Parameter construction (as sylvester.ts): r_ii = B tanh(ρ_i), r̃_ii = B tanh(ρ̃_i),
 * B = DIAG_BOUND; R's strict upper triangle = raw's, R̃'s strict upper triangle = raw's strict
 * lower triangle transposed. Orthogonal Q: Q₀ = X/‖X‖_F, Q_{t+1} = Q_t(I + ½(I - Q_tᵀQ_t)) until
 * max_k ‖Q_tᵀQ_t - I‖_F ≤ ORTHO_TOL (≤ ORTHO_MAX_STEPS), whose backward is, with S = QᵀQ,
 *
 *   ∂L/∂Q_t = 1.5 G - ½(G S + Q Gᵀ Q + Q Qᵀ G),   G = ∂L/∂Q_{t+1}
 *   ∂L/∂X = (G₀ - ⟨G₀, Q₀⟩ Q₀)/‖X‖_F
 *
 * Householder Q = first M columns of H_1 ⋯ H_H, H = I - 2vvᵀ/‖v‖²: ∂L/∂Q_prev = G H and
 * ∂L/∂v = -2((P + Pᵀ)v/‖v‖² - 2(vᵀPv) v/‖v‖⁴), P = Q_prevᵀ G.
 */
import { tf } from '../core/backend';
import type { FlowOutput } from '../flows/flow';
import { releaseScratch, takeScratch } from './planar';
import { unpackFlowOutput, values, type FusedFlowKernel } from './ops';
import { DIAG_BOUND, ORTHO_MAX_STEPS, ORTHO_TOL, orthogonalizeError, type SylvesterFlow } from '../flows/sylvester';
import { checkBatch } from '../core/validate';

type Arr = Float32Array | Float64Array;

/** Forward state of the stack kept for the backward pass. */
export interface SylvesterTape {
  N: number;
  D: number;
  K: number;
  M: number;
  A: Arr;
  C: Arr;
  diag: Arr;
  /** Input of layer k: [K, N, D] */
  zIn: Float64Array;
  /** tanh(a) per layer: [K, N, M] */
  h: Float64Array;
}

/**
 * Forward through K Sylvester layers. z0: [N, D], A: [K, D, M], C: [K, M, D], diag: [K, M],
 * b: [K, M], row-major. Returns out: [N, D + 1] = [z_K | logdet] (float32), the float64
 * zK: [N, D] and logDet: [N], and the tape.
 */
export function sylvesterStackForward(
  z0: ArrayLike<number>, N: number, D: number, K: number, M: number,
  A: Arr, C: Arr, diag: Arr, b: ArrayLike<number>,
): { out: Float32Array; zK: Float64Array; logDet: Float64Array; tape: SylvesterTape } {
  const z = new Float64Array(z0 as ArrayLike<number>); // z: [N, D]
  const zIn = takeScratch(K * N * D); // [K, N, D]
  const h = takeScratch(K * N * M); // [K, N, M]
  const logDet = new Float64Array(N); // [N]
  const detProd = new Float64Array(N).fill(1); // [N]: Π det, folded into logDet when extreme
  const hk = new Float64Array(M); // one sample's h: [M]
  for (let k = 0; k < K; k++) {
    zIn.set(z, k * N * D);
    const aOff = k * D * M;
    const cOff = k * M * D;
    if (D === 2 && M === 2) {
      sylvesterLayer22(z, N, A, C, diag, b, k, h, detProd, logDet);
      continue;
    }
    for (let n = 0; n < N; n++) {
      const nD = n * D;
      const hOff = (k * N + n) * M;
      let p = detProd[n]!;
      for (let i = 0; i < M; i++) {
        let a = b[k * M + i]!;
        for (let j = 0; j < D; j++) a += z[nD + j]! * A[aOff + j * M + i]!;
        // tanh(a) = 1 - 2/(e^{2a} + 1): one exp, no branch (faster than Math.tanh).
        const t = 1 - 2 / (Math.exp(2 * a) + 1);
        hk[i] = t;
        h[hOff + i] = t;
        p *= 1 + diag[k * M + i]! * (1 - t * t);
      }
      if (!(p > 1e-100 && p < 1e100)) {
        logDet[n] = logDet[n]! + Math.log(Math.abs(p));
        p = 1;
      }
      detProd[n] = p;
      for (let j = 0; j < D; j++) {
        let s = z[nD + j]!;
        for (let i = 0; i < M; i++) s += hk[i]! * C[cOff + i * D + j]!;
        z[nD + j] = s;
      }
    }
  }
  const out = new Float32Array(N * (D + 1));
  for (let n = 0; n < N; n++) {
    logDet[n] = logDet[n]! + Math.log(Math.abs(detProd[n]!));
    for (let j = 0; j < D; j++) out[n * (D + 1) + j] = z[n * D + j]!;
    out[n * (D + 1) + D] = logDet[n]!;
  }
  return { out, zK: z, logDet, tape: { N, D, K, M, A, C, diag, zIn, h } };
}

/** One layer of the stack for D = M = 2, unrolled (same arithmetic as the general loop). */
function sylvesterLayer22(
  z: Float64Array, N: number, A: Arr, C: Arr, diag: Arr, b: ArrayLike<number>, k: number,
  h: Float64Array, detProd: Float64Array, logDet: Float64Array,
): void {
  const [a00, a01, a10, a11] = [A[4 * k]!, A[4 * k + 1]!, A[4 * k + 2]!, A[4 * k + 3]!]; // A_k[j, i]
  const [c00, c01, c10, c11] = [C[4 * k]!, C[4 * k + 1]!, C[4 * k + 2]!, C[4 * k + 3]!]; // C_k[i, j]
  const d0 = diag[2 * k]!;
  const d1 = diag[2 * k + 1]!;
  const b0 = b[2 * k]!;
  const b1 = b[2 * k + 1]!;
  const hOff = k * N * 2;
  for (let n = 0; n < N; n++) {
    const z0 = z[2 * n]!;
    const z1 = z[2 * n + 1]!;
    const x0 = b0 + z0 * a00 + z1 * a10;
    const x1 = b1 + z0 * a01 + z1 * a11;
    const t0 = 1 - 2 / (Math.exp(2 * x0) + 1);
    const t1 = 1 - 2 / (Math.exp(2 * x1) + 1);
    h[hOff + 2 * n] = t0;
    h[hOff + 2 * n + 1] = t1;
    let p = detProd[n]! * (1 + d0 * (1 - t0 * t0)) * (1 + d1 * (1 - t1 * t1));
    if (!(p > 1e-100 && p < 1e100)) {
      logDet[n] = logDet[n]! + Math.log(Math.abs(p));
      p = 1;
    }
    detProd[n] = p;
    z[2 * n] = z0 + t0 * c00 + t1 * c10;
    z[2 * n + 1] = z1 + t0 * c01 + t1 * c11;
  }
}

/** Backward of one D = M = 2 layer, unrolled; updates gz in place and writes the layer's grads. */
function sylvesterLayer22Backward(
  gz: Float64Array, gl: Float64Array, N: number, A: Arr, C: Arr, diag: Arr, k: number,
  zIn: Float64Array, h: Float64Array, dA: Float64Array, dC: Float64Array, dDiag: Float64Array, db: Float64Array,
): void {
  const [a00, a01, a10, a11] = [A[4 * k]!, A[4 * k + 1]!, A[4 * k + 2]!, A[4 * k + 3]!];
  const [c00, c01, c10, c11] = [C[4 * k]!, C[4 * k + 1]!, C[4 * k + 2]!, C[4 * k + 3]!];
  const d0 = diag[2 * k]!;
  const d1 = diag[2 * k + 1]!;
  let gA00 = 0, gA01 = 0, gA10 = 0, gA11 = 0
  let gC00 = 0, gC01 = 0, gC10 = 0, gC11 = 0
  let gd0 = 0, gd1 = 0, gb0 = 0, gb1 = 0
  const off = k * N * 2;
  for (let n = 0; n < N; n++) {
    const t0 = h[off + 2 * n]!;
    const t1 = h[off + 2 * n + 1]!;
    const hp0 = 1 - t0 * t0;
    const hp1 = 1 - t1 * t1;
    const gln = gl[n]!;
    const g0 = gln / (1 + d0 * hp0);
    const g1 = gln / (1 + d1 * hp1);
    gd0 += g0 * hp0;
    gd1 += g1 * hp1;
    const gz0 = gz[2 * n]!;
    const gz1 = gz[2 * n + 1]!;
    gC00 += t0 * gz0;
    gC01 += t0 * gz1;
    gC10 += t1 * gz0;
    gC11 += t1 * gz1;
    const da0 = (gz0 * c00 + gz1 * c01 - 2 * t0 * d0 * g0) * hp0;
    const da1 = (gz0 * c10 + gz1 * c11 - 2 * t1 * d1 * g1) * hp1;
    gb0 += da0;
    gb1 += da1;
    const z0 = zIn[off + 2 * n]!;
    const z1 = zIn[off + 2 * n + 1]!;
    gA00 += z0 * da0;
    gA01 += z0 * da1;
    gA10 += z1 * da0;
    gA11 += z1 * da1;
    gz[2 * n] = gz0 + a00 * da0 + a01 * da1;
    gz[2 * n + 1] = gz1 + a10 * da0 + a11 * da1;
  }
  dA.set([gA00, gA01, gA10, gA11], 4 * k);
  dC.set([gC00, gC01, gC10, gC11], 4 * k);
  dDiag.set([gd0, gd1], 2 * k);
  db.set([gb0, gb1], 2 * k);
}

/**
 * Backward of `sylvesterStackForward`. dy: [N, D + 1]. Returns ∂L/∂z0: [N, D] (float32) and
 * ∂L/∂A: [K, D, M], ∂L/∂C: [K, M, D], ∂L/∂diag, ∂L/∂b: [K, M] (float64). With `release` the
 * tape's buffers return to the scratch pool.
 */
export function sylvesterStackBackward(tape: SylvesterTape, dy: ArrayLike<number>, release = false): {
  dz0: Float32Array; dA: Float64Array; dC: Float64Array; dDiag: Float64Array; db: Float64Array;
} {
  const { N, D, K, M, A, C, diag, zIn, h } = tape;
  const gz = new Float64Array(N * D); // ∂L/∂z_k: [N, D]
  const gl = new Float64Array(N); // [N]
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < D; j++) gz[n * D + j] = dy[n * (D + 1) + j]!;
    gl[n] = dy[n * (D + 1) + D]!;
  }
  const dA = new Float64Array(K * D * M);
  const dC = new Float64Array(K * M * D);
  const dDiag = new Float64Array(K * M);
  const db = new Float64Array(K * M);
  const da = new Float64Array(M); // one sample's ∂L/∂a: [M]
  for (let k = K - 1; k >= 0; k--) {
    const aOff = k * D * M;
    const cOff = k * M * D;
    const zOff = k * N * D;
    if (D === 2 && M === 2) {
      sylvesterLayer22Backward(gz, gl, N, A, C, diag, k, zIn, h, dA, dC, dDiag, db);
      continue;
    }
    for (let n = 0; n < N; n++) {
      const nD = n * D;
      const hOff = (k * N + n) * M;
      const gln = gl[n]!;
      for (let i = 0; i < M; i++) {
        const t = h[hOff + i]!;
        const hp = 1 - t * t;
        const dk = diag[k * M + i]!;
        const g = gln / (1 + dk * hp);
        dDiag[k * M + i] = dDiag[k * M + i]! + g * hp;
        let dh = -2 * t * dk * g;
        for (let j = 0; j < D; j++) {
          const gzj = gz[nD + j]!;
          dh += gzj * C[cOff + i * D + j]!;
          dC[cOff + i * D + j] = dC[cOff + i * D + j]! + t * gzj;
        }
        const dai = dh * hp;
        da[i] = dai;
        db[k * M + i] = db[k * M + i]! + dai;
      }
      for (let j = 0; j < D; j++) {
        const zj = zIn[zOff + nD + j]!;
        let s = gz[nD + j]!;
        for (let i = 0; i < M; i++) {
          dA[aOff + j * M + i] = dA[aOff + j * M + i]! + zj * da[i]!;
          s += A[aOff + j * M + i]! * da[i]!;
        }
        gz[nD + j] = s;
      }
    }
  }
  if (release) {
    releaseScratch(zIn);
    releaseScratch(h);
  }
  return { dz0: Float32Array.from(gz), dA, dC, dDiag, db };
}

/**
 * The Sylvester stack as one differentiable op, given the per-layer matrices:
 * (z0: [N, D], A: [K, D, M], C: [K, M, D], diag: [K, M], b: [K, M]) -> [N, D + 1].
 * Gradients flow to all five inputs.
 */
export const sylvesterStackOp: (z0: tf.Tensor2D, A: tf.Tensor3D, C: tf.Tensor3D, diag: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D =
  tf.customGrad(((z0: tf.Tensor2D, A: tf.Tensor3D, C: tf.Tensor3D, diag: tf.Tensor2D, b: tf.Tensor2D) => {
    const [N, D] = z0.shape;
    const [K, , M] = A.shape;
    const { out, tape } = sylvesterStackForward(values(z0), N, D, K, M, values(A), values(C), values(diag), values(b));
    return {
      value: tf.tensor2d(out, [N, D + 1]),
      gradFunc: (dy: tf.Tensor) => {
        const g = sylvesterStackBackward(tape, values(dy), true);
        return [
          tf.tensor2d(g.dz0, [N, D]),
          tf.tensor3d(Float32Array.from(g.dA), [K, D, M]),
          tf.tensor3d(Float32Array.from(g.dC), [K, M, D]),
          tf.tensor2d(Float32Array.from(g.dDiag), [K, M]),
          tf.tensor2d(Float32Array.from(g.db), [K, M]),
        ];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as
    (z0: tf.Tensor2D, A: tf.Tensor3D, C: tf.Tensor3D, diag: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

// ---------------------------------------------------------------------------------------------
// Parameter construction: raw variables -> Q, R, R̃ -> A, C, diag, and back.
// ---------------------------------------------------------------------------------------------

/** Björck orthogonalisation of K matrices X: [K, D, M], in float64, with its iterates. */
export function orthogonalizeJS(X: ArrayLike<number>, K: number, D: number, M: number, tol = ORTHO_TOL, maxSteps = ORTHO_MAX_STEPS): {
  Q: Float64Array; iterates: Float64Array[]; norms: Float64Array; steps: number;
} {
  const size = D * M;
  const norms = new Float64Array(K);
  let q = new Float64Array(K * size);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let e = 0; e < size; e++) s += X[k * size + e]! * X[k * size + e]!;
    const nrm = Math.sqrt(s);
    if (!(nrm > 0) || !Number.isFinite(nrm)) throw orthogonalizeError(k, { norm: nrm }, 0, tol);
    norms[k] = nrm;
    for (let e = 0; e < size; e++) q[k * size + e] = X[k * size + e]! / nrm;
  }
  const iterates: Float64Array[] = [q];
  const S = new Float64Array(M * M);
  let steps = 0;
  for (;;) {
    // err = max_k ‖I - QᵀQ‖_F, checked before each step (as the reference does).
    let err = 0;
    let worst = 0;
    for (let k = 0; k < K; k++) {
      gram(q, k * size, D, M, S);
      let e2 = 0;
      for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) e2 += ((i === j ? 1 : 0) - S[i * M + j]!) ** 2;
      const e = Math.sqrt(e2);
      if (!(e <= err)) {
        err = e;
        worst = k;
      }
    }
    if (err <= tol) break;
    if (steps >= maxSteps) throw orthogonalizeError(worst, { err }, steps, tol);
    const next = new Float64Array(K * size);
    for (let k = 0; k < K; k++) {
      const off = k * size;
      gram(q, off, D, M, S);
      // Q(I + ½(I - S)) = Q(1.5 I - ½ S)
      for (let d = 0; d < D; d++) {
        for (let j = 0; j < M; j++) {
          let s = 1.5 * q[off + d * M + j]!;
          for (let l = 0; l < M; l++) s -= 0.5 * q[off + d * M + l]! * S[l * M + j]!;
          next[off + d * M + j] = s;
        }
      }
    }
    q = next;
    iterates.push(q);
    steps++;
  }
  return { Q: q, iterates, norms, steps };
}

/** S = QᵀQ for the [D, M] block of q at offset off. */
function gram(q: Float64Array, off: number, D: number, M: number, S: Float64Array): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += q[off + d * M + i]! * q[off + d * M + j]!;
      S[i * M + j] = s;
    }
  }
}

/** Backward of `orthogonalizeJS`: ∂L/∂Q: [K, D, M] -> ∂L/∂X: [K, D, M]. */
export function orthogonalizeBackward(gQ: Float64Array, iterates: Float64Array[], norms: Float64Array, K: number, D: number, M: number): Float64Array {
  const size = D * M;
  let G = gQ;
  const S = new Float64Array(M * M);
  const QtG = new Float64Array(M * M);
  const GtQ = new Float64Array(M * M);
  for (let t = iterates.length - 2; t >= 0; t--) {
    const q = iterates[t]!;
    const prev = new Float64Array(K * size);
    for (let k = 0; k < K; k++) {
      const off = k * size;
      gram(q, off, D, M, S);
      // QᵀG and GᵀQ: [M, M]
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < M; j++) {
          let a = 0;
          let c = 0;
          for (let d = 0; d < D; d++) {
            a += q[off + d * M + i]! * G[off + d * M + j]!;
            c += G[off + d * M + i]! * q[off + d * M + j]!;
          }
          QtG[i * M + j] = a;
          GtQ[i * M + j] = c;
        }
      }
      // 1.5 G - ½(G S + Q (GᵀQ) + Q (QᵀG))
      for (let d = 0; d < D; d++) {
        for (let j = 0; j < M; j++) {
          let s = 1.5 * G[off + d * M + j]!;
          for (let l = 0; l < M; l++) {
            s -= 0.5 * (G[off + d * M + l]! * S[l * M + j]! + q[off + d * M + l]! * (GtQ[l * M + j]! + QtG[l * M + j]!));
          }
          prev[off + d * M + j] = s;
        }
      }
    }
    G = prev;
  }
  const q0 = iterates[0]!;
  const dX = new Float64Array(K * size);
  for (let k = 0; k < K; k++) {
    const off = k * size;
    let dot = 0;
    for (let e = 0; e < size; e++) dot += G[off + e]! * q0[off + e]!;
    for (let e = 0; e < size; e++) dX[off + e] = (G[off + e]! - dot * q0[off + e]!) / norms[k]!;
  }
  return dX;
}

/** Q: [K, D, M] = first M columns of H_1 ⋯ H_H per layer, v: [K, H, D]; keeps the partial products. */
export function householderJS(v: ArrayLike<number>, K: number, H: number, D: number, M: number): { Q: Float64Array; partial: Float64Array[] } {
  const Q = new Float64Array(K * D * M);
  const partial: Float64Array[] = []; // [K] of [H + 1, D, D]
  for (let k = 0; k < K; k++) {
    const P = new Float64Array((H + 1) * D * D);
    for (let d = 0; d < D; d++) P[d * D + d] = 1;
    for (let hh = 0; hh < H; hh++) {
      const vo = (k * H + hh) * D;
      let n2 = 0;
      for (let d = 0; d < D; d++) n2 += v[vo + d]! * v[vo + d]!;
      if (!(n2 > 0)) n2 = Infinity; // v = 0: H = I (as the reference): every 2(·)v/‖v‖² term is 0
      const cur = hh * D * D;
      const nxt = (hh + 1) * D * D;
      for (let r = 0; r < D; r++) {
        let qv = 0;
        for (let d = 0; d < D; d++) qv += P[cur + r * D + d]! * v[vo + d]!;
        for (let c = 0; c < D; c++) P[nxt + r * D + c] = P[cur + r * D + c]! - (2 * qv * v[vo + c]!) / n2;
      }
    }
    partial.push(P);
    for (let r = 0; r < D; r++) for (let j = 0; j < M; j++) Q[(k * D + r) * M + j] = P[H * D * D + r * D + j]!;
  }
  return { Q, partial };
}

/** Backward of `householderJS`: ∂L/∂Q: [K, D, M] -> ∂L/∂v: [K, H, D]. */
export function householderBackward(gQ: Float64Array, v: ArrayLike<number>, partial: Float64Array[], K: number, H: number, D: number, M: number): Float64Array {
  const dv = new Float64Array(K * H * D);
  const G = new Float64Array(D * D);
  const Pv = new Float64Array(D);
  const PTv = new Float64Array(D);
  const Gv = new Float64Array(D);
  for (let k = 0; k < K; k++) {
    G.fill(0);
    for (let r = 0; r < D; r++) for (let j = 0; j < M; j++) G[r * D + j] = gQ[(k * D + r) * M + j]!;
    const P = partial[k]!;
    for (let hh = H - 1; hh >= 0; hh--) {
      const vo = (k * H + hh) * D;
      const prev = hh * D * D; // Q_prev = P[hh]
      let n2 = 0;
      for (let d = 0; d < D; d++) n2 += v[vo + d]! * v[vo + d]!;
      if (!(n2 > 0)) n2 = Infinity; // v = 0: H = I, no gradient (0/∞ = 0)
      // M2 = Q_prevᵀ G: [D, D]; Pv = M2 v, PTv = M2ᵀ v
      Pv.fill(0);
      PTv.fill(0);
      for (let a = 0; a < D; a++) {
        for (let c = 0; c < D; c++) {
          let m2 = 0;
          for (let r = 0; r < D; r++) m2 += P[prev + r * D + a]! * G[r * D + c]!;
          Pv[a] = Pv[a]! + m2 * v[vo + c]!;
          PTv[c] = PTv[c]! + m2 * v[vo + a]!;
        }
      }
      let vPv = 0;
      for (let d = 0; d < D; d++) vPv += v[vo + d]! * Pv[d]!;
      for (let d = 0; d < D; d++) {
        dv[vo + d] = -2 * ((Pv[d]! + PTv[d]!) / n2 - (2 * vPv * v[vo + d]!) / (n2 * n2));
      }
      // G ← G H = G - 2 (G v) vᵀ/‖v‖²
      for (let r = 0; r < D; r++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += G[r * D + d]! * v[vo + d]!;
        Gv[r] = s;
      }
      for (let r = 0; r < D; r++) for (let c = 0; c < D; c++) G[r * D + c] = G[r * D + c]! - (2 * Gv[r]! * v[vo + c]!) / n2;
    }
  }
  return dv;
}

/** R, R̃: [K, M, M] (upper triangular) from raw [K, M, M] and pre-tanh diagonals [K, M]. */
function buildR(raw: ArrayLike<number>, rd: ArrayLike<number>, rtd: ArrayLike<number>, K: number, M: number): { R: Float64Array; Rt: Float64Array } {
  const R = new Float64Array(K * M * M);
  const Rt = new Float64Array(K * M * M);
  for (let k = 0; k < K; k++) {
    const o = k * M * M;
    for (let i = 0; i < M; i++) {
      R[o + i * M + i] = DIAG_BOUND * Math.tanh(rd[k * M + i]!);
      Rt[o + i * M + i] = DIAG_BOUND * Math.tanh(rtd[k * M + i]!);
      for (let j = i + 1; j < M; j++) {
        R[o + i * M + j] = raw[o + i * M + j]!;
        Rt[o + i * M + j] = raw[o + j * M + i]!;
      }
    }
  }
  return { R, Rt };
}

/** Layout of the variables the whole-flow op takes after z0. */
interface FlowParams {
  K: number;
  D: number;
  M: number;
  H: number;
  variant: SylvesterFlow['variant'];
}

/**
 * Forward of the whole flow's parameters: raw variables -> A: [K, D, M], C: [K, M, D],
 * diag: [K, M], and what their backward needs.
 */
function buildLayers(p: FlowParams, qParam: ArrayLike<number> | null, raw: ArrayLike<number>, rd: ArrayLike<number>, rtd: ArrayLike<number>) {
  const { K, D, M, H, variant } = p;
  let Q: Float64Array;
  let ortho: ReturnType<typeof orthogonalizeJS> | null = null;
  let house: ReturnType<typeof householderJS> | null = null;
  if (variant === 'orthogonal') {
    ortho = orthogonalizeJS(qParam!, K, D, M);
    Q = ortho.Q;
  } else if (variant === 'householder') {
    house = householderJS(qParam!, K, H, D, M);
    Q = house.Q;
  } else {
    Q = new Float64Array(K * D * M);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < M; j++) Q[(k * D + (k % 2 === 0 ? j : D - 1 - j)) * M + j] = 1;
    }
  }
  const { R, Rt } = buildR(raw, rd, rtd, K, M);
  const A = new Float64Array(K * D * M);
  const C = new Float64Array(K * M * D);
  const diag = new Float64Array(K * M);
  for (let k = 0; k < K; k++) {
    const qo = k * D * M;
    const ro = k * M * M;
    for (let d = 0; d < D; d++) {
      for (let i = 0; i < M; i++) {
        let a = 0; // A[d, i] = Σ_j Q[d, j] R̃[i, j]
        let c = 0; // C[i, d] = Σ_j R[j, i] Q[d, j]
        for (let j = 0; j < M; j++) {
          a += Q[qo + d * M + j]! * Rt[ro + i * M + j]!;
          c += R[ro + j * M + i]! * Q[qo + d * M + j]!;
        }
        A[qo + d * M + i] = a;
        C[k * M * D + i * D + d] = c;
      }
    }
    for (let i = 0; i < M; i++) diag[k * M + i] = R[ro + i * M + i]! * Rt[ro + i * M + i]!;
  }
  return { Q, R, Rt, A, C, diag, ortho, house };
}

/** Backward of `buildLayers`: ∂L/∂(A, C, diag) -> ∂L/∂(qParam, raw, ρ, ρ̃). */
function buildLayersBackward(
  p: FlowParams, layers: ReturnType<typeof buildLayers>, qParam: ArrayLike<number> | null,
  dA: Float64Array, dC: Float64Array, dDiag: Float64Array,
): { dq: Float64Array | null; draw: Float64Array; drd: Float64Array; drtd: Float64Array } {
  const { K, D, M, H, variant } = p;
  const { Q, R, Rt } = layers;
  const dQ = new Float64Array(K * D * M);
  const dR = new Float64Array(K * M * M);
  const dRt = new Float64Array(K * M * M);
  for (let k = 0; k < K; k++) {
    const qo = k * D * M;
    const ro = k * M * M;
    const co = k * M * D;
    for (let d = 0; d < D; d++) {
      for (let i = 0; i < M; i++) {
        const ga = dA[qo + d * M + i]!;
        const gc = dC[co + i * D + d]!;
        for (let j = 0; j < M; j++) {
          dQ[qo + d * M + j] = dQ[qo + d * M + j]! + ga * Rt[ro + i * M + j]! + gc * R[ro + j * M + i]!;
          dRt[ro + i * M + j] = dRt[ro + i * M + j]! + ga * Q[qo + d * M + j]!;
          dR[ro + j * M + i] = dR[ro + j * M + i]! + gc * Q[qo + d * M + j]!;
        }
      }
    }
    for (let i = 0; i < M; i++) {
      dR[ro + i * M + i] = dR[ro + i * M + i]! + dDiag[k * M + i]! * Rt[ro + i * M + i]!;
      dRt[ro + i * M + i] = dRt[ro + i * M + i]! + dDiag[k * M + i]! * R[ro + i * M + i]!;
    }
  }
  const draw = new Float64Array(K * M * M);
  const drd = new Float64Array(K * M);
  const drtd = new Float64Array(K * M);
  for (let k = 0; k < K; k++) {
    const o = k * M * M;
    for (let i = 0; i < M; i++) {
      // r_ii = B tanh(ρ): ∂r/∂ρ = B (1 - tanh²) = B - r²/B
      const r = R[o + i * M + i]!;
      const rt = Rt[o + i * M + i]!;
      drd[k * M + i] = dR[o + i * M + i]! * (DIAG_BOUND - (r * r) / DIAG_BOUND);
      drtd[k * M + i] = dRt[o + i * M + i]! * (DIAG_BOUND - (rt * rt) / DIAG_BOUND);
      for (let j = i + 1; j < M; j++) {
        draw[o + i * M + j] = dR[o + i * M + j]!;
        draw[o + j * M + i] = dRt[o + i * M + j]!;
      }
    }
  }
  let dq: Float64Array | null = null;
  if (variant === 'orthogonal') {
    const o = layers.ortho!;
    dq = orthogonalizeBackward(dQ, o.iterates, o.norms, K, D, M);
  } else if (variant === 'householder') {
    dq = householderBackward(dQ, qParam!, layers.house!.partial, K, H, D, M);
  }
  return { dq, draw, drd, drtd };
}

/**
 * A SylvesterFlow's whole forward as one op with a hand-derived gradient: same map, log-det and
 * gradients (to z and to every variable) as `flow.forward(z)`. Sets `flow.lastOrthoSteps`.
 */
export function fusedSylvesterForward(flow: SylvesterFlow, z: tf.Tensor2D): FlowOutput {
  checkBatch('z', z, flow.dim);
  const p: FlowParams = { K: flow.K, D: flow.dim, M: flow.M, H: flow.H, variant: flow.variant };
  const hasQ = flow.qParam !== null;
  const op = tf.customGrad(((...inputs: tf.Tensor[]) => {
    const [z0, ...vars] = inputs as [tf.Tensor2D, ...tf.Tensor[]];
    const [qT, rawT, rdT, rtdT, bT] = hasQ ? vars : [null, ...vars];
    const q = qT ? values(qT) : null;
    const layers = buildLayers(p, q, values(rawT!), values(rdT!), values(rtdT!));
    if (layers.ortho) flow.lastOrthoSteps = layers.ortho.steps;
    const N = z0.shape[0];
    const { out, tape } = sylvesterStackForward(values(z0), N, p.D, p.K, p.M, layers.A, layers.C, layers.diag, values(bT!));
    return {
      value: tf.tensor2d(out, [N, p.D + 1]),
      gradFunc: (dy: tf.Tensor) => {
        const g = sylvesterStackBackward(tape, values(dy), true);
        const gp = buildLayersBackward(p, layers, q, g.dA, g.dC, g.dDiag);
        const grads = [
          tf.tensor2d(g.dz0, [N, p.D]),
          tf.tensor(Float32Array.from(gp.draw), rawT!.shape),
          tf.tensor(Float32Array.from(gp.drd), rdT!.shape),
          tf.tensor(Float32Array.from(gp.drtd), rtdT!.shape),
          tf.tensor(Float32Array.from(g.db), bT!.shape),
        ];
        if (hasQ) grads.splice(1, 0, tf.tensor(Float32Array.from(gp.dq!), qT!.shape));
        return grads;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D;
  return tf.tidy(() => {
    const vars: tf.Tensor[] = [flow.rRaw, flow.rDiag, flow.rTildeDiag, flow.b];
    if (flow.qParam) vars.unshift(flow.qParam);
    const { z: zK, logDetJ } = unpackFlowOutput(op(z, ...vars), flow.dim);
    return { z: zK, logDetJ };
  });
}

/** The whole Sylvester flow on plain arrays (for the trainer's tape-free step). */
export function sylvesterKernel(flow: SylvesterFlow): FusedFlowKernel {
  return {
    forward(z0, N) {
      const p: FlowParams = { K: flow.K, D: flow.dim, M: flow.M, H: flow.H, variant: flow.variant };
      const q = flow.qParam ? values(flow.qParam) : null;
      const layers = buildLayers(p, q, values(flow.rRaw), values(flow.rDiag), values(flow.rTildeDiag));
      if (layers.ortho) flow.lastOrthoSteps = layers.ortho.steps;
      const { zK, logDet, tape } = sylvesterStackForward(z0, N, p.D, p.K, p.M, layers.A, layers.C, layers.diag, values(flow.b));
      return {
        zK,
        logDet,
        backward: (dy) => {
          const g = sylvesterStackBackward(tape, dy, true);
          const gp = buildLayersBackward(p, layers, q, g.dA, g.dC, g.dDiag);
          // flow.variables = [qParam?, rRaw, rDiag, rTildeDiag, b]
          const grads = [gp.draw, gp.drd, gp.drtd, g.db].map((a) => new Float32Array(a));
          if (gp.dq) grads.unshift(new Float32Array(gp.dq));
          return grads;
        },
      };
    },
  };
}
