/**
 * klChainRule (src/diagnostics/kl-chain.ts) against closed forms: an AffineFlow is exactly
 * q = N(μ, LLᵀ), the target a Gaussian p = N(m, S), so KL(q ‖ p), the marginal KL along x₁ and
 * the conditional KL at each x₁ are all known in float64.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { AffineFlow } from '../src/flows/affine';
import type { Flow } from '../src/flows/flow';
import type { Grid2D } from '../src/targets/grid';
import type { Target } from '../src/targets/target';
import { klChainRule } from '../src/diagnostics/kl-chain';
import { getTarget } from '../src/targets/energies';

/** q: μ and L (lower triangular), chosen so that x₁ and x₂ play different parts. */
const MU = [0.4, -0.3];
const L = [
  [0.8, 0],
  [0.5, 0.6],
];
/** p: mean m and covariance S, correlated the other way. */
const M = [-0.2, 0.5];
const S = [
  [1.3, -0.4],
  [-0.4, 0.9],
];
/** An offset on log p̃, so that p̃ is unnormalised with log Z = LOG_Z. */
const LOG_Z = 1.7;
/** Fine enough that the midpoint sums agree with the integrals to ~1e-6; wide enough for the tails. */
const GRID: Grid2D = { xlim: [-7, 7], ylim: [-7, 7], nx: 280, ny: 280 };

/** KL(N(a, s²) ‖ N(b, t²)) */
const kl1 = (a: number, s: number, b: number, t: number): number =>
  Math.log(t / s) + (s * s + (a - b) ** 2) / (2 * t * t) - 0.5;

function affineQ(): AffineFlow {
  const flow = new AffineFlow(2);
  flow.shift.assign(tf.tensor1d(MU));
  // raw a: strict lower part as is, diagonal through exp
  flow.raw.assign(tf.tensor2d([Math.log(L[0]![0]!), 0, L[1]![0]!, Math.log(L[1]![1]!)], [2, 2]));
  return flow;
}

function gaussianP(withLogZ: boolean): Target {
  const det = S[0]![0]! * S[1]![1]! - S[0]![1]! ** 2;
  const P = [
    [S[1]![1]! / det, -S[0]![1]! / det],
    [-S[1]![0]! / det, S[0]![0]! / det],
  ]; // S⁻¹
  const logNorm = -Math.log(2 * Math.PI) - 0.5 * Math.log(det);
  return {
    name: 'gaussian',
    dim: 2,
    logZ: withLogZ ? LOG_Z : undefined,
    logProb: (z) =>
      tf.tidy(() => {
        const d = tf.sub(z, tf.tensor1d(M)); // [N, 2]
        const quad = tf.sum(tf.mul(tf.matMul(d, tf.tensor2d(P.flat(), [2, 2])), d), 1); // dᵀ S⁻¹ d: [N]
        return tf.add(tf.mul(-0.5, quad), logNorm + LOG_Z) as tf.Tensor1D;
      }),
  };
}

// q: x₁ ~ N(μ₁, L₁₁²), x₂ | x₁ ~ N(μ₂ + (L₂₁/L₁₁)(x₁ − μ₁), L₂₂²)
const sq1 = L[0]![0]!;
const sq2 = L[1]![1]!;
const bq = L[1]![0]! / L[0]![0]!;
// p: x₁ ~ N(m₁, S₁₁), x₂ | x₁ ~ N(m₂ + (S₁₂/S₁₁)(x₁ − m₁), S₂₂ − S₁₂²/S₁₁)
const sp1 = Math.sqrt(S[0]![0]!);
const sp2 = Math.sqrt(S[1]![1]! - S[0]![1]! ** 2 / S[0]![0]!);
const bp = S[0]![1]! / S[0]![0]!;
const condKL = (x1: number): number => kl1(MU[1]! + bq * (x1 - MU[0]!), sq2, M[1]! + bp * (x1 - M[0]!), sp2);
const q1 = (x1: number): number => Math.exp(-0.5 * ((x1 - MU[0]!) / sq1) ** 2) / (sq1 * Math.sqrt(2 * Math.PI));

