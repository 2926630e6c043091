/**
 * The Gaussian mixture baseline (src/train/gmm.ts) against independent oracles: the closed-form
 * 2×2 Gaussian density, the one-Gaussian baseline, and a mixture with known parameters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/core/random';
import { gaussianBaseline } from '../src/train/mle';
import {
  fitGaussianMixture,
  gaussianMixtureBaseline,
  gaussianMixtureLogLik,
  type GaussianMixture,
} from '../src/train/gmm';

/** log p(x) of a 2-D mixture written out: 2×2 inverse and determinant in closed form. */
function logP2(m: GaussianMixture, x: number, y: number): number {
  let s = 0;
  m.weights.forEach((w, k) => {
    const [a, b, , d] = m.covs[k]!;
    const det = a! * d! - b! * b!;
    const [u, v] = [x - m.means[k]![0]!, y - m.means[k]![1]!];
    const q = (d! * u * u - 2 * b! * u * v + a! * v * v) / det;
    s += (w * Math.exp(-0.5 * q)) / (2 * Math.PI * Math.sqrt(det));
  });
  return Math.log(s);
}

/** N rows from the 2-D mixture `m`, seeded: component by weight, then μ + L ε; `labels` gets the components. */
function sample(m: GaussianMixture, N: number, seed: number, labels: number[] = []): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(2 * N);
  for (let n = 0; n < N; n++) {
    let k = 0;
    for (let u = rng.uniform(); k < m.weights.length - 1 && u > m.weights[k]!; k++) u -= m.weights[k]!;
    const [a, b, , d] = m.covs[k]!;
    const l11 = Math.sqrt(a!);
    const l21 = b! / l11;
    const l22 = Math.sqrt(d! - l21 * l21);
    const [e1, e2] = [rng.normal(), rng.normal()];
    x[2 * n] = m.means[k]![0]! + l11 * e1;
    x[2 * n + 1] = m.means[k]![1]! + l21 * e1 + l22 * e2;
    labels.push(k);
  }
  return x;
}

/** Three components of different shapes, far enough apart (≥ 7 sd) that hard and soft assignment agree. */
const TRUE: GaussianMixture = {
  weights: [0.45, 0.2, 0.35],
  means: [
    [-3, 2],
    [0.5, -2.5],
    [3, 1.5],
  ],
  covs: [
    [0.3, 0.1, 0.1, 0.2],
    [0.15, -0.05, -0.05, 0.25],
    [0.2, 0.12, 0.12, 0.35],
  ],
};

const meanLogP = (m: GaussianMixture, x: Float32Array): number => {
  let s = 0;
  for (let n = 0; n < x.length / 2; n++) s += logP2(m, x[2 * n]!, x[2 * n + 1]!);
  return (s / x.length) * 2;
};

test('gaussianMixtureLogLik equals the closed-form 2-D density; K = 1 is the one-Gaussian baseline', () => {
  const x = sample(TRUE, 500, 1);
  assert.ok(Math.abs(gaussianMixtureLogLik(TRUE, x) - meanLogP(TRUE, x)) < 1e-9);
  const [train, test] = [x.subarray(0, 800), x.subarray(800)];
  const one = fitGaussianMixture(train, 2, { components: 1, restarts: 1 });
  const g = gaussianBaseline(train, test, 2);
  // the same Gaussian up to the 1e-6 covariance floor
  assert.ok(Math.abs(one.logLik - g.trainLogLik) < 1e-5, `${one.logLik} vs ${g.trainLogLik}`);
  assert.ok(Math.abs(gaussianMixtureLogLik(one, test) - g.testLogLik) < 1e-5);
});

