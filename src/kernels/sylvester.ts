/**
 * The K-layer Sylvester stack as ONE tfjs op with a hand-derived backward pass (the planar
 * counterpart is planar.ts; see there for why).
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
 *   A, C, d from the raw variables (sylvester-qr.ts), with their backward, as one op. Built op
 *   by op, the ~18 Björck iterations alone cost ~150 tfjs ops forward and ~300 backward per step.
 *
 * Registered for SylvesterFlow (src/flows/kernel.ts), with its plain-array twin for the trainer.
 */
import { tf } from '../core/backend';
import * as numerics from '../core/numerics';
import type { FlowOutput } from '../flows/flow';
import { registerFlowKernel, type ArrayFlowKernel } from '../flows/kernel';
import { SylvesterFlow } from '../flows/sylvester';
import { customGradOp, fusedFlowOutput, values } from './ops';
import { packStackOutput, splitUpstream, takeScratch, releaseScratch } from './ops';
import { buildLayers, buildLayersBackward, type FlowParams } from './sylvester-qr';

// Module-level bindings of the hot-loop helpers: under tsx (esbuild's CommonJS output, as `npm
// run train` runs) every call of an imported function goes through a getter that V8 does not
// inline in these loops (planar K=32 step: 1.7 ms instead of 0.5); a const binding is inlined.
const { foldProduct, tanhExp, tanhPrime } = numerics;

type Arr = Float32Array | Float64Array;
/** Layer k forward, in place: z <- z + tanh(z A_k + b_k) C_k; h and the det product kept on the tape. */
type LayerForward = (
  tape: SylvesterTape,
  k: number,
  z: Float64Array,
  b: ArrayLike<number>,
  detProd: Float64Array,
  logDet: Float64Array,
) => void;
/** Layer k backward, in place: gz <- ∂L/∂z_{k-1}; the layer's gradients summed into g. */
type LayerBackward = (tape: SylvesterTape, k: number, gz: Float64Array, gl: Float64Array, g: StackGrads) => void;

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
  z0: ArrayLike<number>,
  N: number,
  D: number,
  K: number,
  M: number,
  A: Arr,
  C: Arr,
  diag: Arr,
  b: ArrayLike<number>,
): { out: Float32Array; zK: Float64Array; logDet: Float64Array; tape: SylvesterTape } {
  const z = new Float64Array(z0 as ArrayLike<number>); // z: [N, D], the running z_k
  const tape: SylvesterTape = { N, D, K, M, A, C, diag, zIn: takeScratch(K * N * D), h: takeScratch(K * N * M) };
  const logDet = new Float64Array(N); // [N]
  const detProd = new Float64Array(N).fill(1); // [N]: Π det, folded into logDet (foldProduct)
  // The D = M = 2 twin (same arithmetic, unrolled) halves the step: `npm run train -- --seed 0
  // --steps 1000 --flow sylvester --K 16`: 0.70 ms/step with it, 1.09 without (2 cores, cpu).
  const layer = D === 2 && M === 2 ? sylvesterLayer22 : sylvesterLayer;
  for (let k = 0; k < K; k++) {
    tape.zIn.set(z, k * N * D);
    layer(tape, k, z, b, detProd, logDet);
  }
  const out = packStackOutput(z, logDet, detProd, N, D);
  return { out, zK: z, logDet, tape };
}

/** Layer k of the stack: z ← z + tanh(z A_k + b_k) C_k in place, h and the det product kept. */
const sylvesterLayer: LayerForward = (tape, k, z, b, detProd, logDet) => {
  const { N, D, M, A, C, diag, h } = tape;
  const aOff = k * D * M;
  const cOff = k * M * D;
  const hk = new Float64Array(M); // one sample's h: [M]
  for (let n = 0; n < N; n++) {
    const nD = n * D;
    const hOff = (k * N + n) * M;
    let p = detProd[n]!;
    for (let i = 0; i < M; i++) {
      let a = b[k * M + i]!;
      for (let j = 0; j < D; j++) a += z[nD + j]! * A[aOff + j * M + i]!;
      const t = tanhExp(a);
      hk[i] = t;
      h[hOff + i] = t;
      p *= 1 + diag[k * M + i]! * tanhPrime(t);
    }
    detProd[n] = foldProduct(p, logDet, n);
    for (let j = 0; j < D; j++) {
      let s = z[nD + j]!;
      for (let i = 0; i < M; i++) s += hk[i]! * C[cOff + i * D + j]!;
      z[nD + j] = s;
    }
  }
};

