/**
 * The posterior predictive of a logistic model with intercept and one feature: at each x the
 * (weighted) mean and quantile band of σ(θ0 + θ1 x) over posterior samples θ.
 */
import type { FlowSamples } from './evaluate';
import { logSigmoid64 } from '../targets/logistic';
import { checkFinite } from '../core/validate';

export interface PredictiveOptions {
  /** Lower and upper quantile of the band (default [0.05, 0.95]). */
  quantiles?: [number, number];
  /** Log importance weights of the θ samples (default: equal weights). */
  logWeights?: ArrayLike<number> | null;
}

/** The posterior predictive p(y = 1 | x) of a 1-feature model at each x. */
export interface PredictiveBand {
  x: Float64Array;
  /** E[σ(θ0 + θ1 x)]: [nx] */
  mean: Float64Array;
  /** Lower quantile of σ(θ0 + θ1 x) over θ: [nx] */
  lower: Float64Array;
  /** Upper quantile: [nx] */
  upper: Float64Array;
}

/** Weighted quantile q of values v (weights w, sum sw): the smallest v with cumulative weight ≥ q. */
function weightedQuantile(order: Int32Array, v: Float64Array, w: Float64Array, sw: number, q: number): number {
  let c = 0;
  for (let i = 0; i < order.length; i++) {
    c += w[order[i]!]!;
    if (c >= q * sw) return v[order[i]!]!;
  }
  return v[order[order.length - 1]!]!;
}

/**
 * Posterior predictive of the model with intercept and one feature, θ = (θ0, θ1): at each x,
 * the (weighted) mean and quantile band of p_s(x) = σ(θ0_s + θ1_s x) over samples θ_s
 * (row-major [S, 2], e.g. flow samples, or FlowSamples).
 */
export function posteriorPredictive(
  xs: ArrayLike<number>,
  thetas: FlowSamples | Float32Array | Float64Array,
  options: PredictiveOptions = {},
): PredictiveBand {
  const z = thetas instanceof Float32Array || thetas instanceof Float64Array ? thetas : thetas.z;
  if (!(thetas instanceof Float32Array || thetas instanceof Float64Array) && thetas.dim !== 2) {
    throw new RangeError(`posteriorPredictive needs θ = (intercept, slope), dim 2; got dim ${thetas.dim}`);
  }
  if (z.length === 0 || z.length % 2 !== 0) throw new RangeError(`thetas must hold S * 2 values, got ${z.length}`);
  const S = z.length / 2;
  const [qLo, qHi] = options.quantiles ?? [0.05, 0.95];
  checkFinite('quantiles[0]', qLo);
  checkFinite('quantiles[1]', qHi);
  if (!(qLo >= 0 && qLo < qHi && qHi <= 1))
    throw new RangeError(`quantiles must satisfy 0 <= lo < hi <= 1, got [${qLo}, ${qHi}]`);
  const lwIn = options.logWeights ?? null;
  if (lwIn !== null && lwIn.length !== S)
    throw new RangeError(`logWeights must have one entry per sample (${S}), got ${lwIn.length}`);
  const w = new Float64Array(S).fill(1);
  if (lwIn) {
    let max = -Infinity;
    for (let s = 0; s < S; s++) if (Number.isFinite(lwIn[s]!) && lwIn[s]! > max) max = lwIn[s]!;
    for (let s = 0; s < S; s++) w[s] = Number.isFinite(lwIn[s]!) ? Math.exp(lwIn[s]! - max) : 0;
  }
  let sw = 0;
  for (let s = 0; s < S; s++) sw += w[s]!;
  const nx = xs.length;
  const out: PredictiveBand = {
    x: Float64Array.from(xs),
    mean: new Float64Array(nx),
    lower: new Float64Array(nx),
    upper: new Float64Array(nx),
  };
  const p = new Float64Array(S);
  const order = new Int32Array(S);
  for (let i = 0; i < nx; i++) {
    const x = checkFinite(`xs[${i}]`, xs[i]);
    let m = 0;
    for (let s = 0; s < S; s++) {
      p[s] = Math.exp(logSigmoid64(z[2 * s]! + z[2 * s + 1]! * x)); // σ(θ0 + θ1 x)
      m += w[s]! * p[s]!;
      order[s] = s;
    }
    order.sort((a, b) => p[a]! - p[b]!);
    out.mean[i] = m / sw;
    out.lower[i] = weightedQuantile(order, p, w, sw, qLo);
    out.upper[i] = weightedQuantile(order, p, w, sw, qHi);
  }
  return out;
}
