/**
 * A Gaussian mixture baseline for maximum likelihood on data (use case 1), fitted by EM in float64.
 *
 *   p(x) = Σ_k π_k N(x; μ_k, Σ_k)
 *
 * EM (Dempster, Laird & Rubin 1977; Bishop 2006, §9.2) alternates the responsibilities
 * r_nk = π_k N(x_n; μ_k, Σ_k) / p(x_n) with the weighted maximum-likelihood updates
 *   π_k = N_k / N,  μ_k = Σ_n r_nk x_n / N_k,  Σ_k = Σ_n r_nk (x_n - μ_k)(x_n - μ_k)ᵀ / N_k + εI,
 * (N_k = Σ_n r_nk), and never lowers the training log-likelihood. `gaussianMixtureBaseline` picks
 * the number of components by BIC on the training rows, so a flow meets the best mixture the
 * training data support: a flow that cannot beat it has not earned its extra parameters.
 */
import { Rng } from '../core/random';
import { checkPositiveInt, checkSeed } from '../core/validate';
import { weightedMeanCov } from '../core/numerics';
import { checkData, cholesky, gaussianLogProbRows, meanOfRows } from './mle';

export interface GaussianMixture {
  /** π: [K], summing to 1 */
  weights: number[];
  /** μ_k: [K][D] */
  means: number[][];
  /** Σ_k row-major: [K][D × D] */
  covs: number[][];
}

export interface MixtureFit extends GaussianMixture {
  /** Mean log p(x) per training row after each EM iteration (never decreasing, up to round-off). */
  history: number[];
  /** Mean log p(x) per training row of the returned mixture (the best restart). */
  logLik: number;
}

export interface MixtureOptions {
  /** Components K (default 3). */
  components?: number;
  /** EM runs from different starts; the best by training log-likelihood is kept (default 10). */
  restarts?: number;
  /** Seed of the starts (default 0). */
  seed?: number;
  /** Most EM iterations (M-steps) per start (default 500). */
  maxIter?: number;
}

/**
 * Added to each covariance's diagonal (standardised units): keeps a component that collapses onto a
 * few rows from a singular Σ_k; shifts the log-likelihood of standardised data by ~1e-6.
 */
const COV_FLOOR = 1e-6;
/** Training rows per parameter of a component that gaussianMixtureBaseline asks for. */
const ROWS_PER_PARAMETER = 2;
/** EM stops when an iteration gains less than this in mean log-likelihood per row. */
const EM_TOL = 1e-8;

/** log π_k + log N(x_n; μ_k, Σ_k): [K][N], and log p(x_n) = logsumexp over k: [N]. */
function joint(x: Float32Array, D: number, m: GaussianMixture): { terms: Float64Array[]; logP: Float64Array } {
  const terms = m.weights.map((w, k) =>
    gaussianLogProbRows(x, D, m.means[k]!, cholesky(m.covs[k]!, D)).map((v) => v + Math.log(w)),
  );
  const N = x.length / D;
  const logP = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let top = -Infinity;
    for (const t of terms) top = Math.max(top, t[n]!);
    let s = 0;
    for (const t of terms) s += Math.exp(t[n]! - top);
    logP[n] = top + Math.log(s);
  }
  return { terms, logP };
}

/** Mean log p(x) per row of `x` ([N, dim], row-major) under mixture `m`. */
export function gaussianMixtureLogLik(m: GaussianMixture, x: Float32Array, dim = 2): number {
  const D = checkPositiveInt('dim', dim);
  checkData('x', x, D);
  return meanOfRows(joint(x, D, m).logP);
}

