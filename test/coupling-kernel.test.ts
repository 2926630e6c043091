/**
 * The coupling flow's kernel (src/kernels/coupling.ts) against the op-by-op reference
 * (flows/coupling.ts) and float64 oracles: forward, inverse and log-dets; the round trip;
 * gradients of a random scalar loss (tfjs autodiff of the reference, central finite
 * differences); log|det| of a finite-difference Jacobian; the tape-free maximum-likelihood step
 * against the tape; no tensor leaks. D = 2 and 5, H = 8 and 32. Its parts: the dense products
 * (WebAssembly and JS paths) against naive triple loops; the tanh table against Math.tanh over
 * the whole line, its slope against 1 - tanh² and its own finite differences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import '../src/kernels';
import { CouplingFlow } from '../src/flows/coupling';
import type { FlowOutput } from '../src/flows/flow';
import { arrayKernelOf, flowKernelOf, inverseArrayKernelOf, type FlowKernel } from '../src/flows/kernel';
import { couplingBackward, couplingRun, packCouplingParams, type Direction } from '../src/kernels/coupling';
import * as dense from '../src/kernels/dense';
import { A_MAX, TABLE_STEPS, tanhTab, tanhTabSlope } from '../src/kernels/tanh';
import { flowLogProb, logLikelihood, trainMaxLikelihood } from '../src/train/mle';
import { Rng } from '../src/core/random';
import { getTarget } from '../src/targets/energies';
import { train } from '../src/train/train';
import { jacobianFD, logAbsDet, relErr } from './oracle';
import {
  assertSameLossGrads,
  assertSameSteps,
  assertStackBackwardFD,
  curvedRows,
  randomLossGrads,
  stepsOnBothPaths,
  tensorErr,
  withBothProducts,
} from './flows-helpers';

/** Kernel vs reference values: float64 loops against float32 tf ops over 4 layers. */
const VALUE_TOL = 1e-5;
/** Kernel vs tfjs autodiff gradients (both end in float32; the reference rounds every op). */
const GRAD_TOL = 2e-5;
/** log-det of the kernel's inverse vs log|det| of a float64 central-difference Jacobian (h = 1e-5). */
const FD_LOGDET_TOL = 1e-7;

/** Entries of each variable at each end checked by finite differences when H = 32. */
const FD_SLICE = 40;

const SHAPES = [
  { D: 2, H: 8 },
  { D: 2, H: 32 },
  { D: 5, H: 8 },
  { D: 5, H: 32 },
];

/** A K=4 coupling flow moved off its identity initialisation. */
function randomCoupling(D: number, H: number, seed: number): CouplingFlow {
  const f = new CouplingFlow({ dim: D, K: 4, hidden: H, seed });
  f.perturb(0.3, seed + 1);
  return f;
}

function kernelOf(f: CouplingFlow): FlowKernel {
  const k = flowKernelOf(f);
  assert.ok(k?.inverseOp && k.inverseArrays, 'CouplingFlow has a kernel with an inverse');
  return k;
}

test('coupling kernel: forward, inverse and log-dets equal the reference; the inverse round-trips', () => {
  for (const { D, H } of SHAPES) {
    const f = randomCoupling(D, H, D + H);
    const k = kernelOf(f);
    const x = new Rng(7).normalTensor(37, D); // 37: not a multiple of the 4-row tiles
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const ref = f.forward(x);
      const fused = k.op!(f, x);
      assert.ok(tensorErr(fused.z, ref.z) < VALUE_TOL, `forward z, D=${D} H=${H}`);
      assert.ok(tensorErr(fused.logDetJ, ref.logDetJ) < VALUE_TOL, `forward logdet, D=${D} H=${H}`);
      const refInv = f.inverseWithLogDet(x);
      const inv = k.inverseOp!(f, x);
      assert.ok(tensorErr(inv.z, refInv.z) < VALUE_TOL, `inverse z, D=${D} H=${H}`);
      assert.ok(tensorErr(inv.logDetJ, refInv.logDetJ) < VALUE_TOL, `inverse logdet, D=${D} H=${H}`);
      // log|det J_{f⁻¹}(f(x))| = -log|det J_f(x)|, and f⁻¹(f(x)) = x
      const back = k.inverseOp!(f, fused.z);
      assert.ok(tensorErr(back.z, x) < VALUE_TOL, `round trip, D=${D} H=${H}`);
      assert.ok(tensorErr(tf.add(back.logDetJ, fused.logDetJ), tf.zeros([37])) < VALUE_TOL);
      // the reference moved the masked coordinates: not the identity
      assert.ok(tensorErr(inv.z, x) > 1e-2, 'the perturbed flow is not the identity');
    });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    f.dispose();
  }
});

