/**
 * Dense-layer loops for the MLP kernels (coupling.ts), on row-major float64 arrays:
 *
 *   matMulBias     out = X W + b            X: [N, I], W: [I, J], b: [J] -> out: [N, J]
 *   matMulTransB   out = G Wᵀ               G: [N, J], W: [I, J]         -> out: [N, I]
 *   addMatTMul     dW += Xᵀ G               X: [N, I], G: [N, J]         -> dW: [I, J]
 *   addColSums     db += Σ_n G[n, :]        G: [N, J]                    -> db: [J]
 *
 * (a forward layer, the backward's input gradient, weight gradient and bias gradient).
 *
 * Loop order: every inner loop walks contiguous rows (of W, out, G, dW), never a column. Rows
 * of the batch go ROW_BLOCK at a time, so each loaded weight (or dW entry) serves ROW_BLOCK
 * multiply-adds from registers instead of one: a coupling step (K=4, H=32, batch 128) took
 * 1.9 ms with one row at a time and 1.1 ms with four (see the note in coupling.ts).
 */

/** Batch rows per pass over W (register blocking); the N % 4 remainder goes one row at a time. */
const ROW_BLOCK = 4;

/** out: [N, J] = X: [N, I] · W: [I, J] + b: [J]. */
export function matMulBias(
  X: Float64Array,
  W: Float64Array,
  b: Float64Array,
  out: Float64Array,
  N: number,
  I: number,
  J: number,
): void {
  let n = 0;
  for (; n + ROW_BLOCK <= N; n += ROW_BLOCK) {
    const o0 = n * J;
    const o1 = o0 + J;
    const o2 = o1 + J;
    const o3 = o2 + J;
    for (let j = 0; j < J; j++) {
      const bj = b[j]!;
      out[o0 + j] = bj;
      out[o1 + j] = bj;
      out[o2 + j] = bj;
      out[o3 + j] = bj;
    }
    for (let i = 0; i < I; i++) {
      const x0 = X[n * I + i]!;
      const x1 = X[(n + 1) * I + i]!;
      const x2 = X[(n + 2) * I + i]!;
      const x3 = X[(n + 3) * I + i]!;
      const wi = i * J;
      for (let j = 0; j < J; j++) {
        const w = W[wi + j]!;
        out[o0 + j] += x0 * w;
        out[o1 + j] += x1 * w;
        out[o2 + j] += x2 * w;
        out[o3 + j] += x3 * w;
      }
    }
  }
  for (; n < N; n++) {
    const o = n * J;
    for (let j = 0; j < J; j++) out[o + j] = b[j]!;
    for (let i = 0; i < I; i++) {
      const x = X[n * I + i]!;
      const wi = i * J;
      for (let j = 0; j < J; j++) out[o + j] += x * W[wi + j]!;
    }
  }
}

/** out: [N, I] = G: [N, J] · Wᵀ, W: [I, J] (dot products of contiguous rows). */
export function matMulTransB(G: Float64Array, W: Float64Array, out: Float64Array, N: number, J: number, I: number): void {
  let n = 0;
  for (; n + ROW_BLOCK <= N; n += ROW_BLOCK) {
    const g0 = n * J;
    const g1 = g0 + J;
    const g2 = g1 + J;
    const g3 = g2 + J;
    for (let i = 0; i < I; i++) {
      const wi = i * J;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < J; j++) {
        const w = W[wi + j]!;
        s0 += G[g0 + j]! * w;
        s1 += G[g1 + j]! * w;
        s2 += G[g2 + j]! * w;
        s3 += G[g3 + j]! * w;
      }
      out[n * I + i] = s0;
      out[(n + 1) * I + i] = s1;
      out[(n + 2) * I + i] = s2;
      out[(n + 3) * I + i] = s3;
    }
  }
  for (; n < N; n++) {
    const g = n * J;
    for (let i = 0; i < I; i++) {
      const wi = i * J;
      let s = 0;
      for (let j = 0; j < J; j++) s += G[g + j]! * W[wi + j]!;
      out[n * I + i] = s;
    }
  }
}

/** dW: [I, J] += Xᵀ · G, X: [N, I], G: [N, J]. */
export function addMatTMul(X: Float64Array, G: Float64Array, dW: Float64Array, N: number, I: number, J: number): void {
  let n = 0;
  for (; n + ROW_BLOCK <= N; n += ROW_BLOCK) {
    const g0 = n * J;
    const g1 = g0 + J;
    const g2 = g1 + J;
    const g3 = g2 + J;
    for (let i = 0; i < I; i++) {
      const x0 = X[n * I + i]!;
      const x1 = X[(n + 1) * I + i]!;
      const x2 = X[(n + 2) * I + i]!;
      const x3 = X[(n + 3) * I + i]!;
      const wi = i * J;
      for (let j = 0; j < J; j++) {
        dW[wi + j] += x0 * G[g0 + j]! + x1 * G[g1 + j]! + x2 * G[g2 + j]! + x3 * G[g3 + j]!;
      }
    }
  }
  for (; n < N; n++) {
    const g = n * J;
    for (let i = 0; i < I; i++) {
      const x = X[n * I + i]!;
      const wi = i * J;
      for (let j = 0; j < J; j++) dW[wi + j] += x * G[g + j]!;
    }
  }
}

/** db: [J] += Σ_n G[n, :], G: [N, J]. */
export function addColSums(G: Float64Array, db: Float64Array, N: number, J: number): void {
  for (let n = 0; n < N; n++) {
    const g = n * J;
    for (let j = 0; j < J; j++) db[j] += G[g + j]!;
  }
}