/** One EM run from K distinct training rows as means, the data covariance for every Σ_k. */
function emRun(x: Float32Array, D: number, K: number, rng: Rng, maxIter: number): MixtureFit {
  const N = x.length / D;
  const row = (n: number): number[] => Array.from(x.subarray(n * D, (n + 1) * D));
  const picks = new Set<number>();
  while (picks.size < K) picks.add(Math.floor(rng.uniform() * N));
  const all = Array.from({ length: N }, (_, n) => n);
  const start = weightedMeanCov(x, D, new Float64Array(N).fill(1), COV_FLOOR);
  let m: GaussianMixture = {
    weights: new Array<number>(K).fill(1 / K),
    means: [...picks].map(row),
    covs: new Array(K).fill(0).map(() => start.cov),
  };
  const history: number[] = [];
  // history[it] scores the mixture after `it` M-steps; the last one scored is the one returned
  for (let it = 0; ; it++) {
    const { terms, logP } = joint(x, D, m);
    history.push(meanOfRows(logP));
    if (it === maxIter || (it > 0 && history[it]! - history[it - 1]! < EM_TOL)) break;
    const next: GaussianMixture = { weights: [], means: [], covs: [] };
    for (let k = 0; k < K; k++) {
      const r = all.map((n) => Math.exp(terms[k]![n]! - logP[n]!)); // responsibilities r_nk
      const Nk = r.reduce((a, b) => a + b, 0);
      if (!(Nk > 0)) {
        // a component no row belongs to (every r_nk underflowed): it keeps weight 0
        next.weights.push(0);
        next.means.push(m.means[k]!);
        next.covs.push(m.covs[k]!);
        continue;
      }
      const mk = weightedMeanCov(x, D, r, COV_FLOOR);
      next.weights.push(Nk / N);
      next.means.push(mk.mean);
      next.covs.push(mk.cov);
    }
    m = next;
  }
  return { ...m, history, logLik: history.at(-1)! };
}

/**
 * Fit a K-component Gaussian mixture to `x` ([N, dim], row-major) by EM from `restarts` seeded
 * starts; returns the one with the highest training log-likelihood.
 */
export function fitGaussianMixture(x: Float32Array, dim = 2, options: MixtureOptions = {}): MixtureFit {
  const D = checkPositiveInt('dim', dim);
  const N = checkData('x', x, D);
  const K = checkPositiveInt('components', options.components ?? 3);
  const restarts = checkPositiveInt('restarts', options.restarts ?? 10);
  const maxIter = checkPositiveInt('maxIter', options.maxIter ?? 500);
  const rng = new Rng(checkSeed('seed', options.seed ?? 0));
  if (K > N) throw new RangeError(`components must be <= the ${N} rows of x, got ${K}`);
  let best: MixtureFit | undefined;
  for (let r = 0; r < restarts; r++) {
    const fit = emRun(x, D, K, rng, maxIter);
    if (best === undefined || fit.logLik > best.logLik) best = fit;
  }
  return best!;
}

export interface MixtureBaseline {
  /** K chosen by BIC. */
  components: number;
  /** BIC = -2 · (total training log-likelihood) + (free parameters) · log N, for K = 1, 2, ...: [maxComponents] */
  bic: number[];
  /** The fitted mixture with `components` components. */
  mixture: MixtureFit;
  /** Mean log p(x) over the training rows. */
  trainLogLik: number;
  /** Mean log p(x) over the test rows: a number a flow should beat. */
  testLogLik: number;
}

/**
 * The Gaussian mixture baseline: K = 1 … maxComponents (default 5; fewer when `train` has under
 * 2 rows per parameter of each component) fitted to `train` by EM, K
 * chosen by BIC (Schwarz 1978) on the training rows alone, scored on `test`. Free parameters of K
 * full-covariance components in D dimensions: (K - 1) + K·D + K·D(D + 1)/2. K = 1 is the
 * full-covariance Gaussian of `gaussianBaseline` (+ COV_FLOOR).
 */
export function gaussianMixtureBaseline(
  train: Float32Array,
  test: Float32Array,
  dim = 2,
  options: Omit<MixtureOptions, 'components'> & { maxComponents?: number } = {},
): MixtureBaseline {
  const D = checkPositiveInt('dim', dim);
  const N = checkData('train', train, D);
  checkData('test', test, D);
  // at least ROWS_PER_PARAMETER rows per parameter of each component: with fewer, a component can
  // shrink onto a handful of rows and BIC rewards it
  const perComponent = 1 + D + (D * (D + 1)) / 2;
  const affordable = Math.max(1, Math.floor(N / (ROWS_PER_PARAMETER * perComponent)));
  const maxK = Math.min(affordable, checkPositiveInt('maxComponents', options.maxComponents ?? 5));
  const fits: MixtureFit[] = [];
  const bic: number[] = [];
  for (let K = 1; K <= maxK; K++) {
    const fit = fitGaussianMixture(train, D, { ...options, components: K });
    const params = K - 1 + K * D + (K * D * (D + 1)) / 2;
    fits.push(fit);
    bic.push(-2 * N * fit.logLik + params * Math.log(N));
  }
  const k = bic.indexOf(Math.min(...bic));
  const mixture = fits[k]!;
  return {
    components: k + 1,
    bic,
    mixture,
    trainLogLik: mixture.logLik,
    testLogLik: gaussianMixtureLogLik(mixture, test, D),
  };
}
