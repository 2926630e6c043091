import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { rqSpline, splineConfig, splineKnots, splitSplineParams, type SplineConfig } from '../src/flows/spline';
import { perturbVariables } from '../src/flows/mlp';
import { SplineCouplingFlow } from '../src/flows/spline-coupling';
import { gaussianBaseline, logLikelihood, trainMaxLikelihood } from '../src/train/mle';
import { jacobianFD, logAbsDet, relErr } from './oracle';
import { assertNoLeaksBothWays } from './flows-helpers';
import { FD64_STEP, inverse64, knots64, logDer64, randomTheta, spline64, type Theta } from './spline-oracle';

/** Float32 round trip x -> g(x) -> g⁻¹(g(x)): a few roundings of numbers of size <= B. */
const ROUNDTRIP_TOL = 1e-5;
/** log g' in float32 (logs of s, numerator, denominator) against a float64 derivative. */
const LOGDER_TOL = 1e-4;
/** Central-difference step on the float32 flow (as in coupling.test.ts: rounding / h vs curvature h²). */
const FD_STEP = 3e-3;
/** Tolerance on log|det J| from FD entries with ~1e-4 errors. */
const FD_LOGDET_TOL = 3e-3;

/**
 * Spread of the random θ: N(0, 1.5²) makes neighbouring bins differ in width, height and slope by
 * factors up to ~100, a strongly bent spline that float32 still resolves to ~1e-6.
 */
const THETA_SCALE = 1.5;

/** g (or g⁻¹) at each point, each with its own θ, in float32 through rqSpline: numbers out. */
function evalSpline(thetas: Theta[], xs: number[], cfg: SplineConfig, inverse = false) {
  return tf.tidy(() => {
    const n = xs.length;
    const params = {
      thetaW: tf.tensor2d(thetas.map((t) => t.w)),
      thetaH: tf.tensor2d(thetas.map((t) => t.h)),
      thetaD: tf.tensor2d(thetas.map((t) => t.d)),
    };
    const out = rqSpline(tf.tensor1d(xs), params, cfg, inverse);
    assert.deepEqual(out.y.shape, [n]);
    return { y: Array.from(out.y.dataSync()), logDet: Array.from(out.logDet.dataSync()) };
  });
}

const maxAbs = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

test('θ = 0: equal bins, every knot derivative 1, and g is the identity', () => {
  const cfg = splineConfig({ bins: 6, bound: 2.5 });
  const xs = [-4, -2.5, -1.7, -0.3, 0, 0.81, 2.5, 3.2];
  const zero: Theta = { w: Array(6).fill(0), h: Array(6).fill(0), d: Array(5).fill(0) };
  const knots = tf.tidy(() => {
    const k = splineKnots({ thetaW: tf.zeros([1, 6]), thetaH: tf.zeros([1, 6]), thetaD: tf.zeros([1, 5]) }, cfg);
    return { xk: Array.from(k.xk.dataSync()), yk: Array.from(k.yk.dataSync()), d: Array.from(k.delta.dataSync()) };
  });
  const equal = Array.from({ length: 7 }, (_, k) => -2.5 + (5 * k) / 6);
  assert.ok(maxAbs(knots.xk, equal) < 1e-6 && maxAbs(knots.yk, equal) < 1e-6, `knots ${knots.xk}`);
  assert.ok(maxAbs(knots.d, Array(7).fill(1)) < 1e-6, `derivatives ${knots.d}`);
  for (const inverse of [false, true]) {
    const { y, logDet } = evalSpline(Array(xs.length).fill(zero), xs, cfg, inverse);
    assert.ok(maxAbs(y, xs) < 1e-6, `inverse=${inverse}: ${y}`);
    assert.ok(Math.max(...logDet.map(Math.abs)) < 1e-6, `inverse=${inverse}: log-det ${logDet}`);
  }
});

