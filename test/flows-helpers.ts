/** Helpers shared by the flow tests: random (non-identity) parameters and float64 read-outs. */
import assert from 'node:assert/strict';
import { tf } from '../src/core/backend';
import { type Flow, type FlowOutput, type FlowPath } from '../src/flows/flow';
import type { InvertibleFlow } from '../src/flows/coupling';
import {
  flowLogProb,
  logLikelihood,
  trainMaxLikelihood,
  type MaxLikelihoodHistory,
  type MaxLikelihoodOptions,
} from '../src/train/mle';
import { arrayKernelOf, flowKernelOf, inverseArrayKernelOf } from '../src/flows/kernel';
import { targetKernelOf } from '../src/targets/kernel';
import type { Target } from '../src/targets/target';
import { fusedTrainingStep, releaseScratch } from '../src/kernels/ops';
import * as dense from '../src/kernels/dense';
import { freeEnergyTerms } from '../src/train/loss';
import { assertGradFD, jacobianFD, logAbsDet, packedLoss, relErr } from './oracle';
import { forwardOn, hasFusedOp } from '../src/flows/compose';
import { Rng } from '../src/core/random';
import type { PlanarFlow } from '../src/flows/planar';
import type { SylvesterFlow } from '../src/flows/sylvester';

/** Overwrite every variable of a flow with N(0, scale²) draws (seeded). */
export function randomizeFlow(flow: { variables: tf.Variable[] }, seed: number, scale = 1): void {
  const rng = new Rng(seed);
  for (const v of flow.variables) {
    const vals = new Float32Array(v.size).map(() => scale * rng.normal());
    const draw = tf.tensor(vals, v.shape);
    v.assign(draw); // assign copies the values: the draw itself must be freed
    draw.dispose();
  }
}

export function planarParams(f: PlanarFlow): { uHat: number[][]; w: number[][]; b: number[] } {
  const uh = f.uHat();
  const out = { uHat: uh.arraySync(), w: f.w.arraySync(), b: f.b.arraySync() };
  uh.dispose();
  return out;
}

export function sylvesterParams(f: SylvesterFlow): {
  Q: number[][][];
  R: number[][][];
  RT: number[][][];
  b: number[][];
} {
  const Q = f.Q();
  const { R, RTilde } = f.R();
  const out = { Q: Q.arraySync(), R: R.arraySync(), RT: RTilde.arraySync(), b: f.b.arraySync() };
  tf.dispose([Q, R, RTilde]);
  return out;
}

/** The flow's registered fused op (asserted to exist, so a test never falls back in silence). */
export function fusedForward(f: Flow, z: tf.Tensor2D): FlowOutput {
  assert.ok(hasFusedOp(f), `${f.name} has a fused op`);
  return forwardOn(f, z, 'fused');
}

/**
 * Forward, inverse (with and without log-det) and the gradients of `losses` through an
 * invertible flow, `rounds` times on x: no tensor may be left behind, and every gradient is finite.
 */
export function assertNoLeaksBothWays(
  flow: InvertibleFlow,
  x: tf.Tensor2D,
  rounds: number,
  losses: ((x: tf.Tensor2D) => tf.Tensor1D)[] = [(v) => flow.inverseWithLogDet(v).logDetJ],
): void {
  const mid = tf.memory().numTensors;
  for (let i = 0; i < rounds; i++) {
    const f = flow.forward(x);
    const inv = flow.inverseWithLogDet(f.z);
    const z = flow.inverse(f.z);
    tf.dispose([f.z, f.logDetJ, inv.z, inv.logDetJ, z]);
    for (const loss of losses) {
      const { value, grads } = tf.variableGrads(() => tf.mean(loss(x)) as tf.Scalar, flow.variables);
      assert.ok(Object.values(grads).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0] === 1)));
      value.dispose();
      tf.dispose(Object.values(grads));
    }
  }
  assert.equal(tf.memory().numTensors, mid, `${flow.name}: tensors leaked`);
}

