/**
 * The parameter construction of a SylvesterFlow on plain arrays, with its backward: the raw
 * variables -> Q, R, R̃ -> the per-layer matrices A, C, d that the stack (sylvester.ts) takes.
 * The same maps as SylvesterFlow.Q() and .R() (src/flows/sylvester.ts), in float64.
 *
 * r_ii = B tanh(ρ_i), r̃_ii = B tanh(ρ̃_i), B = DIAG_BOUND; R's strict upper triangle = raw's,
 * R̃'s strict upper triangle = raw's strict lower triangle transposed. Orthogonal Q (Björck):
 * Q₀ = X/‖X‖_F, Q_{t+1} = Q_t(I + ½(I - Q_tᵀQ_t)) until max_k ‖Q_tᵀQ_t - I‖_F ≤ ORTHO_TOL
 * (≤ ORTHO_MAX_STEPS), whose backward is, with S = QᵀQ,
 *
 *   ∂L/∂Q_t = 1.5 G - ½(G S + Q Gᵀ Q + Q Qᵀ G),   G = ∂L/∂Q_{t+1}
 *   ∂L/∂X = (G₀ - ⟨G₀, Q₀⟩ Q₀)/‖X‖_F
 *
 * Householder Q = first M columns of H_1 ⋯ H_H, H = I - 2vvᵀ/‖v‖²: ∂L/∂Q_prev = G H and
 * ∂L/∂v = -2((P + Pᵀ)v/‖v‖² - 2(vᵀPv) v/‖v‖⁴), P = Q_prevᵀ G.
 */
import {
  boundedDiagJS,
  DIAG_BOUND,
  ORTHO_MAX_STEPS,
  ORTHO_TOL,
  orthogonalizeError,
  triangularQValues,
  type SylvesterFlow,
} from '../flows/sylvester';

/** Björck orthogonalisation of K matrices X: [K, D, M], in float64, with its iterates. */
export function orthogonalizeJS(
  X: ArrayLike<number>,
  K: number,
  D: number,
  M: number,
  tol = ORTHO_TOL,
  maxSteps = ORTHO_MAX_STEPS,
): {
  Q: Float64Array;
  iterates: Float64Array[];
  norms: Float64Array;
  steps: number;
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
      gram(q, q, k * size, D, M, S);
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
    q = bjorckStep(q, D, M);
    iterates.push(q);
    steps++;
  }
  return { Q: q, iterates, norms, steps };
}

/** out = aᵀb: [M, M] for the [D, M] blocks of a and b at offset off (aᵀa: the Gram matrix). */
function gram(a: Float64Array, b: Float64Array, off: number, D: number, M: number, out: Float64Array): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += a[off + d * M + i]! * b[off + d * M + j]!;
      out[i * M + j] = s;
    }
  }
}

/** One Björck step of every [D, M] block of q: Q ← Q(I + ½(I - S)) = Q(1.5 I - ½ S), S = QᵀQ. */
function bjorckStep(q: Float64Array, D: number, M: number): Float64Array {
  const S = new Float64Array(M * M);
  const next = new Float64Array(q.length);
  for (let off = 0; off < q.length; off += D * M) {
    gram(q, q, off, D, M, S);
    for (let d = 0; d < D; d++) {
      for (let j = 0; j < M; j++) {
        let s = 1.5 * q[off + d * M + j]!;
        for (let l = 0; l < M; l++) s -= 0.5 * q[off + d * M + l]! * S[l * M + j]!;
        next[off + d * M + j] = s;
      }
    }
  }
  return next;
}

/**
 * Backward of one Björck step at Q = q: G = ∂L/∂Q_{t+1} -> ∂L/∂Q_t =
 * 1.5 G - ½(G S + Q (GᵀQ) + Q (QᵀG)), S = QᵀQ, for every [D, M] block.
 */
function bjorckStepBackward(q: Float64Array, G: Float64Array, D: number, M: number): Float64Array {
  const S = new Float64Array(M * M);
  const QtG = new Float64Array(M * M); // QᵀG; GᵀQ is its transpose
  const prev = new Float64Array(q.length);
  for (let off = 0; off < q.length; off += D * M) {
    gram(q, q, off, D, M, S);
    gram(q, G, off, D, M, QtG);
    for (let d = 0; d < D; d++) {
      for (let j = 0; j < M; j++) {
        let s = 1.5 * G[off + d * M + j]!;
        for (let l = 0; l < M; l++) {
          s -= 0.5 * (G[off + d * M + l]! * S[l * M + j]! + q[off + d * M + l]! * (QtG[j * M + l]! + QtG[l * M + j]!));
        }
        prev[off + d * M + j] = s;
      }
    }
  }
  return prev;
}