test('monotone, maps [-B, B] onto itself, identity in the tails', () => {
  const cfg = splineConfig({ bins: 8, bound: 3 });
  const rng = new Rng(4);
  const G = 801; // grid points on [-B - 1, B + 1], step 0.01
  const xs = Array.from({ length: G }, (_, i) => -4 + (8 * i) / (G - 1));
  for (let trial = 0; trial < 4; trial++) {
    const theta = randomTheta(rng, 8, 2);
    const { y, logDet } = evalSpline(Array(G).fill(theta), xs, cfg);
    for (let i = 1; i < G; i++) assert.ok(y[i]! > y[i - 1]!, `not increasing at x = ${xs[i]}: ${y[i - 1]} -> ${y[i]}`);
    for (let i = 0; i < G; i++) {
      assert.ok(Number.isFinite(logDet[i]!), `log-det at ${xs[i]}`);
      if (Math.abs(xs[i]!) > 3) assert.ok(y[i] === Math.fround(xs[i]!) && logDet[i] === 0, `tail at ${xs[i]}: ${y[i]}`);
    }
    const ends = evalSpline([theta, theta], [-3, 3], cfg).y;
    assert.ok(Math.abs(ends[0]! + 3) < 1e-6 && Math.abs(ends[1]! - 3) < 1e-6, `g(±B) = ${ends}`);
  }
});

test('g and log g′ match a float64 oracle and its finite-difference derivative', () => {
  const cfg = splineConfig({ bins: 5, bound: 2 });
  const rng = new Rng(9);
  const thetas = Array.from({ length: 200 }, () => randomTheta(rng, 5, 1.5));
  const xs = thetas.map(() => 2.4 * (2 * rng.uniform() - 1)); // some in the tails
  const { y, logDet } = evalSpline(thetas, xs, cfg);
  thetas.forEach((t, i) => {
    const x = xs[i]!;
    const fd = (spline64(t, x + FD64_STEP, cfg) - spline64(t, x - FD64_STEP, cfg)) / (2 * FD64_STEP);
    assert.ok(Math.abs(y[i]! - spline64(t, x, cfg)) < 1e-5, `g(${x}) = ${y[i]} vs ${spline64(t, x, cfg)}`);
    assert.ok(Math.abs(logDet[i]! - Math.log(fd)) < LOGDER_TOL, `log g'(${x}) = ${logDet[i]} vs ${Math.log(fd)}`);
  });
});

/** Step on θ for the float64 gradient oracle: the log-derivative's ~1e-9 noise / 1e-4 stays ~1e-5. */
const THETA_FD_STEP = 1e-4;

test('gradients of g, g⁻¹ and their log-derivatives in θ match float64 finite differences', () => {
  const cfg = splineConfig({ bins: 4, bound: 2 });
  const rng = new Rng(17);
  const n = 6;
  const thetas = Array.from({ length: n }, () => randomTheta(rng, 4, 1));
  const us = thetas.map(() => 3.6 * rng.uniform() - 1.8); // inside [-B, B]
  const [r, q] = [us.map(() => rng.normal()), us.map(() => rng.normal())]; // L = Σ r g + q log g′
  for (const inverse of [false, true]) {
    const L64 = (ts: Theta[]) =>
      ts.reduce((sum, t, i) => {
        const out = inverse ? inverse64(t, us[i]!, cfg) : spline64(t, us[i]!, cfg);
        const ld = inverse ? -logDer64(t, out, cfg) : logDer64(t, us[i]!, cfg);
        return sum + r[i]! * out + q[i]! * ld;
      }, 0);
    const grads = tf.tidy(() => {
      const params = [thetas.map((t) => t.w), thetas.map((t) => t.h), thetas.map((t) => t.d)].map((a) =>
        tf.tensor2d(a),
      );
      const f = (w: tf.Tensor, h: tf.Tensor, d: tf.Tensor) => {
        const out = rqSpline(tf.tensor1d(us), { thetaW: w, thetaH: h, thetaD: d }, cfg, inverse);
        return tf.add(tf.sum(tf.mul(out.y, r)), tf.sum(tf.mul(out.logDet, q))) as tf.Scalar;
      };
      return tf
        .grads(f)(params)
        .map((g) => Array.from(g.dataSync()));
    });
    (['w', 'h', 'd'] as const).forEach((key, j) => {
      const fd = thetas.flatMap((t, i) =>
        t[key].map((_, m) => {
          const shifted = (e: number) =>
            thetas.map((u, i2) => (i2 !== i ? u : { ...u, [key]: u[key].map((v, m2) => (m2 === m ? v + e : v)) }));
          return (L64(shifted(THETA_FD_STEP)) - L64(shifted(-THETA_FD_STEP))) / (2 * THETA_FD_STEP);
        }),
      );
      assert.ok(relErr(grads[j]!, fd) < 1e-3, `inverse=${inverse} ∂L/∂θ^${key}: ${grads[j]} vs ${fd}`);
    });
  }
});