test('EM never lowers the training log-likelihood, recovers a known mixture, and beats the truth on its own data', () => {
  const labels: number[] = [];
  const x = sample(TRUE, 2000, 2, labels);
  const fit = fitGaussianMixture(x, 2, { components: 3, seed: 3, restarts: 3 });
  for (let i = 1; i < fit.history.length; i++)
    assert.ok(
      fit.history[i]! >= fit.history[i - 1]! - 1e-12,
      `iteration ${i}: ${fit.history[i]} < ${fit.history[i - 1]}`,
    );
  // maximum likelihood: at least the true parameters' log-likelihood on the same rows
  assert.ok(fit.logLik >= meanLogP(TRUE, x) - 1e-9, `${fit.logLik} vs truth ${meanLogP(TRUE, x)}`);
  assert.ok(Math.abs(fit.logLik - meanLogP(fit, x)) < 1e-9, 'the reported logLik is the closed form');
  // each component found: the fitted weight, mean and covariance are the moments of the rows drawn
  // from it (the components barely overlap, so soft and hard assignment nearly agree)
  TRUE.means.forEach((mu, k) => {
    const rows = labels.flatMap((l, n) => (l === k ? [[x[2 * n]!, x[2 * n + 1]!]] : []));
    const m = [0, 1].map((d) => rows.reduce((a, r) => a + r[d]!, 0) / rows.length);
    const cov = [0, 1].flatMap((a) =>
      [0, 1].map((b) => rows.reduce((t, r) => t + (r[a]! - m[a]!) * (r[b]! - m[b]!), 0) / rows.length),
    );
    const dist = fit.means.map((f) => Math.hypot(f[0]! - mu[0]!, f[1]! - mu[1]!));
    const j = dist.indexOf(Math.min(...dist));
    const [fm, fw] = [fit.means[j]!, fit.weights[j]!];
    assert.ok(Math.hypot(fm[0]! - m[0]!, fm[1]! - m[1]!) < 0.01, `component ${k}: mean ${fm} vs ${m}`);
    assert.ok(Math.abs(fw - rows.length / labels.length) < 0.005, `component ${k}: weight ${fw}`);
    fit.covs[j]!.forEach((c, i) =>
      assert.ok(Math.abs(c - cov[i]!) < 0.01, `component ${k}: cov ${fit.covs[j]} vs ${cov}`),
    );
  });
});

test('gaussianMixtureBaseline picks K by BIC: 3 for three components, 1 for one Gaussian', () => {
  const x = sample(TRUE, 1200, 4);
  const b = gaussianMixtureBaseline(x.subarray(0, 1800), x.subarray(1800), 2, { restarts: 3 });
  assert.equal(b.components, 3, `BIC ${b.bic}`);
  assert.equal(b.bic.length, 5);
  assert.ok(Math.abs(b.testLogLik - meanLogP(b.mixture, x.subarray(1800))) < 1e-9);
  const single: GaussianMixture = { weights: [1], means: [[0.3, -0.2]], covs: [[1, 0.4, 0.4, 0.8]] };
  const y = sample(single, 1200, 5);
  assert.equal(gaussianMixtureBaseline(y.subarray(0, 1800), y.subarray(1800), 2, { restarts: 3 }).components, 1);
});

test('the seed fixes the fit; bad input is refused with the parameter named', () => {
  const x = sample(TRUE, 300, 6);
  const [a, b] = [fitGaussianMixture(x, 2, { seed: 9 }), fitGaussianMixture(x, 2, { seed: 9 })];
  assert.deepEqual(a.means, b.means);
  // stopped by maxIter: the reported logLik is still that of the mixture returned
  const short = fitGaussianMixture(x, 2, { seed: 9, restarts: 1, maxIter: 3 });
  assert.equal(short.history.length, 4);
  assert.ok(Math.abs(short.logLik - gaussianMixtureLogLik(short, x)) < 1e-12);
  assert.throws(() => fitGaussianMixture(x, 2, { components: 0 }), /components must be an integer >= 1, got 0/);
  assert.throws(() => fitGaussianMixture(x.subarray(0, 4), 2, { components: 3 }), /components must be <= the 2 rows/);
  assert.throws(() => fitGaussianMixture(x, 2, { restarts: 1.5 }), /restarts must be an integer/);
  assert.throws(() => fitGaussianMixture(new Float32Array([1, NaN]), 2), /x has a non-finite value at row 0/);
  assert.throws(() => gaussianMixtureBaseline(x, new Float32Array(3), 2), /test must hold N \* 2 values/);
});