/** trainMaxLikelihood on `trainRows`, with held-out mean log-likelihood before and after; no tensor leaks. */
export async function fitHeldOut(
  flow: InvertibleFlow,
  trainRows: Float32Array,
  testRows: Float32Array,
  options: MaxLikelihoodOptions,
): Promise<{ before: number; after: number; history: MaxLikelihoodHistory }> {
  const before = logLikelihood(flow, testRows, 'mean');
  const tensors = tf.memory().numTensors;
  const history = await trainMaxLikelihood(flow, trainRows, options);
  assert.equal(tf.memory().numTensors, tensors, 'training leaks no tensors');
  assert.equal(history.stepsDone, options.steps);
  return { before, after: logLikelihood(flow, testRows, 'mean'), history };
}

/**
 * n draws of a skewed, curved 2-D density ("banana"): x1 ~ N(0, 1), x2 = 0.5 x1² - 1 + 0.3 ε.
 * A single Gaussian cannot bend, so a flow has a lot to gain over the baseline.
 */
export function banana(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    out[2 * i] = a;
    out[2 * i + 1] = 0.5 * a * a - 1 + 0.3 * rng.normal();
  }
  return out;
}

/**
 * The tape-free training step (kernels/ops.ts) against the tape: same loss and gradients for
 * F = mean log q − β mean log p̃ on the batch z0, on the reference path.
 */
export function assertTapeFreeStep(f: Flow, target: Target, z0: tf.Tensor2D, beta: number, label: string): void {
  const [N, D] = z0.shape;
  const direct = fusedTrainingStep(
    arrayKernelOf(f)!,
    targetKernelOf(target)!,
    z0.dataSync() as Float32Array,
    N,
    D,
    beta,
  );
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const { logQ, logP } = freeEnergyTerms(f, target, z0, 'reference');
        return tf.sub(tf.mean(logQ), tf.mul(beta, tf.mean(logP))) as tf.Scalar;
      }),
    f.variables,
  );
  assert.ok(Math.abs(direct.loss - value.dataSync()[0]!) < 1e-4 * (1 + Math.abs(direct.loss)), `${label}: loss`);
  f.variables.forEach((v, i) => {
    const e = relErr(direct.grads[i]!, grads[v.name]!.dataSync());
    assert.ok(e < 5e-4, `${label}: grad ${i} ${e}`);
  });
  tf.dispose([value, ...Object.values(grads)]);
}

/** A D = 2 flow given a [3, 3] batch: forward and inverse name the wrong shape; perturb checks std. */
export function assertShapeErrors(flow: InvertibleFlow & { perturb(std: number): void }): void {
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => flow.inverseWithLogDet(bad), /y must have 2 columns/);
  assert.throws(() => flow.forward(bad), /z must have 2 columns/);
  assert.throws(() => flow.perturb(-1), /std must be > 0, got -1/);
  bad.dispose();
}

// ---- Fused kernels against the reference (test/*-kernel.test.ts) ----

/** A map of a flow in one direction: x: [N, D] -> z: [N, D], log|det|: [N]. */
export type FlowMap = (x: tf.Tensor2D) => FlowOutput;

/** max |a - b| / (1 + max |b|) of two tensors' values. */
export function tensorErr(a: tf.Tensor, b: tf.Tensor): number {
  return relErr(a.dataSync(), b.dataSync());
}

/** Run `body` with dense.ts's WebAssembly products, then with the JS fallback. */
export function withBothProducts(body: (products: 'wasm' | 'js') => void): void {
  assert.ok(dense.WASM_PRODUCT, 'Node has WebAssembly SIMD');
  for (const wasm of [true, false]) {
    dense.useWasmProducts(wasm);
    try {
      body(wasm ? 'wasm' : 'js');
    } finally {
      dense.useWasmProducts(true);
    }
  }
}

/**
 * The one direction of a flow with a one-pass kernel: `dir` 1, a fused forward only (IAF);
 * -1, a fused inverse only (MAF). Returns [reference map, fused map], the kernel asserted so.
 */
