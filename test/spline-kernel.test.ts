/**
 * The spline kernels against the op-by-op reference and float64 oracles:
 *
 * - src/kernels/spline.ts (the elementwise RQ spline on arrays) vs rqSpline (flows/spline.ts):
 *   values, log-dets and tf.grad gradients w.r.t. the input and θ, both directions, at random
 *   points (tails included), exactly at ±B, on the knots and next to them; vs the independent
 *   float64 oracle of test/spline-oracle.ts; its backward vs float64 central finite differences.
 * - src/kernels/spline-coupling.ts (SplineCouplingFlow fused) vs the reference path in D = 2 and
 *   4, both directions, with the WebAssembly products and the JS fallback: outputs, log-dets and
 *   gradients w.r.t. every variable and the input; no tensor leaks; the tape-free
 *   maximum-likelihood step and the reverse-KL step against the tape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import '../src/kernels';
import { Rng } from '../src/core/random';
import type { FlowOutput } from '../src/flows/flow';
import { arrayKernelOf, flowKernelOf, inverseArrayKernelOf, type FlowKernel } from '../src/flows/kernel';
import { perturbVariables } from '../src/flows/mlp';
import { rqSpline, splineConfig, splineKnots, splitSplineParams, type SplineConfig } from '../src/flows/spline';
import { SplineCouplingFlow } from '../src/flows/spline-coupling';
import { splineBackward, splineForward } from '../src/kernels/spline';
import {
  packSplineCouplingParams,
  splineCouplingBackward,
  splineCouplingRun,
  type Direction,
} from '../src/kernels/spline-coupling';
import { getTarget } from '../src/targets/energies';
import { flowLogProb, trainMaxLikelihood } from '../src/train/mle';
import { train } from '../src/train/train';
import {
  assertNoLeaksBothWays,
  assertSameLossGrads,
  assertSameSteps,
  assertSameValues,
  assertStackBackwardFD,
  assertTapeFreeStep,
  curvedRows,
  randomLossGrads,
  stepsOnBothPaths,
  withBothProducts,
} from './flows-helpers';
import { assertGradFD, relErr } from './oracle';
import { inverse64, spline64, type Theta } from './spline-oracle';

/** f⁻¹(f(x)) in float64 through 4 layers of closed-form roots. */
const ROUND_TRIP_TOL = 1e-10;
/** Kernel (float64) vs reference (float32 ops) values and log-dets. */
const VALUE_TOL = 2e-5;
/**
 * Kernel vs tfjs autodiff gradients: the reference rounds every op to float32, and narrow bins
 * (θ ~ 1.5: bins down to ~1% of 2B) amplify that in ∂ log g'/∂θ.
 */
const GRAD_TOL = 1e-4;
/** Kernel vs the float64 oracle of spline-oracle.ts (float64 both: rounding only). */
const ORACLE_TOL = 1e-12;
/**
 * Points beside a knot sit this share of the narrower neighbouring bin away: the same bin in
 * float32 and float64, and far enough that the reference's float32 ξ(1 - ξ) keeps ~4 digits
 * (at 1e-3 of a 0.2-wide bin, ∂ log g'/∂u ~ 2000 differs by 2e-4 relative: float32 rounding).
 */
const EDGE_OFFSET = 1e-2;
/**
 * The fused flow vs the reference over 4 layers: each layer's float32 rounding goes through the
 * next layers' splines, whose log-derivatives are steep near the edges of narrow bins. Measured
 * up to 1e-4 at PERTURB = 0.3 (at 0.4: 9.6e-4, where the kernel still matched float64 central
 * differences to 3e-8 with gradients up to ~1600: the reference's rounding, not the kernel's).
 */
const FLOW_GRAD_TOL = 3e-4;
/** Scale of the random θ: bins from ~1% to ~40% of the interval, slopes from ~0.05 to ~5. */
const THETA_SCALE = 1.5;

const CFG = splineConfig({ bins: 5, bound: 3 });
const K = CFG.bins;
const P = 3 * K - 1;

/** n rows of random θ: [n, 3K - 1] (float32 values, so both sides start from the same numbers). */
function randomTheta(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * P }, () => THETA_SCALE * rng.normal());
}