/** The largest float32 below the float32 number x (x > 0 or x < 0, not 0). */
function float32Below(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Int32Array(f.buffer);
  bits[0]! += x > 0 ? -1 : 1;
  return f[0]!;
}

test('continuous with a continuous derivative at every knot (and at ±B)', () => {
  // At a float32 knot x^(k) the spline uses bin k (ξ = 0); one float32 step below, bin k - 1 with
  // ξ = 1 - O(1e-7) (or the left tail at k = 0). Both sides must meet in value and in log g'.
  const cfg = splineConfig({ bins: 6, bound: 2 });
  const rng = new Rng(21);
  for (let trial = 0; trial < 4; trial++) {
    const theta = randomTheta(rng, 6, THETA_SCALE);
    const xk = tf.tidy(() => {
      const p = { thetaW: tf.tensor2d([theta.w]), thetaH: tf.tensor2d([theta.h]), thetaD: tf.tensor2d([theta.d]) };
      return Array.from(splineKnots(p, cfg).xk.dataSync());
    });
    const at = evalSpline(Array(7).fill(theta), xk, cfg);
    const b1 = xk.map(float32Below);
    const b2 = b1.map(float32Below);
    const below = evalSpline(Array(7).fill(theta), b1, cfg);
    const below2 = evalSpline(Array(7).fill(theta), b2, cfg);
    for (let k = 0; k <= 6; k++) {
      const step = xk[k]! - float32Below(xk[k]!); // one float32 ulp
      const jump = at.y[k]! - below.y[k]!;
      assert.ok(Math.abs(jump) < 2e-7 * 4 + 2 * step * Math.exp(at.logDet[k]!), `value jump ${jump} at knot ${k}`);
      // the left limit of log g′, extrapolated linearly from one and two float32 steps below (in
      // a steep narrow bin, log g′ moves by ~1e-4 per float32 step)
      const L1 = below.logDet[k]!;
      const left = L1 + ((L1 - below2.logDet[k]!) * (xk[k]! - b1[k]!)) / (b1[k]! - b2[k]!);
      assert.ok(Math.abs(at.logDet[k]! - left) < 1e-5, `log g' jumps at knot ${k}: ${left} -> ${at.logDet[k]}`);
    }
    assert.ok(Math.abs(at.logDet[0]!) < 1e-6 && Math.abs(at.logDet[6]!) < 1e-6, 'g′(±B) = 1, as the tails');
  }
});

/** Error in y units: 8 float32 ulps at |y| <= B = 3 (2.4e-7 each). */
const Y_ROUNDING = 2e-6;
/**
 * log|g⁻¹′(y)| against -log g′ at the x that g⁻¹ returned. Where g⁻¹ lands a few float32 steps
 * past a knot next to a narrow bin (it used the bin of y, the forward pass the bin of x), log g′
 * moves ~1e-4 per step: the largest error is bounded loosely, the typical one tightly.
 */
const INVERSE_LOGDET_MAX = 1e-3;
const INVERSE_LOGDET_MEDIAN = 1e-6;
/** Well-conditioned points: where g′ >= this, float32 rounding of y moves g⁻¹(y) by < 1e-6. */
const WELL_CONDITIONED = 0.05;