export function onePassMaps(f: InvertibleFlow, dir: 1 | -1, label: string): [FlowMap, FlowMap] {
  const k = flowKernelOf(f);
  if (dir === -1) {
    assert.ok(k?.inverseOp && k.inverseArrays && !k.op && !k.arrays, `${label}: a fused inverse only`);
    return [(x) => f.inverseWithLogDet(x), (x) => k.inverseOp!(f, x)];
  }
  assert.ok(k?.op && k.arrays && !k.inverseOp && !k.inverseArrays, `${label}: a fused forward only`);
  return [(x) => f.forward(x), (x) => k.op!(f, x)];
}

/** A map's outputs as arrays: z: [N, D], logDet: [N]. */
export interface MapValues {
  z: ArrayLike<number>;
  logDet: ArrayLike<number>;
}

/** The outputs of `map` on x, read out (call inside tf.tidy). */
export function valuesOf(map: FlowMap, x: tf.Tensor2D): MapValues {
  const o = map(x);
  return { z: o.z.dataSync(), logDet: o.logDetJ.dataSync() };
}

/**
 * Fused outputs equal the reference's (z and log-det within `tol`, relErr), and the check can
 * fail: the flow moved x (not the identity) and its log-det is not zero.
 */
export function assertSameValues(
  ref: MapValues,
  fused: MapValues,
  x: ArrayLike<number>,
  tol: number,
  label: string,
): void {
  assert.ok(relErr(fused.z, ref.z) < tol, `${label}: z ${relErr(fused.z, ref.z)}`);
  assert.ok(relErr(fused.logDet, ref.logDet) < tol, `${label}: logdet ${relErr(fused.logDet, ref.logDet)}`);
  assert.ok(relErr(fused.z, x) > 1e-2, `${label}: the perturbed flow is not the identity`);
  assert.ok(relErr(fused.logDet, new Float32Array(fused.logDet.length)) > 1e-2, `${label}: nonzero log-det`);
}

/** A random scalar loss through a map: its value and gradients w.r.t. x and every variable. */
export interface LossGrads extends MapValues {
  value: number;
  dx: ArrayLike<number>;
  grads: ArrayLike<number>[];
}

/**
 * L = Σ cz ⊙ out.z + Σ cl ⊙ out.logDetJ with fixed random cotangents (seeded) through `map`;
 * its value, tfjs autodiff gradients w.r.t. x and each of f's variables, and the map's outputs.
 */