/** sylvesterLayer for D = M = 2, unrolled (same arithmetic). */
const sylvesterLayer22: LayerForward = (tape, k, z, b, detProd, logDet) => {
  const { N, A, C, diag, h } = tape;
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
    const t0 = tanhExp(x0);
    const t1 = tanhExp(x1);
    h[hOff + 2 * n] = t0;
    h[hOff + 2 * n + 1] = t1;
    detProd[n] = foldProduct(detProd[n]! * (1 + d0 * tanhPrime(t0)) * (1 + d1 * tanhPrime(t1)), logDet, n);
    z[2 * n] = z0 + t0 * c00 + t1 * c10;
    z[2 * n + 1] = z1 + t0 * c01 + t1 * c11;
  }
};

/** ∂L/∂A: [K, D, M], ∂L/∂C: [K, M, D], ∂L/∂diag and ∂L/∂b: [K, M], accumulated layer by layer. */
interface StackGrads {
  dA: Float64Array;
  dC: Float64Array;
  dDiag: Float64Array;
  db: Float64Array;
}

/** Backward of layer k: gz (∂L/∂z_k -> ∂L/∂z_{k-1}) in place; the layer's grads into g. */
const sylvesterLayerBackward: LayerBackward = (tape, k, gz, gl, g) => {
  const { N, D, M, A, C, diag, zIn, h } = tape;
  const { dA, dC, dDiag, db } = g;
  const da = new Float64Array(M); // one sample's ∂L/∂a: [M]
  for (let n = 0; n < N; n++) {
    const gln = gl[n]!;
    const nD = n * D;
    for (let i = 0; i < M; i++) {
      const t = h[(k * N + n) * M + i]!;
      const hp = tanhPrime(t);
      const dk = diag[k * M + i]!;
      const gd = gln / (1 + dk * hp);
      dDiag[k * M + i] = dDiag[k * M + i]! + gd * hp;
      let dh = -2 * t * dk * gd;
      for (let j = 0; j < D; j++) {
        const gzj = gz[nD + j]!;
        dh += gzj * C[(k * M + i) * D + j]!;
        dC[(k * M + i) * D + j] = dC[(k * M + i) * D + j]! + t * gzj;
      }
      da[i] = dh * hp;
      db[k * M + i] = db[k * M + i]! + da[i]!;
    }
    for (let j = 0; j < D; j++) {
      const zj = zIn[(k * N + n) * D + j]!;
      let s = gz[nD + j]!;
      for (let i = 0; i < M; i++) {
        const e = (k * D + j) * M + i; // A_k[j, i]
        dA[e] = dA[e]! + zj * da[i]!;
        s += A[e]! * da[i]!;
      }
      gz[nD + j] = s;
    }
  }
};