/** Row i of θ as the oracle's Theta. */
function thetaRow(theta: ArrayLike<number>, i: number): Theta {
  const row = Array.from({ length: P }, (_, j) => theta[i * P + j]!);
  return { w: row.slice(0, K), h: row.slice(K, 2 * K), d: row.slice(2 * K) };
}

/** The reference's knots of every row (float32): x^(0..K) or y^(0..K), [n, K + 1]. */
function referenceKnots(theta: Float32Array, n: number, which: 'xk' | 'yk'): Float32Array {
  return tf.tidy(() => {
    const kn = splineKnots(splitSplineParams(tf.tensor2d(theta, [n, P]), K), CFG);
    return kn[which].dataSync() as Float32Array;
  });
}

/**
 * Test points, one per row of θ: random in [-1.4B, 1.4B] (tails included), ±B, and for each
 * interior knot (on the axis the direction searches) a point on it and two just beside it.
 * `onKnot` marks the points exactly on a knot, where float32 and float64 may pick different bins.
 */
function testPoints(inverse: boolean, seed: number): { u: Float32Array; theta: Float32Array; onKnot: boolean[] } {
  const rng = new Rng(seed);
  const nRandom = 40;
  const nEdge = 2;
  const nKnot = 3 * (K - 1) * 4; // 4 rows of θ per knot set
  const n = nRandom + nEdge + nKnot;
  const theta = randomTheta(n, seed + 1);
  const knots = referenceKnots(theta, n, inverse ? 'yk' : 'xk');
  const u = new Float32Array(n);
  const onKnot = new Array<boolean>(n).fill(false);
  for (let i = 0; i < nRandom; i++) u[i] = 1.4 * CFG.bound * (2 * rng.uniform() - 1);
  u[nRandom] = CFG.bound;
  u[nRandom + 1] = -CFG.bound;
  let i = nRandom + nEdge;
  for (let r = 0; i < n; r++) {
    const k = 1 + (r % (K - 1));
    const row = i;
    const kn = knots[row * (K + 1) + k]!;
    const width = Math.min(kn - knots[row * (K + 1) + k - 1]!, knots[row * (K + 1) + k + 1]! - kn);
    // on the knot, and EDGE_OFFSET of the narrower neighbouring bin to either side
    for (const [off, on] of [
      [0, true],
      [-EDGE_OFFSET, false],
      [EDGE_OFFSET, false],
    ] as const) {
      if (i >= n) break;
      if (i !== row) theta.copyWithin(i * P, row * P, (row + 1) * P);
      u[i] = kn + off * width;
      onKnot[i] = on;
      i++;
    }
  }
  return { u, theta, onKnot };
}

/** L = Σ cy ⊙ y + Σ cl ⊙ logDet of the reference, its value parts and tf.grads w.r.t. u and θ. */
function referenceSpline(u: Float32Array, theta: Float32Array, cy: Float32Array, cl: Float32Array, inverse: boolean) {
  const n = u.length;
  return tf.tidy(() => {
    const L = (ut: tf.Tensor, tt: tf.Tensor): tf.Scalar => {
      const o = rqSpline(ut, splitSplineParams(tt, K), CFG, inverse);
      return tf.add(tf.sum(tf.mul(o.y, tf.tensor1d(cy))), tf.sum(tf.mul(o.logDet, tf.tensor1d(cl)))) as tf.Scalar;
    };
    const [ut, tt] = [tf.tensor1d(u), tf.tensor2d(theta, [n, P])];
    const o = rqSpline(ut, splitSplineParams(tt, K), CFG, inverse);
    const [du, dTheta] = tf.grads(L)([ut, tt]);
    return { y: o.y.dataSync(), logDet: o.logDet.dataSync(), du: du!.dataSync(), dTheta: dTheta!.dataSync() };
  });
}

/** Entries of `a` at rows where keep[i] (row width w). */
function rows(a: ArrayLike<number>, keep: boolean[], w = 1): number[] {
  return Array.from(a).filter((_, j) => keep[Math.floor(j / w)]);
}

