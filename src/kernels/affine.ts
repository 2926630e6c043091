/**
 * The affine flow (flows/affine.ts) as one op with a hand-derived gradient, in typed-array
 * loops (float64 arithmetic, float32 in and out), registered for `AffineFlow`.
 *
 * Forward, per row n (L_ij = a_ij below the diagonal, e^{a_ii} on it, 0 above):
 *
 *   x_ni = μ_i + Σ_{j≤i} L_ij z_nj,   logdet_n = Σ_d a_dd
 *
 * Backward, for dy = [g | h] = [∂ℓ/∂x | ∂ℓ/∂logdet]: [N, D + 1]:
 *
 *   ∂ℓ/∂μ_i   = Σ_n g_ni
 *   ∂ℓ/∂L_ij  = Σ_n g_ni z_nj                  (j ≤ i)
 *   ∂ℓ/∂a_ij  = ∂ℓ/∂L_ij                       (j < i)
 *   ∂ℓ/∂a_ii  = ∂ℓ/∂L_ii e^{a_ii} + Σ_n h_n
 *   ∂ℓ/∂a_ij  = 0                              (j > i: unused)
 *   ∂ℓ/∂z_nj  = Σ_{i≥j} g_ni L_ij               (the op's input gradient)
 */
import { tf } from '../core/backend';
import { AffineFlow } from '../flows/affine';
import { registerFlowKernel, type ArrayFlowKernel, type ArrayForward } from '../flows/kernel';
import type { FlowOutput } from '../flows/flow';
import { customGradOp, fusedFlowOutput, packOutput, values } from './ops';

/** L from the raw matrix a (both row-major [D, D]), in float64. */
function lowerFactor(a: ArrayLike<number>, D: number): Float64Array {
  const L = new Float64Array(D * D); // L: [D, D], zero above the diagonal
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < i; j++) L[i * D + j] = a[i * D + j]!;
    L[i * D + i] = Math.exp(a[i * D + i]!);
  }
  return L;
}

/** x = μ + L z row-wise and logdet = Σ_d a_dd, for z: [N, D]. */
export function affineForward(
  z: ArrayLike<number>,
  N: number,
  D: number,
  mu: ArrayLike<number>,
  a: ArrayLike<number>,
): { zK: Float64Array; logDet: Float64Array; L: Float64Array } {
  const L = lowerFactor(a, D);
  let sumDiag = 0;
  for (let d = 0; d < D; d++) sumDiag += a[d * D + d]!;
  const zK = new Float64Array(N * D); // [N, D]
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < D; i++) {
      let s = mu[i]!;
      for (let j = 0; j <= i; j++) s += L[i * D + j]! * z[n * D + j]!;
      zK[n * D + i] = s;
    }
  }
  return { zK, logDet: new Float64Array(N).fill(sumDiag), L };
}

/** The backward of `affineForward` for dy: [N, D + 1] (see the header). */
export function affineBackward(
  z: ArrayLike<number>,
  N: number,
  D: number,
  a: ArrayLike<number>,
  L: Float64Array,
  dy: ArrayLike<number>,
): { dz: Float32Array; dMu: Float32Array; dA: Float32Array } {
  const dMu = new Float64Array(D);
  const dL = new Float64Array(D * D); // ∂ℓ/∂L: [D, D], lower part only
  const dz = new Float32Array(N * D); // [N, D]
  let sumH = 0;
  for (let n = 0; n < N; n++) {
    const row = n * (D + 1);
    sumH += dy[row + D]!;
    for (let i = 0; i < D; i++) {
      const g = dy[row + i]!;
      dMu[i]! += g;
      for (let j = 0; j <= i; j++) dL[i * D + j]! += g * z[n * D + j]!;
    }
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let i = j; i < D; i++) s += dy[row + i]! * L[i * D + j]!;
      dz[n * D + j] = s;
    }
  }
  const dA = new Float32Array(D * D); // [D, D]
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < i; j++) dA[i * D + j] = dL[i * D + j]!;
    dA[i * D + i] = dL[i * D + i]! * Math.exp(a[i * D + i]!) + sumH;
  }
  return { dz, dMu: Float32Array.from(dMu), dA };
}

/** The affine flow as one differentiable op: (z: [N, D], μ: [D], a: [D, D]) -> [N, D + 1] = [x | logdet]. */
const affineOp = customGradOp((z: tf.Tensor2D, mu: tf.Tensor1D, a: tf.Tensor2D) => {
  const [N, D] = z.shape;
  // Copies, so the gradient sees the values of this call whatever the backend does with them.
  const zv = values(z).slice();
  const av = values(a).slice();
  const { zK, logDet, L } = affineForward(zv, N, D, values(mu), av);
  return {
    value: tf.tensor2d(packOutput(zK, logDet, N, D), [N, D + 1]),
    gradFunc: (dy: tf.Tensor) => {
      const g = affineBackward(zv, N, D, av, L, values(dy));
      return [tf.tensor2d(g.dz, [N, D]), tf.tensor1d(g.dMu), tf.tensor2d(g.dA, [D, D])];
    },
  };
});

/** Fused forward of an AffineFlow: same map, log-det and gradients as `flow.forward(z)`. */
export function fusedAffineForward(flow: AffineFlow, z: tf.Tensor2D): FlowOutput {
  return fusedFlowOutput(z, flow.dim, () => affineOp(z, flow.shift, flow.raw));
}

/** The affine flow on plain arrays (for the trainer's tape-free step). */
export function affineArrayKernel(flow: AffineFlow): ArrayFlowKernel {
  return {
    forward(z0: Float32Array, N: number): ArrayForward {
      const D = flow.dim;
      const a = values(flow.raw).slice();
      const { zK, logDet, L } = affineForward(z0, N, D, values(flow.shift), a);
      return {
        zK,
        logDet,
        backward: (dy) => {
          const g = affineBackward(z0, N, D, a, L, dy);
          return [g.dMu, g.dA]; // flow.variables = [shift, raw]
        },
      };
    },
  };
}

registerFlowKernel(AffineFlow, { op: fusedAffineForward, arrays: affineArrayKernel });