/** Backward of `orthogonalizeJS`: ∂L/∂Q: [K, D, M] -> ∂L/∂X: [K, D, M]. */
export function orthogonalizeBackward(
  gQ: Float64Array,
  iterates: Float64Array[],
  norms: Float64Array,
  K: number,
  D: number,
  M: number,
): Float64Array {
  const size = D * M;
  let G = gQ;
  for (let t = iterates.length - 2; t >= 0; t--) G = bjorckStepBackward(iterates[t]!, G, D, M);
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
export function householderJS(
  v: ArrayLike<number>,
  K: number,
  H: number,
  D: number,
  M: number,
): { Q: Float64Array; partial: Float64Array[] } {
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
export function householderBackward(
  gQ: Float64Array,
  v: ArrayLike<number>,
  partial: Float64Array[],
  K: number,
  H: number,
  D: number,
  M: number,
): Float64Array {
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
      for (let r = 0; r < D; r++)
        for (let c = 0; c < D; c++) G[r * D + c] = G[r * D + c]! - (2 * Gv[r]! * v[vo + c]!) / n2;
    }
  }
  return dv;
}

/** R, R̃: [K, M, M] (upper triangular) from raw [K, M, M] and pre-tanh diagonals [K, M]. */
export function buildR(
  raw: ArrayLike<number>,
  rd: ArrayLike<number>,
  rtd: ArrayLike<number>,
  K: number,
  M: number,
): { R: Float64Array; Rt: Float64Array } {
  const R = new Float64Array(K * M * M);
  const Rt = new Float64Array(K * M * M);
  for (let k = 0; k < K; k++) {
    const o = k * M * M;
    for (let i = 0; i < M; i++) {
      R[o + i * M + i] = boundedDiagJS(rd[k * M + i]!);
      Rt[o + i * M + i] = boundedDiagJS(rtd[k * M + i]!);
      for (let j = i + 1; j < M; j++) {
        R[o + i * M + j] = raw[o + i * M + j]!;
        Rt[o + i * M + j] = raw[o + j * M + i]!;
      }
    }
  }
  return { R, Rt };
}

/** Layout of the variables the whole-flow op takes after z0. */
export interface FlowParams {
  K: number;
  D: number;
  M: number;
  H: number;
  variant: SylvesterFlow['variant'];
}

/**
 * Forward of the whole flow's parameters: raw variables -> A_k = Q_k R̃_kᵀ: [K, D, M],
 * C_k = R_kᵀ Q_kᵀ: [K, M, D], d_k = r_ii r̃_ii: [K, M], and what their backward needs.
 */
export function buildLayers(
  p: FlowParams,
  qParam: ArrayLike<number> | null,
  raw: ArrayLike<number>,
  rd: ArrayLike<number>,
  rtd: ArrayLike<number>,
) {
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
    Q = triangularQValues(K, D, M);
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

/**
 * Backward of `buildLayers`: ∂L/∂(A, C, d) -> ∂L/∂(qParam, raw, ρ, ρ̃). Per layer, with
 * A = Q R̃ᵀ (A[d, i] = Σ_j Q[d, j] R̃[i, j]), C = Rᵀ Qᵀ (C[i, d] = Σ_j R[j, i] Q[d, j]) and
 * d_i = r_ii r̃_ii, and G_A = ∂L/∂A, G_C = ∂L/∂C, g_i = ∂L/∂d_i:
 *
 *   ∂L/∂Q  = G_A R̃ + G_Cᵀ Rᵀ        ∂L/∂Q[d, j]  = Σ_i G_A[d, i] R̃[i, j] + G_C[i, d] R[j, i]
 *   ∂L/∂R̃ = G_Aᵀ Q                  ∂L/∂R̃[i, j] = Σ_d G_A[d, i] Q[d, j]
 *   ∂L/∂R  = (G_C Q)ᵀ               ∂L/∂R[j, i]  = Σ_d G_C[i, d] Q[d, j]
 *   ∂L/∂r_ii += g_i r̃_ii,   ∂L/∂r̃_ii += g_i r_ii
 *
 * then through the parametrisation (only the triangles that are used get a gradient):
 *
 *   ∂L/∂ρ_i  = ∂L/∂r_ii  · B(1 - tanh²ρ_i)  = ∂L/∂r_ii  (B - r_ii²/B)   (r_ii = B tanh ρ_i)
 *   ∂L/∂ρ̃_i = ∂L/∂r̃_ii · (B - r̃_ii²/B)
 *   ∂L/∂raw[i, j] = ∂L/∂R[i, j],   ∂L/∂raw[j, i] = ∂L/∂R̃[i, j]   (i < j; raw's diagonal: 0)
 *
 * and ∂L/∂Q to qParam by orthogonalizeBackward (orthogonal) or householderBackward
 * (householder); the triangular Q is a constant (dq = null).
 */
export function buildLayersBackward(
  p: FlowParams,
  layers: ReturnType<typeof buildLayers>,
  qParam: ArrayLike<number> | null,
  dA: Float64Array,
  dC: Float64Array,
  dDiag: Float64Array,
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
