/**
 * How good is a trained flow? Draw N samples z ~ q_K and form the log importance weights
 *
 *   lw_i = log p̃(z_i) - log q_K(z_i)
 *
 * - ELBO = mean(lw) ≤ log Z, and KL(q_K ‖ p) = log Z - ELBO (the "KL gap", when log Z is known);
 * - importance-sampled log Ẑ = log mean exp(lw) (consistent, but blind to modes q_K never visits);
 * - ESS/N = (Σw)² / (N Σw²), w = exp(lw - max lw), in (0, 1].
 *
 * Mode collapse onto one crescent of U1 shows as a KL gap ≈ ln 2 with a high ESS: report the
 * KL gap whenever log Z is known. All sums run in float64.
 */
import { tf } from '../core/backend';
import { StandardNormal } from '../flows/base';
import { type Flow, type FlowPath } from '../flows/flow';
import { forwardOn } from '../flows/compose';
import { Rng } from '../core/random';
import { asTarget, type LogProbFn, type Target } from '../targets/energies';
import { checkGrid, gridPoints, type DensityField, type Grid2D } from '../targets/grid';
import { columnsXY, logMeanExp } from '../core/numerics';
import { checkFinite, checkLogProbShape, checkOneOf, checkPositiveInt, checkSeed } from '../core/validate';

/** ESS/N = (Σw)² / (N Σw²) of log-weights, with w = exp(lw - max lw). */
export function essFraction(logWeights: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < logWeights.length; i++) if (logWeights[i]! > m) m = logWeights[i]!;
  if (!Number.isFinite(m)) return 0;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < logWeights.length; i++) {
    const w = Math.exp(logWeights[i]! - m);
    s += w;
    s2 += w * w;
  }
  return (s * s) / (logWeights.length * s2);
}

export interface FlowSamples {
  /** z_K row-major: [n * D] */
  z: Float32Array;
  /** log q_K(z_K): [n] */
  logQ: Float32Array;
  n: number;
  dim: number;
}

export interface SampleOptions {
  seed?: number;
  /** Rows per forward pass, bounding memory (default 10000). */
  chunk?: number;
  path?: FlowPath;
}

/** n samples of the flow with their log densities, in chunks, as plain arrays. */
export function sampleFlow(flow: Flow, n: number, options: SampleOptions = {}): FlowSamples {
  checkPositiveInt('n', n);
  const chunk = checkPositiveInt('chunk', options.chunk ?? 10000);
  const path = checkOneOf('path', options.path ?? 'fused', ['fused', 'reference'] as const);
  const rng = new Rng(checkSeed('seed', options.seed ?? 12345));
  const base = new StandardNormal(flow.dim);
  const D = flow.dim;
  const z = new Float32Array(n * D);
  const logQ = new Float32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const [zk, lq] = tf.tidy(() => {
      const z0 = rng.normalTensor(m, D);
      const out = forwardOn(flow, z0, path);
      return [out.z, tf.sub(base.logProb(z0), out.logDetJ)];
    });
    z.set(zk.dataSync(), start * D);
    logQ.set(lq.dataSync(), start);
    zk.dispose();
    lq.dispose();
  }
  return { z, logQ, n, dim: D };
}

export interface Diagnostics {
  n: number;
  elbo: number;
  /** Importance-sampled log Ẑ. */
  logZ: number;
  /** Known log Z of the target, or null. */
  logZTrue: number | null;
  /** log Z - ELBO = KL(q_K ‖ p), or null without a known log Z. */
  klGap: number | null;
  essFraction: number;
  /** Fraction of samples whose weight was not finite (should be 0). */
  nonFinite: number;
  /**
   * Number of samples whose log weight was not finite (NaN or ±∞: the target or the flow gave
   * a non-finite value there). They are left out of the ELBO, IS log Z and ESS, which are then
   * computed from the other n - droppedWeights samples: report it whenever it is not 0.
   */
  droppedWeights: number;
}

export interface EvaluateOptions extends SampleOptions {
  /** Flow samples (default 100000). */
  samples?: number;
  /** Overrides target.logZ. */
  logZTrue?: number;
}