test('array spline: values, log-dets and gradients equal the tf reference (random θ, tails, ±B, knots, bin edges)', () => {
  for (const inverse of [false, true]) {
    const { u, theta, onKnot } = testPoints(inverse, inverse ? 5 : 3);
    const n = u.length;
    const rng = new Rng(9);
    const cy = Float32Array.from({ length: n }, () => rng.normal());
    const cl = Float32Array.from({ length: n }, () => rng.normal());
    const before = tf.memory().numTensors;
    const ref = referenceSpline(u, theta, cy, cl, inverse);
    assert.equal(tf.memory().numTensors, before, 'the reference leaks no tensors');
    const { y, logDet, tape } = splineForward(u, theta, n, CFG, inverse);
    const name = inverse ? 'inverse' : 'forward';
    assert.ok(relErr(y, ref.y) < VALUE_TOL, `${name} y: ${relErr(y, ref.y)}`);
    assert.ok(relErr(logDet, ref.logDet) < VALUE_TOL, `${name} logDet: ${relErr(logDet, ref.logDet)}`);
    const outside = Array.from(u, (v) => Math.abs(v) > CFG.bound);
    assert.ok(outside.filter(Boolean).length >= 5, 'some points lie in the tails');
    assert.deepEqual(rows(y, outside), rows(u, outside), `${name}: identity in the tails`);
    assert.ok(
      rows(logDet, outside).every((v) => v === 0),
      `${name}: log-det 0 in the tails`,
    );
    // Gradients off the knots: ∂ log g'/∂x and ∂ log g'/∂θ jump at a knot (g'' does), so there
    // the bin float64 picks may differ from float32's; ∂y is continuous and checked everywhere.
    const { dx, dTheta } = splineBackward(tape, cy, cl);
    const off = onKnot.map((v) => !v);
    const eU = relErr(rows(dx, off), rows(ref.du, off));
    assert.ok(eU < GRAD_TOL, `${name} ∂L/∂u: ${eU}`);
    const eTheta = relErr(rows(dTheta, off, P), rows(ref.dTheta, off, P));
    assert.ok(eTheta < GRAD_TOL, `${name} ∂L/∂θ: ${eTheta}`);
    assert.ok(
      rows(dTheta, outside, P).every((v) => v === 0),
      `${name}: no θ-gradient in the tails`,
    );
    assert.deepEqual(rows(dx, outside), rows(cy, outside), `${name}: ∂L/∂u = ∂L/∂y in the tails`);
    // On the knots: the gradient of y alone (cl = 0), continuous across the knot.
    const zero = new Float32Array(n);
    const refY = referenceSpline(u, theta, cy, zero, inverse);
    const onlyY = splineBackward(splineForward(u, theta, n, CFG, inverse).tape, cy, zero);
    assert.ok(relErr(rows(onlyY.dx, onKnot), rows(refY.du, onKnot)) < GRAD_TOL, `${name} on knots ∂y/∂u`);
    assert.ok(relErr(rows(onlyY.dTheta, onKnot, P), rows(refY.dTheta, onKnot, P)) < GRAD_TOL, `${name} on knots ∂y/∂θ`);
  }
});

test('array spline: equals the independent float64 oracle (g by the paper, g⁻¹ by bisection)', () => {
  const n = 60;
  const theta = Float64Array.from(randomTheta(n, 21));
  const rng = new Rng(22);
  const u = Float64Array.from({ length: n }, () => 1.2 * CFG.bound * (2 * rng.uniform() - 1));
  const fwd = splineForward(u, theta, n, CFG, false);
  const inv = splineForward(u, theta, n, CFG, true);
  for (let i = 0; i < n; i++) {
    const th = thetaRow(theta, i);
    const want = spline64(th, u[i]!, CFG);
    assert.ok(Math.abs(fwd.y[i]! - want) < ORACLE_TOL * (1 + Math.abs(want)), `g(${u[i]}): ${fwd.y[i]} vs ${want}`);
    const wantInv = inverse64(th, u[i]!, CFG);
    assert.ok(Math.abs(inv.y[i]! - wantInv) < 1e-10, `g⁻¹(${u[i]}): ${inv.y[i]} vs ${wantInv}`);
    // log|g⁻¹'(y)| = -log g'(g⁻¹(y)): the inverse's log-det is minus the forward's at the point returned
    const back = splineForward([inv.y[i]!], theta.subarray(i * P, (i + 1) * P), 1, CFG, false);
    assert.ok(Math.abs(inv.logDet[i]! + back.logDet[0]!) < 1e-10, `log-det of g⁻¹ at ${u[i]}`);
  }
});

