/**
 * Where a 2-D flow's KL gap lives: the chain rule of KL, evaluated on a grid.
 *
 *   KL(q ‖ p) = KL(q₁ ‖ p₁) + ∫ q₁(x₁) KL(q(·|x₁) ‖ p(·|x₁)) dx₁
 *
 * q₁ and p₁ are the x₁ marginals, q(x₂|x₁) = q(x₁, x₂) / q₁(x₁) the conditionals. The first term
 * says how well the flow spreads its mass along x₁; the second, integrand by integrand, says at
 * which x₁ the shape across x₂ is wrong (on U3: where the two branches split). For a one-layer
 * autoregressive flow in the order x₁ then x₂ the two terms are its two splines' errors.
 *
 * Everything is a midpoint sum on the grid: log q from `flowDensity` (one inverse pass, so the
 * flow needs an inverse), log p = target.logProb − log Z with the target's log Z when it has one,
 * else log Z of p̃ summed on the grid. With the target's log Z, `total` is the KL gap that
 * `evaluate` estimates by sampling, up to the grid's resolution and the mass outside it.
 */
import { tf } from '../core/backend';
import { logMeanExp } from '../core/numerics';
import type { Flow } from '../flows/flow';
import { checkGrid, gridPoints, type Grid2D } from '../targets/grid';
import type { Target } from '../targets/target';
import { flowDensity } from './evaluate';

/** The chain rule of KL(q ‖ p) along x₁, on a grid (`klChainRule`). */
export interface KLChainRule {
  /** x₁ at the grid's column midpoints: [nx] */
  x1: Float64Array;
  /** KL(q ‖ p) on the grid: marginal + conditional (nats). */
  total: number;
  /** KL(q₁ ‖ p₁) of the x₁ marginals (nats). */
  marginal: number;
  /** ∫ q₁(x₁) KL(q(·|x₁) ‖ p(·|x₁)) dx₁ (nats). */
  conditional: number;
  /** Per column: q₁(x₁) log(q₁(x₁) / p₁(x₁)), the marginal term's integrand: [nx] */
  marginalDensity: Float64Array;
  /** Per column: q₁(x₁) KL(q(·|x₁) ‖ p(·|x₁)), the conditional term's integrand: [nx] */
  conditionalDensity: Float64Array;
  /** q's mass on the grid (about 1 when the grid covers the flow's samples). */
  mass: number;
  /** The log Z used for p: the target's, or p̃ summed on the grid. */
  logZ: number;
}

/**
 * KL(q ‖ p) of a 2-D flow against a 2-D target, split by the chain rule along x₁ (see the file
 * comment). Cells where q underflows to 0 add nothing (q log q → 0); cells where p underflows
 * while q does not make the result +∞, as KL is.
 */
export function klChainRule(flow: Flow, target: Target, grid: Grid2D): KLChainRule {
  checkGrid(grid);
  if (flow.dim !== 2 || target.dim !== 2) {
    throw new RangeError(`klChainRule needs a 2-D flow and a 2-D target, got dims ${flow.dim} and ${target.dim}`);
  }
  const field = flowDensity(flow, grid);
  if (!field.regular) {
    throw new TypeError(`klChainRule needs log q on the grid, so a flow with an inverse; ${flow.name} has none`);
  }
  const { nx, ny } = grid;
  const dx = (grid.xlim[1] - grid.xlim[0]) / nx;
  const dy = (grid.ylim[1] - grid.ylim[0]) / ny;
  const pts = gridPoints(grid); // row-major, y outer, x inner: [ny * nx, 2]
  const lpT = tf.tidy(() => target.logProb(tf.tensor2d(pts, [nx * ny, 2])));
  const lpTilde = lpT.dataSync();
  lpT.dispose();
  // log ∫ p̃ ≈ log(mean p̃ · area of the grid)
  const logZ = target.logZ ?? logMeanExp(lpTilde) + Math.log(nx * dx * ny * dy);
  const lq = field.logDensity;
  const x1 = new Float64Array(nx);
  const q1 = new Float64Array(nx); // ∫ q dx₂ per column
  const p1 = new Float64Array(nx);
  const joint = new Float64Array(nx); // ∫ q log(q / p) dx₂ per column
  for (let i = 0; i < nx; i++) x1[i] = grid.xlim[0] + (i + 0.5) * dx;
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      const logQ = lq[k]!;
      const logP = lpTilde[k]! - logZ;
      const q = Math.exp(logQ);
      q1[i] += q * dy;
      p1[i] += Math.exp(logP) * dy;
      if (q > 0) joint[i] += q * (logQ - logP) * dy;
    }
  }
  const marginalDensity = new Float64Array(nx);
  const conditionalDensity = new Float64Array(nx);
  let marginal = 0;
  let conditional = 0;
  let mass = 0;
  for (let i = 0; i < nx; i++) {
    // ∫ q log(q/p) dx₂ = q₁ log(q₁/p₁) + q₁ KL(q(·|x₁) ‖ p(·|x₁)) in each column
    marginalDensity[i] = q1[i]! > 0 ? q1[i]! * Math.log(q1[i]! / p1[i]!) : 0;
    conditionalDensity[i] = joint[i]! - marginalDensity[i]!;
    marginal += marginalDensity[i]! * dx;
    conditional += conditionalDensity[i]! * dx;
    mass += q1[i]! * dx;
  }
  return {
    x1,
    total: marginal + conditional,
    marginal,
    conditional,
    marginalDensity,
    conditionalDensity,
    mass,
    logZ,
  };
}