/** ELBO, IS log Z, KL gap and ESS/N from `samples` flow samples. */
export function evaluate(flow: Flow, targetIn: Target | LogProbFn, options: EvaluateOptions = {}): Diagnostics {
  const target = asTarget(targetIn, flow.dim);
  if (target.dim !== flow.dim) throw new RangeError(`target has dim ${target.dim} but the flow has dim ${flow.dim}`);
  const n = checkPositiveInt('samples', options.samples ?? 100000);
  if (options.logZTrue !== undefined) checkFinite('logZTrue', options.logZTrue);
  const s = sampleFlow(flow, n, options);
  const logW = logWeights(target.logProb, s);
  let finite = 0;
  let sum = 0;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(logW[i]!)) {
      finite++;
      sum += logW[i]!;
      kept.push(logW[i]!);
    }
  }
  const elbo = finite > 0 ? sum / finite : NaN;
  const logZTrue = options.logZTrue ?? target.logZ ?? null;
  return {
    n,
    elbo,
    logZ: logMeanExp(kept),
    logZTrue,
    klGap: logZTrue === null ? null : logZTrue - elbo,
    essFraction: essFraction(kept),
    nonFinite: 1 - finite / n,
    droppedWeights: n - finite,
  };
}

/**
 * log p̃ must be one value per row: [m]. A target that returns [m, 1] or broadcasts to [m, m]
 * (the talk code's bug) would otherwise give a wrong ELBO or an out-of-bounds read. Disposes
 * `lp` before it throws.
 */

/** lw = log p̃(z) - log q(z) for given samples, float64: [n]. */
export function logWeights(logProb: LogProbFn, s: FlowSamples, chunk = 10000): Float64Array {
  const out = new Float64Array(s.n);
  for (let start = 0; start < s.n; start += chunk) {
    const m = Math.min(chunk, s.n - start);
    const lp = tf.tidy(() => logProb(tf.tensor2d(s.z.subarray(start * s.dim, (start + m) * s.dim), [m, s.dim])));
    checkLogProbShape(lp, m);
    const v = lp.dataSync();
    lp.dispose();
    for (let i = 0; i < m; i++) out[start + i] = v[i]! - s.logQ[start + i]!;
  }
  return out;
}

/**
 * log q_K of a trained 2-D flow for plotting.
 * - With an inverse and its log-det (coupling, MAF, the spline flows): exact values on the regular
 *   grid in one pass, log q_K(y) = log q0(f⁻¹(y)) + log|det J_{f⁻¹}(y)|.
 * - With an inverse only (planar): exact values on the regular grid, log q_K(y) = log q0(z0) -
 *   Σ log|det J| along z0 = f⁻¹(y).
 * - Without one (Sylvester): push a regular base grid over `baseLim` forward; the density is
 *   exact at the pushed points (scattered; plot them with an interpolating contour).
 */
export function flowDensity(flow: Flow, g: Grid2D, baseLim = 4): DensityField {
  checkGrid(g);
  if (flow.dim !== 2) throw new RangeError(`flowDensity needs a 2-D flow, got dim ${flow.dim}`);
  const base = new StandardNormal(2);
  const invertible = flow as Flow & {
    inverseWithLogDet?: (y: tf.Tensor2D) => { z: tf.Tensor2D; logDetJ: tf.Tensor1D };
  };
  if (flow.inverse || invertible.inverseWithLogDet) {
    const pts = gridPoints(g);
    const [lq] = tf.tidy(() => {
      const y = tf.tensor2d(pts, [g.nx * g.ny, 2]);
      if (invertible.inverseWithLogDet) {
        const { z, logDetJ } = invertible.inverseWithLogDet(y); // f⁻¹(y) and log|det J_{f⁻¹}(y)|
        return [tf.add(base.logProb(z), logDetJ)];
      }
      const z0 = flow.inverse!(y);
      const out = flow.forward(z0);
      return [tf.sub(base.logProb(z0), out.logDetJ)];
    });
    const logDensity = lq!.dataSync() as Float32Array;
    lq!.dispose();
    return { ...columnsXY(pts, (n) => new Float32Array(n)), logDensity, regular: true };
  }
  const basePts = gridPoints({ xlim: [-baseLim, baseLim], ylim: [-baseLim, baseLim], nx: g.nx, ny: g.ny });
  const [zk, lq] = tf.tidy(() => {
    const z0 = tf.tensor2d(basePts, [g.nx * g.ny, 2]);
    const out = flow.forward(z0);
    return [out.z, tf.sub(base.logProb(z0), out.logDetJ)];
  });
  const zs = zk!.dataSync();
  const logDensity = lq!.dataSync() as Float32Array;
  zk!.dispose();
  lq!.dispose();
  return { ...columnsXY(zs, (n) => new Float32Array(n)), logDensity, regular: false };
}