test('array spline: the backward equals float64 central finite differences (both directions)', () => {
  const n = 12;
  const theta = Float64Array.from(randomTheta(n, 31));
  const rng = new Rng(32);
  // inside [-B, B] (random) and two in the tails
  const u = Float64Array.from({ length: n }, (_, i) => (i < 2 ? [-3.7, 4.2][i]! : 2.8 * (2 * rng.uniform() - 1)));
  const cy = Float64Array.from({ length: n }, () => rng.normal());
  const cl = Float64Array.from({ length: n }, () => rng.normal());
  for (const inverse of [false, true]) {
    const L = (): number => {
      const { y, logDet } = splineForward(u, theta, n, CFG, inverse);
      let s = 0;
      for (let i = 0; i < n; i++) s += cy[i]! * y[i]! + cl[i]! * logDet[i]!;
      return s;
    };
    const { dx, dTheta } = splineBackward(splineForward(u, theta, n, CFG, inverse).tape, cy, cl);
    assertGradFD(L, `${inverse ? 'inverse' : 'forward'} u`, u, dx);
    assertGradFD(L, `${inverse ? 'inverse' : 'forward'} θ`, theta, dTheta);
  }
});

test('array spline: wrong lengths name the argument', () => {
  assert.throws(() => splineForward([0, 1], new Float64Array(P), 2, CFG), /theta must have n · \(3 · bins - 1\) = 28/);
  assert.throws(() => splineForward([0], new Float64Array(P), 2, CFG), /u must have n = 2 values, got 1/);
});

// ---- the fused SplineCouplingFlow ----

/**
 * Std of the noise added to every variable: the splines' θ reach ~±4 (bins from ~2% to ~50% of
 * the interval, knot slopes ~0.05 to ~20), far from the identity start.
 */
const PERTURB = 0.3;

/** A K=4 spline coupling flow moved off its identity initialisation. */
function randomNSF(D: number, H: number, seed: number, cfg: Partial<SplineConfig> = {}): SplineCouplingFlow {
  const f = new SplineCouplingFlow({ dim: D, K: 4, hidden: H, bins: 6, seed, ...cfg });
  perturbVariables(f.variables, PERTURB, seed + 1);
  return f;
}

function kernelOf(f: SplineCouplingFlow): FlowKernel {
  const k = flowKernelOf(f);
  assert.ok(k?.inverseOp && k.inverseArrays && k.arrays, 'SplineCouplingFlow has a kernel with an inverse');
  return k;
}