test('inverse round trip: random points, bin edges and tails (float32 error < 1e-5)', () => {
  // g⁻¹ cannot undo more than the rounding of y = g(x) to float32 (~6e-8 |y|), which it
  // amplifies by 1 / g′(x): so the x error is checked where g′ >= WELL_CONDITIONED, and the error
  // in y units, |g⁻¹(g(x)) - x| · g′(x), everywhere.
  const cfg = splineConfig({ bins: 7, bound: 3 });
  const rng = new Rng(5);
  const thetas: Theta[] = [];
  const xs: number[] = [];
  for (let s = 0; s < 20; s++) {
    const theta = randomTheta(rng, 7, THETA_SCALE);
    const edges = knots64(theta.w, cfg.minBinWidth, 3); // x^(0..K), incl. ±B
    for (const x of [...edges, -5, -3.0001, 3.0001, 4, ...Array.from({ length: 10 }, () => 6 * rng.uniform() - 3)]) {
      thetas.push(theta);
      xs.push(x);
    }
  }
  const fwd = evalSpline(thetas, xs, cfg);
  const inv = evalSpline(thetas, fwd.y, cfg, true);
  let wellConditioned = 0;
  xs.forEach((x, i) => {
    const err = Math.abs(inv.y[i]! - x);
    const slope = Math.exp(fwd.logDet[i]!);
    assert.ok(err * slope < Y_ROUNDING, `|g⁻¹(g(x)) - x| g′(x) = ${err * slope} at x = ${x}`);
    if (slope < WELL_CONDITIONED) return;
    wellConditioned++;
    assert.ok(err < ROUNDTRIP_TOL, `|g⁻¹(g(x)) - x| = ${err} at x = ${x} (g′ = ${slope})`);
  });
  // log|g⁻¹′(y)| = -log g′(g⁻¹(y)), at the point g⁻¹ returned
  const again = evalSpline(thetas, inv.y, cfg);
  const ldErr = inv.logDet.map((v, i) => Math.abs(v + again.logDet[i]!)).sort((a, b) => a - b);
  const [median, worst] = [ldErr[ldErr.length >> 1]!, ldErr[ldErr.length - 1]!];
  assert.ok(worst < INVERSE_LOGDET_MAX && median < INVERSE_LOGDET_MEDIAN, `log|g⁻¹′| + log g′: ${median}, ${worst}`);
  assert.ok(wellConditioned > 0.8 * xs.length, `only ${wellConditioned} of ${xs.length} points well conditioned`);
  // g⁻¹ at the y-knots lands on the x-knots (spline 0: the first 8 points are its x^(k))
  const yEdges = knots64(thetas[0]!.h, cfg.minBinHeight, 3);
  const back = evalSpline(thetas.slice(0, 8), yEdges, cfg, true).y;
  assert.ok(maxAbs(back, xs.slice(0, 8)) < ROUNDTRIP_TOL, `g⁻¹(y^(k)) = ${back} vs x^(k) ${xs.slice(0, 8)}`);
});

/** Noise on the flow's parameters: θ of O(1), splines clearly bent but with log|det| < ~3. */
const PERTURB = 0.1;

test('spline coupling: identity at initialisation, round trip off it', () => {
  for (const dim of [2, 3, 5]) {
    const flow = new SplineCouplingFlow({ dim, K: 4, hidden: 16, bins: 6, seed: dim });
    const x = tf.mul(2, new Rng(dim).normalTensor(200, dim)) as tf.Tensor2D; // some in the tails
    const id = flow.forward(x);
    assert.ok(tf.max(tf.abs(tf.sub(id.z, x))).dataSync()[0]! < 1e-5, `dim ${dim}: identity at init`);
    assert.ok(tf.max(tf.abs(id.logDetJ)).dataSync()[0]! < 1e-5, `dim ${dim}: zero log-det at init`);
    perturbVariables(flow.variables, PERTURB, 7);
    const fwd = flow.forward(x);
    const inv = flow.inverseWithLogDet(fwd.z);
    const errX = tf.max(tf.abs(tf.sub(inv.z, x))).dataSync()[0]!;
    const errLd = tf.max(tf.abs(tf.add(inv.logDetJ, fwd.logDetJ))).dataSync()[0]!;
    const spread = tf.max(tf.abs(fwd.logDetJ)).dataSync()[0]!;
    assert.ok(errX < 4 * ROUNDTRIP_TOL, `dim ${dim}: |f⁻¹(f(x)) - x| = ${errX}`);
    assert.ok(errLd < 1e-4, `dim ${dim}: log-det mismatch ${errLd}`);
    assert.ok(spread > 0.1, `dim ${dim}: perturbed flow should move (max |log-det| ${spread})`);
    tf.dispose([x, id.z, id.logDetJ, fwd.z, fwd.logDetJ, inv.z, inv.logDetJ]);
    flow.dispose();
  }
});

test('spline coupling: log-det matches log|det| of a finite-difference Jacobian (D = 2, 4)', () => {
  for (const dim of [2, 4]) {
    const flow = new SplineCouplingFlow({ dim, K: 4, hidden: 16, bins: 8, seed: 11 + dim });
    perturbVariables(flow.variables, PERTURB, 5);
    const f = (x: number[]) => tf.tidy(() => Array.from(flow.forward(tf.tensor2d([x])).z.dataSync()));
    const rng = new Rng(dim + 100);
    for (let trial = 0; trial < 4; trial++) {
      const x = Array.from({ length: dim }, () => 1.2 * rng.normal());
      const expected = logAbsDet(jacobianFD(f, x, FD_STEP));
      const got = tf.tidy(() => flow.forward(tf.tensor2d([x])).logDetJ.dataSync()[0]!);
      assert.ok(Math.abs(got - expected) < FD_LOGDET_TOL, `dim ${dim}: log-det ${got} vs FD ${expected}`);
    }
    flow.dispose();
  }
});