test('coupling kernel: gradients of a random loss equal tfjs autodiff of the reference (both directions)', () => {
  for (const { D, H } of SHAPES) {
    const f = randomCoupling(D, H, 3 * D + H);
    const k = kernelOf(f);
    const x = new Rng(11).normalTensor(13, D);
    const before = tf.memory().numTensors;
    const pairs: [string, (x: tf.Tensor2D) => FlowOutput, (x: tf.Tensor2D) => FlowOutput][] = [
      ['forward', (xx) => f.forward(xx), (xx) => k.op!(f, xx)],
      ['inverse', (xx) => f.inverseWithLogDet(xx), (xx) => k.inverseOp!(f, xx)],
    ];
    for (const [name, ref, fused] of pairs) {
      const a = randomLossGrads(f, x, ref, 5);
      const b = randomLossGrads(f, x, fused, 5);
      assertSameLossGrads(f, a, b, { value: VALUE_TOL, grad: GRAD_TOL }, `${name} D=${D} H=${H}`);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    f.dispose();
  }
});

/** The flow's variables as float64 copies, and a float64 run of the kernel on them. */
function float64Kernel(f: CouplingFlow) {
  const vars = f.variables.map((v) => Float64Array.from(v.dataSync()));
  const run = (x: ArrayLike<number>, N: number, dir: Direction) =>
    couplingRun(packCouplingParams(f.dim, f.K, f.hidden, f.scaleFactor, vars), x, N, dir);
  return { vars, run };
}

test('coupling kernel: the backward equals float64 central finite differences (both directions)', () => {
  for (const { D, H } of SHAPES) {
    const f = randomCoupling(D, H, 5 * D + H);
    const { vars, run } = float64Kernel(f);
    const N = 5;
    const rng = new Rng(13);
    const x = Float64Array.from({ length: N * D }, () => rng.normal());
    const dy = Float64Array.from({ length: N * (D + 1) }, () => rng.normal()); // [∂L/∂out | ∂L/∂logdet]
    const names = f.variables.map((v) => `D=${D} H=${H} ${v.name}`);
    // Every entry for H = 8; for H = 32 the first and last FD_SLICE (a variable's first and
    // last rows), to keep the test short: subarrays share memory, so L sees the perturbation.
    const entries = (v: Float64Array): [number, number][] =>
      H > 8
        ? [
            [0, FD_SLICE],
            [Math.max(0, v.length - FD_SLICE), v.length],
          ]
        : [[0, v.length]];
    for (const dir of [1, -1] as const) {
      const runDir = (xx: ArrayLike<number>, n: number) => run(xx, n, dir);
      assertStackBackwardFD(runDir, couplingBackward, x, dy, vars, names, `dir ${dir}`, entries);
    }
    f.dispose();
  }
});

test('coupling kernel: the log-det of the inverse is log|det| of a finite-difference Jacobian', () => {
  for (const { D, H } of SHAPES) {
    const f = randomCoupling(D, H, 7 * D + H);
    const { run } = float64Kernel(f);
    const rng = new Rng(17);
    for (let i = 0; i < 3; i++) {
      const y = Array.from({ length: D }, () => 1.5 * rng.normal());
      const J = jacobianFD((p) => Array.from(run(p, 1, -1).x), y, 1e-5);
      const logDet = run(y, 1, -1).logDet[0]!;
      const want = logAbsDet(J);
      assert.ok(Math.abs(logDet - want) < FD_LOGDET_TOL, `D=${D} H=${H}: ${logDet} vs FD ${want}`);
    }
    f.dispose();
  }
});

test("coupling kernel: the tape-free maximum-likelihood step gives the tape's loss and gradients", async () => {
  for (const { D, H } of SHAPES) {
    const data = curvedRows(60, D, 19);
    const runs = await stepsOnBothPaths(
      () => randomCoupling(D, H, 9 * D + H),
      (f, path, onGradients) =>
        trainMaxLikelihood(f, data, { steps: 4, batch: 24, lr: 1e-2, seed: 3, path, onGradients }),
    );
    const flows = [runs.fused.flow, runs.reference.flow];
    assert.ok(inverseArrayKernelOf(flows[0]!), 'the fused path had an inverse kernel');
    assertSameSteps(runs.fused.steps, runs.reference.steps, 4, { loss: VALUE_TOL, grad: GRAD_TOL }, `D=${D} H=${H}`);
    // The two runs end at the same parameters, hence the same log-likelihood (fused and reference).
    flows[0]!.variables.forEach((v, i) => assert.ok(tensorErr(v, flows[1]!.variables[i]!) < VALUE_TOL));
    const x = tf.tensor2d(data, [60, D]);
    const before = tf.memory().numTensors;
    const lp = tf.tidy(() => tensorErr(flowLogProb(flows[0]!, x, 'fused'), flowLogProb(flows[0]!, x, 'reference')));
    assert.ok(lp < VALUE_TOL, `flowLogProb fused vs reference: ${lp}`);
    assert.ok(Number.isFinite(logLikelihood(flows[0]!, data, 'mean')));
    assert.equal(tf.memory().numTensors, before, 'flowLogProb and logLikelihood leak no tensors');
    x.dispose();
    flows.forEach((f) => f.dispose());
  }
});

test('coupling kernel: a wrong batch shape names the parameter; the fused op checks y', () => {
  const f = randomCoupling(2, 8, 1);
  const k = kernelOf(f);
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => k.inverseOp!(f, bad), /y must have 2 columns/);
  assert.throws(() => k.op!(f, bad), /z must have 2 columns/);
  bad.dispose();
  f.dispose();
});