test('spline coupling kernel: outputs, log-dets and all gradients equal the reference (D = 2, 4; both directions; WebAssembly and JS products)', () => {
  withBothProducts((products) => {
    for (const D of [2, 4]) {
      const f = randomNSF(D, 16, 10 * D + (products === 'wasm' ? 1 : 0));
      const k = kernelOf(f);
      // 2 N(0, 1): ~13% of the coordinates outside [-3, 3]
      const x = tf.mul(2, new Rng(D).normalTensor(29, D)) as tf.Tensor2D;
      const before = tf.memory().numTensors;
      const pairs: [string, (x: tf.Tensor2D) => FlowOutput, (x: tf.Tensor2D) => FlowOutput][] = [
        ['forward', (xx) => f.forward(xx), (xx) => k.op!(f, xx)],
        ['inverse', (xx) => f.inverseWithLogDet(xx), (xx) => k.inverseOp!(f, xx)],
      ];
      for (const [name, ref, fused] of pairs) {
        const label = `${name} D=${D} ${products}`;
        const a = randomLossGrads(f, x, ref, 5);
        const b = randomLossGrads(f, x, fused, 5);
        assertSameValues(a, b, x.dataSync(), VALUE_TOL, label);
        assertSameLossGrads(f, a, b, { value: VALUE_TOL, grad: FLOW_GRAD_TOL }, label);
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      // round trip in float64: f⁻¹(f(x)) = x, log|det J_{f⁻¹}(f(x))| = -log|det J_f(x)|
      const p = packSplineCouplingParams(
        D,
        f.K,
        f.hidden,
        f.spline,
        f.variables.map((v) => v.dataSync()),
      );
      const fwd = splineCouplingRun(p, x.dataSync(), 29, 1);
      const back = splineCouplingRun(p, fwd.x, 29, -1);
      assert.ok(relErr(back.x, x.dataSync()) < ROUND_TRIP_TOL, `round trip D=${D}: ${relErr(back.x, x.dataSync())}`);
      const sum = fwd.logDet.map((v, n) => v + back.logDet[n]!);
      assert.ok(relErr(sum, new Float64Array(29)) < ROUND_TRIP_TOL, `round-trip log-dets D=${D}`);
      x.dispose();
      f.dispose();
    }
  });
});

test('spline coupling kernel: the backward equals float64 central finite differences (both directions)', () => {
  const D = 2;
  const H = 4;
  const f = randomNSF(D, H, 41, { bins: 4 });
  const vars = f.variables.map((v) => Float64Array.from(v.dataSync()));
  const run = (x: ArrayLike<number>, N: number, dir: Direction) =>
    splineCouplingRun(packSplineCouplingParams(D, f.K, H, f.spline, vars), x, N, dir);
  const N = 4;
  const rng = new Rng(43);
  const x = Float64Array.from({ length: N * D }, () => 1.5 * rng.normal());
  const dy = Float64Array.from({ length: N * (D + 1) }, () => rng.normal());
  const names = f.variables.map((v) => v.name);
  for (const dir of [1, -1] as const) {
    const runDir = (xx: ArrayLike<number>, n: number) => run(xx, n, dir);
    assertStackBackwardFD(runDir, splineCouplingBackward, x, dy, vars, names, `dir ${dir}`);
  }
  f.dispose();
});

test('spline coupling kernel: no tensor leaks through the fused ops and their gradients', () => {
  const f = randomNSF(2, 8, 51);
  const k = kernelOf(f);
  const x = tf.mul(2, new Rng(52).normalTensor(17, 2)) as tf.Tensor2D;
  assertNoLeaksBothWays(f, x, 2, [(v) => k.inverseOp!(f, v).logDetJ, (v) => k.op!(f, v).logDetJ]);
  x.dispose();
  f.dispose();
});

test("spline coupling kernel: the tape-free maximum-likelihood step gives the tape's loss and gradients", async () => {
  for (const D of [2, 4]) {
    const data = curvedRows(60, D, 61);
    const runs = await stepsOnBothPaths(
      () => randomNSF(D, 8, 63 + D),
      (f, path, onGradients) =>
        trainMaxLikelihood(f, data, { steps: 3, batch: 24, lr: 1e-2, seed: 3, path, onGradients }),
    );
    const flows = [runs.fused.flow, runs.reference.flow];
    assert.ok(inverseArrayKernelOf(flows[0]!), 'the fused path had an inverse kernel');
    assertSameSteps(runs.fused.steps, runs.reference.steps, 3, { loss: VALUE_TOL, grad: FLOW_GRAD_TOL }, `D=${D}`);
    const x = tf.tensor2d(data, [60, D]);
    const before = tf.memory().numTensors;
    const lp = tf.tidy(() =>
      relErr(flowLogProb(flows[0]!, x, 'fused').dataSync(), flowLogProb(flows[0]!, x, 'reference').dataSync()),
    );
    assert.ok(lp < VALUE_TOL, `flowLogProb fused vs reference: ${lp}`);
    assert.equal(tf.memory().numTensors, before, 'flowLogProb leaks no tensors');
    x.dispose();
    flows.forEach((f) => f.dispose());
  }
});

test("spline coupling kernel: reverse-KL steps tape-free with the tape path's loss and gradients", async () => {
  const target = getTarget('U1');
  const f = randomNSF(2, 8, 71);
  const z0 = new Rng(72).normalTensor(33, 2);
  assertTapeFreeStep(f, target, z0, 0.7, 'NSF U1');
  z0.dispose();
  f.dispose();
  const runs = await stepsOnBothPaths(
    () => randomNSF(2, 8, 73),
    (g, path, onGradients) => train(g, target, { steps: 3, batch: 33, lr: 1e-2, seed: 2, path, onGradients }),
  );
  assert.ok(arrayKernelOf(runs.fused.flow), 'the fused path had the plain-array forward kernel');
  assertSameSteps(runs.fused.steps, runs.reference.steps, 3, { loss: 1e-4, grad: 5e-4 }, 'NSF U1');
  runs.fused.flow.dispose();
  runs.reference.flow.dispose();
});