/** KL(N(μ, Σq) ‖ N(m, S)) by the 2-D formula: ½[tr(S⁻¹Σq) + (m−μ)ᵀS⁻¹(m−μ) − 2 + ln(det S / det Σq)]. */
function kl2(): number {
  const Sq = [
    [L[0]![0]! ** 2, L[0]![0]! * L[1]![0]!],
    [L[0]![0]! * L[1]![0]!, L[1]![0]! ** 2 + L[1]![1]! ** 2],
  ];
  const det = S[0]![0]! * S[1]![1]! - S[0]![1]! ** 2;
  const P = [
    [S[1]![1]! / det, -S[0]![1]! / det],
    [-S[1]![0]! / det, S[0]![0]! / det],
  ];
  let tr = 0;
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) tr += P[i]![j]! * Sq[j]![i]!;
  const d = [M[0]! - MU[0]!, M[1]! - MU[1]!];
  let quad = 0;
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) quad += d[i]! * P[i]![j]! * d[j]!;
  const detQ = Sq[0]![0]! * Sq[1]![1]! - Sq[0]![1]! ** 2;
  return 0.5 * (tr + quad - 2 + Math.log(det / detQ));
}

test('klChainRule: total, marginal and per-x₁ conditional KL equal the Gaussian closed forms', () => {
  const flow = affineQ();
  for (const withLogZ of [true, false]) {
    const r = klChainRule(flow, gaussianP(withLogZ), GRID);
    const marginal = kl1(MU[0]!, sq1, M[0]!, sp1);
    const total = kl2();
    assert.ok(Math.abs(r.mass - 1) < 1e-5, `mass ${r.mass}`);
    assert.ok(Math.abs(r.logZ - LOG_Z) < 1e-5, `logZ ${r.logZ} (from the target: ${withLogZ})`);
    assert.ok(Math.abs(r.total - total) < 1e-4, `total ${r.total} vs ${total}`);
    assert.ok(Math.abs(r.marginal - marginal) < 1e-4, `marginal ${r.marginal} vs ${marginal}`);
    assert.ok(Math.abs(r.conditional - (total - marginal)) < 1e-4, `conditional ${r.conditional}`);
    assert.ok(Math.abs(r.total - r.marginal - r.conditional) < 1e-12);
    // the integrand along x₁, column by column, where q₁ has mass
    let worst = 0;
    for (let i = 0; i < GRID.nx; i++) {
      const x = r.x1[i]!;
      if (q1(x) < 1e-6) continue;
      worst = Math.max(worst, Math.abs(r.conditionalDensity[i]! - q1(x) * condKL(x)));
      const m = q1(x) * Math.log(q1(x) / (Math.exp(-0.5 * ((x - M[0]!) / sp1) ** 2) / (sp1 * Math.sqrt(2 * Math.PI))));
      worst = Math.max(worst, Math.abs(r.marginalDensity[i]! - m));
    }
    assert.ok(worst < 1e-4, `largest per-column error ${worst}`);
  }
  flow.variables.forEach((v) => v.dispose());
});

test('klChainRule: a flow equal to the target has KL 0; the swapped axes do not', () => {
  // q = N(0, I) (the affine flow at its identity start) against a standard normal target
  const flow = new AffineFlow(2);
  const stdNormal: Target = {
    name: 'std',
    dim: 2,
    logZ: Math.log(2 * Math.PI),
    logProb: (z) => tf.tidy(() => tf.mul(-0.5, tf.sum(tf.square(z), 1)) as tf.Tensor1D),
  };
  const r = klChainRule(flow, stdNormal, GRID);
  assert.ok(Math.abs(r.total) < 1e-5 && Math.abs(r.marginal) < 1e-5, `KL ${r.total}, marginal ${r.marginal}`);
  // the planted swap: reading x₂ as x₁ changes the marginal term, so the split is not symmetric
  const q = affineQ();
  const swapped: Target = { ...gaussianP(true), logProb: (z) => gaussianP(true).logProb(tf.reverse(z, 1)) };
  const a = klChainRule(q, gaussianP(true), GRID);
  const b = klChainRule(q, swapped, GRID);
  assert.ok(Math.abs(a.marginal - b.marginal) > 1e-2, `marginals ${a.marginal} and ${b.marginal}`);
  flow.variables.forEach((v) => v.dispose());
  q.variables.forEach((v) => v.dispose());
});

test('klChainRule: clear errors for a flow without an inverse and for dims other than 2', () => {
  const noInverse: Flow = {
    name: 'forward-only',
    dim: 2,
    variables: [],
    forward: (z) => ({ z, logDetJ: tf.zeros([z.shape[0]]) as tf.Tensor1D }),
    dispose: () => {},
  };
  const u1 = getTarget('U1');
  assert.throws(() => klChainRule(noInverse, u1, GRID), /needs log q on the grid, so a flow with an inverse/);
  assert.throws(() => klChainRule(new AffineFlow(3), u1, GRID), /2-D flow and a 2-D target, got dims 3 and 2/);
  assert.throws(() => klChainRule(affineQ(), u1, { ...GRID, nx: 0 }), RangeError);
});