export function randomLossGrads(f: Flow, x: tf.Tensor2D, map: FlowMap, seed: number): LossGrads {
  let out: LossGrads | undefined;
  tf.tidy(() => {
    const rng = new Rng(seed);
    const cz = rng.normalTensor(x.shape[0], f.dim);
    const cl = rng.normalTensor(1, x.shape[0]).reshape([x.shape[0]]);
    const L = (xx: tf.Tensor2D): tf.Scalar => {
      const o = map(xx);
      return tf.add(tf.sum(tf.mul(cz, o.z)), tf.sum(tf.mul(cl, o.logDetJ))) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(() => L(x), f.variables);
    const dx = tf.grad((xx: tf.Tensor) => L(xx as tf.Tensor2D))(x);
    out = {
      ...valuesOf(map, x),
      value: value.dataSync()[0]!,
      dx: dx.dataSync(),
      grads: f.variables.map((v) => grads[v.name]!.dataSync()),
    };
  });
  return out!;
}

/**
 * The fused map's randomLossGrads equal the reference's: the loss within valueTol (relative to
 * 1 + |L|), ∂L/∂x and each ∂L/∂v within gradTol (relErr). With `masked`, every exact zero of the
 * reference's gradients (a MADE's masked weights) is an exact zero of the fused ones.
 */
export function assertSameLossGrads(
  f: Flow,
  ref: LossGrads,
  fused: LossGrads,
  tol: { value: number; grad: number; masked?: boolean },
  label: string,
): void {
  assert.ok(Math.abs(ref.value - fused.value) < tol.value * (1 + Math.abs(ref.value)), `${label}: loss`);
  assert.ok(relErr(fused.dx, ref.dx) < tol.grad, `${label}: ∂L/∂x ${relErr(fused.dx, ref.dx)}`);
  ref.grads.forEach((g, i) => {
    const e = relErr(fused.grads[i]!, g);
    assert.ok(e < tol.grad, `${label}: ∂L/∂${f.variables[i]!.name} ${e}`);
    if (tol.masked) {
      for (let j = 0; j < g.length; j++)
        if (g[j] === 0) assert.ok(fused.grads[i]![j] === 0, `${label}: masked entry ${j}`);
    }
  });
}

/** One pass of a fused stack on float64 arrays, with the tape its backward takes. */
export type StackRun<T extends { buffer: Float64Array }> = (
  x: ArrayLike<number>,
  N: number,
) => { x: Float64Array; logDet: Float64Array; tape: T };

/**
 * A stack's float64 backward against central finite differences of L = Σ dy ⊙ [run(x) | logdet]
 * (packedLoss) w.r.t. x and every variable `vars` (float64 copies that `run` reads). `entries`
 * picks the [from, to) ranges of a variable checked (all of it by default).
 */
export function assertStackBackwardFD<T extends { buffer: Float64Array }>(
  run: StackRun<T>,
  backward: (tape: T, dy: Float64Array) => { dx: ArrayLike<number>; grads: Float32Array[] },
  x: Float64Array,
  dy: Float64Array,
  vars: Float64Array[],
  names: string[],
  label: string,
  entries: (v: Float64Array) => [number, number][] = (v) => [[0, v.length]],
): void {
  const N = dy.length - x.length; // dy: [N, D + 1], x: [N, D]
  const D = x.length / N;
  const L = (): number => {
    const r = run(x, N);
    releaseScratch(r.tape.buffer); // no backward of this run: its buffer can be reused
    return packedLoss(dy, r.x, r.logDet, N, D);
  };
  const { dx, grads } = backward(run(x, N).tape, dy);
  assertGradFD(L, `${label} x`, x, dx);
  vars.forEach((v, i) => {
    for (const [a, b] of entries(v))
      assertGradFD(L, `${label} ${names[i]}`, v.subarray(a, b), grads[i]!.subarray(a, b));
  });
}

/** n rows of a curved D-dimensional data set: N(0, I) with x_1 = 0.5 x_0² + 0.3 ε (seeded). */
export function curvedRows(n: number, D: number, seed: number): Float32Array {
  const data = new Rng(seed).fillNormal(new Float32Array(n * D));
  for (let i = 0; i < data.length; i += D) data[i + 1] = 0.5 * data[i]! * data[i]! + 0.3 * data[i + 1]!;
  return data;
}

/** One training step's loss and gradients, as `onGradients` reports them. */
export interface StepRecord {
  loss: number;
  grads: Float32Array[];
}

/** A trainer run on one path that reports each step to `onGradients`; resolves to its history. */
export type PathRun<F> = (
  f: F,
  path: FlowPath,
  onGradients: (step: StepRecord) => void,
) => Promise<{ path: FlowPath; stepsDone?: number }>;

/**
 * The same training on the fused and then the reference path, each on a fresh flow from
 * `makeFlow`: asserts the path taken and that no tensor leaks; returns each path's steps and
 * its flow (the caller disposes them).
 */
export async function stepsOnBothPaths<F extends Flow>(
  makeFlow: () => F,
  run: PathRun<F>,
): Promise<Record<FlowPath, { steps: StepRecord[]; flow: F }>> {
  const out = {} as Record<FlowPath, { steps: StepRecord[]; flow: F }>;
  for (const path of ['fused', 'reference'] as const) {
    const flow = makeFlow();
    const steps: StepRecord[] = [];
    const before = tf.memory().numTensors;
    const h = await run(flow, path, ({ loss, grads }) => steps.push({ loss, grads }));
    assert.equal(h.path, path);
    assert.equal(tf.memory().numTensors, before, `${path}: training leaks no tensors`);
    out[path] = { steps, flow };
  }
  return out;
}

/**
 * The fused path's steps equal the reference's: as many (`steps`), each loss within lossTol
 * (relative to 1 + |loss|) and each gradient within gradTol (relErr).
 */
export function assertSameSteps(
  fused: StepRecord[],
  reference: StepRecord[],
  steps: number,
  tol: { loss: number; grad: number },
  label: string,
): void {
  assert.equal(fused.length, steps, `${label}: fused steps`);
  assert.equal(reference.length, steps, `${label}: reference steps`);
  fused.forEach((a, t) => {
    const b = reference[t]!;
    assert.ok(
      Math.abs(a.loss - b.loss) < tol.loss * (1 + Math.abs(b.loss)),
      `${label} step ${t} loss ${a.loss} vs ${b.loss}`,
    );
    a.grads.forEach((g, i) => {
      const e = relErr(g, b.grads[i]!);
      assert.ok(e < tol.grad, `${label} step ${t} grad ${i}: ${e}`);
    });
  });
}

/**
 * A pair of one-pass flows, `inv` with a fused inverse only (MAF, nsf-ar) and `fwd` with a fused
 * forward only (IAF, nsf-iaf): the registry has exactly those; forwardOn and flowLogProb on the
 * fused path equal the reference (within tol) where they fall back; no tensor leaks both ways,
 * the fused ops' gradients included; the fused ops name a wrong batch shape (D = 2 flows).
 */
export function assertOnePassFallbacks(inv: InvertibleFlow, fwd: InvertibleFlow, x: tf.Tensor2D, tol: number): void {
  assert.equal(hasFusedOp(inv), false, `${inv.name} has no fused forward`);
  assert.equal(hasFusedOp(fwd), true);
  assert.equal(arrayKernelOf(inv), undefined);
  assert.equal(inverseArrayKernelOf(fwd), undefined);
  assert.ok(arrayKernelOf(fwd) && inverseArrayKernelOf(inv));
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    for (const f of [inv, fwd]) {
      const a = forwardOn(f, x, 'fused');
      const b = f.forward(x);
      assert.ok(tensorErr(a.z, b.z) < tol && tensorErr(a.logDetJ, b.logDetJ) < tol, `${f.name} forwardOn`);
      const lp = tensorErr(flowLogProb(f, x, 'fused'), flowLogProb(f, x, 'reference'));
      assert.ok(lp < tol, `${f.name} flowLogProb ${lp}`);
    }
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  const k = flowKernelOf(inv)!;
  assertNoLeaksBothWays(inv, x, 2, [(v) => inv.inverseWithLogDet(v).logDetJ, (v) => k.inverseOp!(inv, v).logDetJ]);
  const ki = flowKernelOf(fwd)!;
  assertNoLeaksBothWays(fwd, x, 2, [(v) => fwd.forward(v).logDetJ, (v) => ki.op!(fwd, v).logDetJ]);
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => k.inverseOp!(inv, bad), /y must have 2 columns/);
  assert.throws(() => ki.op!(fwd, bad), /z must have 2 columns/);
  bad.dispose();
}