/** sylvesterLayerBackward for D = M = 2, unrolled, per-layer sums in registers (same arithmetic). */
const sylvesterLayer22Backward: LayerBackward = (tape, k, gz, gl, g) => {
  const { N, A, C, diag, zIn, h } = tape;
  const [a00, a01, a10, a11] = [A[4 * k]!, A[4 * k + 1]!, A[4 * k + 2]!, A[4 * k + 3]!];
  const [c00, c01, c10, c11] = [C[4 * k]!, C[4 * k + 1]!, C[4 * k + 2]!, C[4 * k + 3]!];
  const d0 = diag[2 * k]!;
  const d1 = diag[2 * k + 1]!;
  let gA00 = 0,
    gA01 = 0,
    gA10 = 0,
    gA11 = 0;
  let gC00 = 0,
    gC01 = 0,
    gC10 = 0,
    gC11 = 0;
  let gd0 = 0,
    gd1 = 0,
    gb0 = 0,
    gb1 = 0;
  const off = k * N * 2;
  for (let n = 0; n < N; n++) {
    const t0 = h[off + 2 * n]!;
    const t1 = h[off + 2 * n + 1]!;
    const hp0 = tanhPrime(t0);
    const hp1 = tanhPrime(t1);
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
  g.dA.set([gA00, gA01, gA10, gA11], 4 * k);
  g.dC.set([gC00, gC01, gC10, gC11], 4 * k);
  g.dDiag.set([gd0, gd1], 2 * k);
  g.db.set([gb0, gb1], 2 * k);
};

/**
 * Backward of `sylvesterStackForward`. dy: [N, D + 1]. Returns ∂L/∂z0: [N, D] (float32) and
 * ∂L/∂A: [K, D, M], ∂L/∂C: [K, M, D], ∂L/∂diag, ∂L/∂b: [K, M] (float64). With `release` the
 * tape's buffers return to the scratch pool.
 */
export function sylvesterStackBackward(
  tape: SylvesterTape,
  dy: ArrayLike<number>,
  release = false,
): {
  dz0: Float32Array;
  dA: Float64Array;
  dC: Float64Array;
  dDiag: Float64Array;
  db: Float64Array;
} {
  const { N, D, K, M } = tape;
  const { gz, gl } = splitUpstream(dy, N, D); // ∂L/∂z_K: [N, D], ∂L/∂logdet: [N]
  const g: StackGrads = {
    dA: new Float64Array(K * D * M),
    dC: new Float64Array(K * M * D),
    dDiag: new Float64Array(K * M),
    db: new Float64Array(K * M),
  };
  const layerBackward = D === 2 && M === 2 ? sylvesterLayer22Backward : sylvesterLayerBackward;
  for (let k = K - 1; k >= 0; k--) layerBackward(tape, k, gz, gl, g);
  if (release) {
    releaseScratch(tape.zIn);
    releaseScratch(tape.h);
  }
  return { dz0: Float32Array.from(gz), ...g };
}

/**
 * The Sylvester stack as one differentiable op, given the per-layer matrices:
 * (z0: [N, D], A: [K, D, M], C: [K, M, D], diag: [K, M], b: [K, M]) -> [N, D + 1].
 * Gradients flow to all five inputs.
 */
export const sylvesterStackOp = customGradOp(
  (z0: tf.Tensor2D, A: tf.Tensor3D, C: tf.Tensor3D, diag: tf.Tensor2D, b: tf.Tensor2D) => {
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
  },
);

/** The whole-flow parameters' layout of `flow`. */
function flowParams(flow: SylvesterFlow): FlowParams {
  return { K: flow.K, D: flow.dim, M: flow.M, H: flow.H, variant: flow.variant };
}

/**
 * The whole flow on plain arrays: `vars` are the values of `flow.variables` (in order),
 * z0: [N, D]. Builds A, C, d (sylvester-qr.ts), runs the stack, and returns its backward,
 * which gives ∂L/∂z0 and ∂L/∂v for each of `flow.variables`. Sets `flow.lastOrthoSteps`.
 */
function wholeFlowForward(flow: SylvesterFlow, vars: Arr[], z0: ArrayLike<number>, N: number) {
  const p = flowParams(flow);
  const q = flow.qParam ? vars[0]! : null;
  const [raw, rd, rtd, b] = (flow.qParam ? vars.slice(1) : vars) as [Arr, Arr, Arr, Arr];
  const layers = buildLayers(p, q, raw, rd, rtd);
  if (layers.ortho) flow.lastOrthoSteps = layers.ortho.steps;
  const { out, zK, logDet, tape } = sylvesterStackForward(z0, N, p.D, p.K, p.M, layers.A, layers.C, layers.diag, b);
  const backward = (dy: ArrayLike<number>): { dz0: Float32Array; grads: Float64Array[] } => {
    const g = sylvesterStackBackward(tape, dy, true);
    const gp = buildLayersBackward(p, layers, q, g.dA, g.dC, g.dDiag);
    const grads = [gp.draw, gp.drd, gp.drtd, g.db]; // flow.variables = [qParam?, rRaw, rDiag, rTildeDiag, b]
    if (gp.dq) grads.unshift(gp.dq);
    return { dz0: g.dz0, grads };
  };
  return { out, zK, logDet, backward };
}

/**
 * A SylvesterFlow's whole forward as one op with a hand-derived gradient: same map, log-det and
 * gradients (to z and to every variable) as `flow.forward(z)`. Sets `flow.lastOrthoSteps`.
 */
export function fusedSylvesterForward(flow: SylvesterFlow, z: tf.Tensor2D): FlowOutput {
  const D = flow.dim;
  const nVars = flow.variables.length;
  // tf.customGrad passes (...inputs, save): the inputs are z and the flow's variables.
  const op = customGradOp((...inputs: tf.Tensor[]) => {
    const z0 = inputs[0] as tf.Tensor2D;
    const varsT = inputs.slice(1, 1 + nVars);
    const N = z0.shape[0];
    const { out, backward } = wholeFlowForward(flow, varsT.map(values), values(z0), N);
    return {
      value: tf.tensor2d(out, [N, D + 1]),
      gradFunc: (dy: tf.Tensor) => {
        const { dz0, grads } = backward(values(dy));
        return [tf.tensor2d(dz0, [N, D]), ...grads.map((g, i) => tf.tensor(Float32Array.from(g), varsT[i]!.shape))];
      },
    };
  });
  return fusedFlowOutput(z, D, () => op(z, ...flow.variables));
}

/** The whole Sylvester flow on plain arrays (for the trainer's tape-free step). */
export function sylvesterArrays(flow: SylvesterFlow): ArrayFlowKernel {
  return {
    forward(z0, N) {
      const { zK, logDet, backward } = wholeFlowForward(flow, flow.variables.map(values), z0, N);
      return { zK, logDet, backward: (dy) => backward(dy).grads.map((g) => new Float32Array(g)) };
    },
  };
}

registerFlowKernel(SylvesterFlow, { op: fusedSylvesterForward, arrays: sylvesterArrays });