test('dense loops equal naive triple loops: WebAssembly (zero-padded 4 × 4 tiles) and the JS fallback (4 × 2 tiles)', () => {
  withBothProducts(denseCases); // the WebAssembly path first, then the JS fallback
});

function denseCases(path: string): void {
  const rng = new Rng(23);
  const rand = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
  for (const [N, I, J] of [
    [1, 1, 1],
    [4, 2, 2],
    [7, 5, 3],
    [9, 6, 11],
    [37, 32, 8],
    [8, 3, 4], // matMulBias in WebAssembly, the other two in JS
    [12, 8, 4],
    [16, 1, 32],
    [20, 4, 12],
    [128, 32, 32], // the coupling layer's H × H products
  ] as const) {
    const X = rand(N * I);
    const W = rand(I * J);
    const b = rand(J);
    const G = rand(N * J);
    const out = new Float64Array(N * J);
    dense.matMulBias(X, W, b, out, N, I, J);
    const want = new Float64Array(N * J); // X W + b
    for (let n = 0; n < N; n++)
      for (let j = 0; j < J; j++) {
        want[n * J + j] = b[j]!;
        for (let i = 0; i < I; i++) want[n * J + j] += X[n * I + i]! * W[i * J + j]!;
      }
    assert.ok(relErr(out, want) < 1e-14, `${path} matMulBias ${N}×${I}×${J}`);
    const gx = new Float64Array(N * I);
    dense.matMulTransB(G, W, gx, N, J, I);
    const wantGx = new Float64Array(N * I); // G Wᵀ
    for (let n = 0; n < N; n++)
      for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) wantGx[n * I + i] += G[n * J + j]! * W[i * J + j]!;
    assert.ok(relErr(gx, wantGx) < 1e-14, `${path} matMulTransB ${N}×${I}×${J}`);
    const dW = rand(I * J); // accumulates onto what is there
    const wantDW = Float64Array.from(dW); // dW + Xᵀ G
    for (let i = 0; i < I; i++)
      for (let j = 0; j < J; j++) for (let n = 0; n < N; n++) wantDW[i * J + j] += X[n * I + i]! * G[n * J + j]!;
    dense.addMatTMul(X, G, dW, N, I, J);
    assert.ok(relErr(dW, wantDW) < 1e-14, `${path} addMatTMul ${N}×${I}×${J}`);
    const db = rand(J);
    const wantDb = Float64Array.from(db);
    for (let n = 0; n < N; n++) for (let j = 0; j < J; j++) wantDb[j] += G[n * J + j]!;
    dense.addColSums(G, db, N, J);
    assert.ok(relErr(db, wantDb) < 1e-14, `${path} addColSums ${N}×${J}`);
  }
}