// ---- Invertible flows against float64 finite differences (spline-ar, spline-iaf) ----

/** One row through the flow in direction `dir`: z and log-det as numbers. */
export function runRow(flow: InvertibleFlow, dir: 'forward' | 'inverse', p: number[]): { z: number[]; ld: number } {
  return tf.tidy(() => {
    const t = tf.tensor2d([p], [1, p.length]);
    const o = dir === 'forward' ? flow.forward(t) : flow.inverseWithLogDet(t);
    return { z: Array.from(o.z.dataSync()), ld: o.logDetJ.dataSync()[0]! };
  });
}

/**
 * Tolerances of the autoregressive-spline tests (test/spline-ar.test.ts, test/spline-iaf.test.ts),
 * float32 maps through a few layers of splines:
 * - FD_STEP: central-difference step on a float32 map (as test/maf.test.ts, test/spline.test.ts);
 * - FD_LOGDET: tolerance on log|det J| from those FD entries (as test/spline.test.ts);
 * - ROUNDTRIP: relative |f⁻¹(f(x)) - x| / max(1, max|x|);
 * - LOGDET_ROUNDTRIP: |log-det forward + log-det back| on a round trip, a sum of D·K terms log g',
 *   each of which moves ~1e-4 per float32 step of x next to a narrow bin (test/spline.test.ts,
 *   INVERSE_LOGDET_MAX); measured 1.0e-4 at D = 4, K = 3.
 */
export const SPLINE_AR_TOL = { FD_STEP: 3e-3, FD_LOGDET: 3e-3, ROUNDTRIP: 2e-5, LOGDET_ROUNDTRIP: 1e-3 } as const;