/** n draws of two interleaved half circles with noise 0.05, centred and stretched to fill [-2.3, 2.3]². */
function twoMoons(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * rng.uniform();
    const upper = rng.uniform() < 0.5;
    const x1 = (upper ? Math.cos(t) : 1 - Math.cos(t)) + 0.05 * rng.normal();
    const x2 = (upper ? Math.sin(t) : 0.5 - Math.sin(t)) + 0.05 * rng.normal();
    out[2 * i] = 1.5 * (x1 - 0.5);
    out[2 * i + 1] = 2.5 * (x2 - 0.25);
  }
  return out;
}

test('maximum likelihood on two moons: held-out log-likelihood improves past the Gaussian', async () => {
  const train = twoMoons(2000, 1);
  const held = twoMoons(1000, 2);
  const base = gaussianBaseline(train, held, 2);
  const flow = new SplineCouplingFlow({ dim: 2, K: 2, bins: 8, hidden: 16, seed: 0 });
  const before = logLikelihood(flow, held, 'mean');
  const tensors = tf.memory().numTensors;
  const h = await trainMaxLikelihood(flow, train, { steps: 200, batch: 64, lr: 1e-2, seed: 0 });
  assert.equal(tf.memory().numTensors, tensors, 'training leaks no tensors');
  assert.equal(h.path, 'reference');
  const after = logLikelihood(flow, held, 'mean');
  assert.ok(after > before + 0.5, `held-out log-likelihood ${before} -> ${after}`);
  // measured: -3.50 (identity) -> -1.89 after 200 steps, vs the Gaussian baseline's -3.22
  assert.ok(after > base.testLogLik + 0.8, `flow ${after} vs Gaussian baseline ${base.testLogLik}`);
  flow.dispose();
});

test('no tensor leaks in forward, inverse and gradients; dispose frees everything', () => {
  const before = tf.memory().numTensors;
  const flow = new SplineCouplingFlow({ dim: 3, K: 2, hidden: 8, bins: 4, seed: 1 });
  const x = new Rng(0).normalTensor(20, 3);
  assertNoLeaksBothWays(flow, x, 2);
  x.dispose();
  flow.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('bad options and shapes name the parameter', () => {
  assert.throws(() => new SplineCouplingFlow({ dim: 1 }), /dim must be an integer >= 2, got 1/);
  assert.throws(() => new SplineCouplingFlow({ K: 0 }), /K must be an integer >= 1, got 0/);
  assert.throws(() => new SplineCouplingFlow({ bins: 1 }), /bins must be an integer >= 2, got 1/);
  assert.throws(() => new SplineCouplingFlow({ bound: -1 }), /bound must be > 0, got -1/);
  assert.throws(() => new SplineCouplingFlow({ hidden: 2.5 }), /hidden must be an integer >= 1, got 2.5/);
  assert.throws(() => new SplineCouplingFlow({ bins: 8, minBinWidth: 0.2 }), /minBinWidth must be in \[0, /);
  assert.throws(() => new SplineCouplingFlow({ minBinHeight: -0.1 }), /minBinHeight must be in \[0, /);
  assert.throws(() => new SplineCouplingFlow({ minDerivative: 1 }), /minDerivative must be in \[0, /);
  const cfg = splineConfig({ bins: 4 });
  tf.tidy(() => {
    const good = { thetaW: tf.zeros([3, 4]), thetaH: tf.zeros([3, 4]) };
    assert.throws(
      () => rqSpline(tf.zeros([3]), { ...good, thetaD: tf.zeros([3, 4]) }, cfg),
      /thetaD must have shape \[3, 3\]/,
    );
    assert.throws(
      () => rqSpline(tf.zeros([2]), { ...good, thetaD: tf.zeros([3, 3]) }, cfg),
      /input must have shape \[3\]/,
    );
    assert.throws(() => splitSplineParams(tf.zeros([3, 2, 10]), 4), /raw must have 3 · bins - 1 = 11 values/);
  });
  const flow = new SplineCouplingFlow({ dim: 2 });
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => flow.inverseWithLogDet(bad), /y must have 2 columns/);
  assert.throws(() => flow.forward(bad), /z must have 2 columns/);
  bad.dispose();
  flow.dispose();
});