test("coupling kernel: reverse-KL training (train) steps tape-free with the tape path's loss and gradients", async () => {
  const runs = await stepsOnBothPaths(
    () => randomCoupling(2, 8, 29),
    (f, path, onGradients) => train(f, getTarget('U1'), { steps: 3, batch: 33, lr: 1e-2, seed: 2, path, onGradients }),
  );
  assert.ok(arrayKernelOf(runs.fused.flow), 'the fused path had the plain-array forward kernel');
  assertSameSteps(runs.fused.steps, runs.reference.steps, 3, { loss: 1e-4, grad: 1e-4 }, 'coupling U1');
  runs.fused.flow.dispose();
  runs.reference.flow.dispose();
});

/** tanhTab vs Math.tanh over the whole line (the table covers |a| < A_MAX, ±1 beyond). */
const TANH_TOL = 1e-10;
/** The quintic's own slope vs 1 - tanhTab², what the backward uses for h'. */
const TANH_SLOPE_TOL = 1e-8;

test('tanh table: within 1e-10 of Math.tanh everywhere, odd, slope consistent with 1 - t²', () => {
  const rng = new Rng(7);
  const points = [0, -0, A_MAX, -A_MAX, 1e-300, -1e-300, 1e6, -1e6, Infinity, -Infinity];
  for (let a = -A_MAX - 2; a <= A_MAX + 2; a += 1 / (TABLE_STEPS * 7)) points.push(a); // knots and between
  for (let i = 0; i < 20000; i++) points.push((2 * rng.uniform() - 1) * (A_MAX + 1));
  let worst = 0;
  let worstSlope = 0;
  for (const a of points) {
    const t = tanhTab(a);
    worst = Math.max(worst, Math.abs(t - Math.tanh(a)));
    assert.ok(tanhTab(-a) === -t, `tanhTab is odd at ${a}`); // === : 0 and -0 both pass
    if (Number.isFinite(a)) worstSlope = Math.max(worstSlope, Math.abs(tanhTabSlope(a) - (1 - t * t)));
  }
  assert.ok(worst < TANH_TOL, `max |tanhTab - tanh| = ${worst}`);
  assert.ok(worstSlope < TANH_SLOPE_TOL, `max |tanhTab' - (1 - tanhTab²)| = ${worstSlope}`);
  assert.ok(Number.isNaN(tanhTab(NaN)), 'NaN stays NaN');
  // The slope is the derivative of the values: a central difference of the table itself.
  for (const a of [-3.3, -0.51, 0.02, 0.7, 2.2, 9.1]) {
    const h = 1e-6;
    const fd = (tanhTab(a + h) - tanhTab(a - h)) / (2 * h);
    assert.ok(Math.abs(fd - tanhTabSlope(a)) < 1e-8, `slope at ${a}: ${tanhTabSlope(a)} vs FD ${fd}`);
  }
});