/**
 * Forward and inverse log-dets of `makeFlow(dim)` equal log|det| of central-difference Jacobians
 * (step, within tol) at 3 random points per dim; the largest |log det| seen exceeds 0.1, so the
 * check cannot pass on a volume-preserving map.
 */
export function assertLogDetsMatchFD(
  makeFlow: (dim: number) => InvertibleFlow,
  dims: number[],
  step: number,
  tol: number,
): void {
  for (const dim of dims) {
    const flow = makeFlow(dim);
    const rng = new Rng(dim + 100);
    let largest = 0;
    for (let trial = 0; trial < 3; trial++) {
      const x = Array.from({ length: dim }, () => rng.normal());
      for (const dir of ['forward', 'inverse'] as const) {
        const expected = logAbsDet(jacobianFD((p) => runRow(flow, dir, p).z, x, step));
        const got = runRow(flow, dir, x).ld;
        largest = Math.max(largest, Math.abs(expected));
        assert.ok(Math.abs(got - expected) < tol, `D=${dim} ${dir} ${trial}: ${got} vs FD ${expected}`);
      }
    }
    assert.ok(largest > 0.1, `D=${dim}: max |log det| ${largest}: the flow should move volume`);
    flow.dispose();
  }
}

/** max |t| over all entries. */
export const maxAbs = (t: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);

/**
 * Round trips both ways on 200 draws of 1.5 N(0, I) per dim: f⁻¹(f(z)) = z and f(f⁻¹(x)) = x
 * within tol · max(1, max|z|), log-dets opposite within logDetTol; the flow moves volume.
 */
export function assertRoundTrips(
  makeFlow: (dim: number) => InvertibleFlow,
  dims: number[],
  tol: number,
  logDetTol: number,
): void {
  for (const dim of dims) {
    const flow = makeFlow(dim);
    const z = tf.mul(1.5, new Rng(dim).normalTensor(200, dim)) as tf.Tensor2D;
    const scale = Math.max(1, maxAbs(z));
    const fwd = flow.forward(z);
    const back = flow.inverseWithLogDet(fwd.z);
    const inv = flow.inverseWithLogDet(z);
    const there = flow.forward(inv.z);
    assert.ok(maxAbs(tf.sub(back.z, z)) < tol * scale, `D=${dim}: f⁻¹(f(z))`);
    assert.ok(maxAbs(tf.sub(there.z, z)) < tol * scale, `D=${dim}: f(f⁻¹(x))`);
    assert.ok(maxAbs(tf.add(fwd.logDetJ, back.logDetJ)) < logDetTol, `D=${dim}: log-dets`);
    assert.ok(maxAbs(tf.add(inv.logDetJ, there.logDetJ)) < logDetTol, `D=${dim}: log-dets`);
    assert.ok(maxAbs(fwd.logDetJ) > 0.05, `D=${dim}: the perturbed flow should move volume`);
    tf.dispose([z, fwd.z, fwd.logDetJ, back.z, back.logDetJ, inv.z, inv.logDetJ, there.z, there.logDetJ]);
    flow.dispose();
  }
}

/**
 * The map `dir` of a one-layer flow at x is autoregressive in the identity order: its
 * central-difference Jacobian is lower-triangular (above the diagonal < 1e-3) and uses the
 * entries below it (max > 1e-2).
 */
export function assertLowerTriangularFD(
  flow: InvertibleFlow,
  dir: 'forward' | 'inverse',
  x: number[],
  step: number,
): void {
  const D = x.length;
  const J = jacobianFD((p) => runRow(flow, dir, p).z, x, step); // J[i][j] = ∂out_i/∂in_j
  let below = 0;
  for (let i = 0; i < D; i++) {
    for (let j = i + 1; j < D; j++) assert.ok(Math.abs(J[i]![j]!) < 1e-3, `∂out${i}/∂in${j} = ${J[i]![j]}`);
    for (let j = 0; j < i; j++) below = Math.max(below, Math.abs(J[i]![j]!));
  }
  assert.ok(below > 1e-2, `entries below the diagonal should be used (max ${below})`);
}
