/**
 * The autoregressive spline flow's kernel (src/kernels/spline-autoregressive.ts on made.ts and
 * spline.ts) against the op-by-op reference (flows/spline-autoregressive.ts) and float64 oracles:
 * nsf-ar's fused inverse (data -> base) and nsf-iaf's fused forward (base -> data), their log-dets
 * and the gradients of a random scalar loss w.r.t. the input and every variable, in D = 2 and 4,
 * points inside and outside [-B, B], with the WebAssembly products and the JS fallback; the
 * float64 backward against central finite differences; the tape-free maximum-likelihood (nsf-ar)
 * and reverse-KL (nsf-iaf) steps against the tape; the D-pass directions fall back to the
 * reference; no tensor leaks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import '../src/kernels';
import type { FlowOutput } from '../src/flows/flow';
import { arrayKernelOf, flowKernelOf, inverseArrayKernelOf } from '../src/flows/kernel';
import { forwardOn, hasFusedOp } from '../src/flows/compose';
import { SplineAutoregressiveFlow } from '../src/flows/spline-autoregressive';
import * as dense from '../src/kernels/dense';
import { releaseScratch } from '../src/kernels/ops';
import { packSplineArParams, splineArBackward, splineArRun } from '../src/kernels/spline-autoregressive';
import { getTarget } from '../src/targets/energies';
import { flowLogProb, trainMaxLikelihood } from '../src/train/mle';
import { train } from '../src/train/train';
import { Rng } from '../src/core/random';
import { assertGradFD, packedLoss, relErr } from './oracle';
import { assertNoLeaksBothWays, assertTapeFreeStep } from './flows-helpers';

/** Kernel (float64) vs reference (float32 ops) values and log-dets over K layers of splines. */
const VALUE_TOL = 2e-5;
/**
 * Kernel vs tfjs autodiff gradients: the reference rounds every op to float32, and steep
 * log-derivatives near narrow bins' edges amplify that through the next layers (as
 * test/spline-kernel.test.ts, FLOW_GRAD_TOL).
 */
const GRAD_TOL = 3e-4;
/** Perturbation of every parameter: bins visibly unequal, the splines still well-conditioned. */
const PERTURB = 0.3;
/** Spread of the test points: with B = 3, about 1 in 6 coordinates lands in a tail. */
const POINT_SCALE = 3;

const SHAPES = [
  { D: 2, K: 4, H: 16, bins: 8 },
  { D: 4, K: 3, H: 8, bins: 4 },
];

type Cond = 'data' | 'base';

function randomFlow(conditionedOn: Cond, D: number, K: number, H: number, bins: number, seed: number) {
  const f = new SplineAutoregressiveFlow({ dim: D, K, hidden: H, bins, seed, conditionedOn });
  f.perturb(PERTURB, seed + 1);
  return f;
}

/** The one-pass direction of each conditioning: reference map and fused map (asserted registered). */
function pair(f: SplineAutoregressiveFlow): [(x: tf.Tensor2D) => FlowOutput, (x: tf.Tensor2D) => FlowOutput] {
  const k = flowKernelOf(f);
  if (f.conditionedOn === 'data') {
    assert.ok(k?.inverseOp && k.inverseArrays && !k.op && !k.arrays, 'nsf-ar: a fused inverse only');
    return [(x) => f.inverseWithLogDet(x), (x) => k.inverseOp!(f, x)];
  }
  assert.ok(k?.op && k.arrays && !k.inverseOp && !k.inverseArrays, 'nsf-iaf: a fused forward only');
  return [(x) => f.forward(x), (x) => k.op!(f, x)];
}

/** n rows of D points, some outside [-B, B] (asserted). */
function points(n: number, D: number, seed: number): tf.Tensor2D {
  const x = tf.mul(POINT_SCALE, new Rng(seed).normalTensor(n, D)) as tf.Tensor2D;
  const v = x.dataSync();
  assert.ok(v.some((a) => Math.abs(a) > 3) && v.some((a) => Math.abs(a) < 3), 'points in the tails and inside');
  return x;
}

const tensorErr = (a: tf.Tensor, b: tf.Tensor): number => relErr(a.dataSync(), b.dataSync());

/** L = Σ cz ⊙ out.z + Σ cl ⊙ out.logDetJ with fixed random cotangents; its gradients w.r.t. x and the variables. */
function lossGrads(f: SplineAutoregressiveFlow, x: tf.Tensor2D, map: (x: tf.Tensor2D) => FlowOutput, seed: number) {
  return tf.tidy(() => {
    const rng = new Rng(seed);
    const cz = rng.normalTensor(x.shape[0], f.dim);
    const cl = rng.normalTensor(1, x.shape[0]).reshape([x.shape[0]]);
    const L = (xx: tf.Tensor2D): tf.Scalar => {
      const o = map(xx);
      return tf.add(tf.sum(tf.mul(cz, o.z)), tf.sum(tf.mul(cl, o.logDetJ))) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(() => L(x), f.variables);
    const dx = tf.grad((xx: tf.Tensor) => L(xx as tf.Tensor2D))(x);
    return { value: value.dataSync()[0]!, dx: dx.dataSync(), grads: f.variables.map((v) => grads[v.name]!.dataSync()) };
  });
}

/** Run `body` with the WebAssembly products, then with the JS fallback. */
function bothProducts(body: (label: string) => void): void {
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

test('spline AR kernel: outputs, log-dets and gradients equal the reference (nsf-ar inverse, nsf-iaf forward)', () => {
  bothProducts((products) => {
    for (const cond of ['data', 'base'] as const) {
      for (const { D, K, H, bins } of SHAPES) {
        const f = randomFlow(cond, D, K, H, bins, D + H);
        const [ref, fused] = pair(f);
        const x = points(37, D, 7); // 37: not a multiple of the 4-row tiles
        const label = `${cond} ${products} D=${D} K=${K} H=${H} bins=${bins}`;
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const a = ref(x);
          const b = fused(x);
          assert.ok(tensorErr(b.z, a.z) < VALUE_TOL, `${label}: z ${tensorErr(b.z, a.z)}`);
          assert.ok(tensorErr(b.logDetJ, a.logDetJ) < VALUE_TOL, `${label}: logdet ${tensorErr(b.logDetJ, a.logDetJ)}`);
          assert.ok(tensorErr(b.z, x) > 1e-2, `${label}: the perturbed flow is not the identity`);
          assert.ok(relErr(b.logDetJ.dataSync(), new Float32Array(37)) > 1e-2, `${label}: nonzero log-det`);
        });
        const a = lossGrads(f, x, ref, 5);
        const b = lossGrads(f, x, fused, 5);
        assert.ok(Math.abs(a.value - b.value) < VALUE_TOL * (1 + Math.abs(a.value)), `${label}: loss`);
        assert.ok(relErr(b.dx, a.dx) < GRAD_TOL, `${label}: ∂L/∂x ${relErr(b.dx, a.dx)}`);
        a.grads.forEach((g, i) => {
          const e = relErr(b.grads[i]!, g);
          assert.ok(e < GRAD_TOL, `${label}: ∂L/∂${f.variables[i]!.name} ${e}`);
          g.forEach((v, j) => v === 0 && assert.ok(b.grads[i]![j] === 0, `${label}: masked entry ${j}`));
        });
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        x.dispose();
        f.dispose();
      }
    }
  });
});

test('spline AR kernel: the float64 backward equals central finite differences', () => {
  for (const cond of ['data', 'base'] as const) {
    const [D, K, H, bins] = [3, 2, 5, 4];
    const f = randomFlow(cond, D, K, H, bins, 5 * D + H);
    const dir = cond === 'data' ? -1 : 1;
    const vars = f.variables.map((v) => Float64Array.from(v.dataSync()));
    const run = (x: ArrayLike<number>) => splineArRun(packSplineArParams(f, vars), x, N, dir);
    const N = 3;
    const rng = new Rng(13);
    const x = Float64Array.from({ length: N * D }, () => 1.5 * rng.normal());
    x[0] = 3.7; // one coordinate in the tail
    const dy = Float64Array.from({ length: N * (D + 1) }, () => rng.normal()); // [∂L/∂out | ∂L/∂logdet]
    const L = (): number => {
      const r = run(x);
      releaseScratch(r.tape.buffer); // no backward of this run: its buffer can be reused
      return packedLoss(dy, r.x, r.logDet, N, D);
    };
    const { dx, grads } = splineArBackward(run(x).tape, dy);
    assertGradFD(L, `${cond} x`, x, dx);
    vars.forEach((v, i) => assertGradFD(L, `${cond} ${f.variables[i]!.name}`, v, grads[i]!));
    f.dispose();
  }
});

test('spline AR kernel: the D-pass directions fall back to the reference; forwardOn and flowLogProb agree', () => {
  const ar = randomFlow('data', 2, 3, 8, 5, 3);
  const iaf = randomFlow('base', 2, 3, 8, 5, 3);
  assert.equal(hasFusedOp(ar), false, 'nsf-ar has no fused forward');
  assert.equal(hasFusedOp(iaf), true);
  assert.equal(arrayKernelOf(ar), undefined);
  assert.equal(inverseArrayKernelOf(iaf), undefined);
  assert.ok(arrayKernelOf(iaf) && inverseArrayKernelOf(ar));
  const x = points(9, 2, 5);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    for (const f of [ar, iaf]) {
      const a = forwardOn(f, x, 'fused');
      const b = f.forward(x);
      assert.ok(tensorErr(a.z, b.z) < VALUE_TOL && tensorErr(a.logDetJ, b.logDetJ) < VALUE_TOL, `${f.name} forwardOn`);
      const lp = tensorErr(flowLogProb(f, x, 'fused'), flowLogProb(f, x, 'reference'));
      assert.ok(lp < VALUE_TOL, `${f.name} flowLogProb ${lp}`);
    }
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  const k = flowKernelOf(ar)!;
  assertNoLeaksBothWays(ar, x, 2, [(v) => ar.inverseWithLogDet(v).logDetJ, (v) => k.inverseOp!(ar, v).logDetJ]);
  const ki = flowKernelOf(iaf)!;
  assertNoLeaksBothWays(iaf, x, 2, [(v) => iaf.forward(v).logDetJ, (v) => ki.op!(iaf, v).logDetJ]);
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => k.inverseOp!(ar, bad), /y must have 2 columns/);
  assert.throws(() => ki.op!(iaf, bad), /z must have 2 columns/);
  tf.dispose([x, bad]);
  ar.dispose();
  iaf.dispose();
});

test("nsf-ar maximum likelihood steps tape-free with the tape's loss and gradients; nsf-iaf takes the reference", async () => {
  for (const { D, K, H, bins } of SHAPES) {
    const data = new Rng(19).fillNormal(new Float32Array(60 * D));
    for (let i = 0; i < data.length; i += D) data[i + 1] = 0.5 * data[i]! * data[i]! + 0.3 * data[i + 1]!; // curved
    const seen: Record<string, { loss: number; grads: Float32Array[] }[]> = { fused: [], reference: [] };
    const flows: SplineAutoregressiveFlow[] = [];
    for (const path of ['fused', 'reference'] as const) {
      const f = randomFlow('data', D, K, H, bins, 9 * D + H);
      const before = tf.memory().numTensors;
      const h = await trainMaxLikelihood(f, data, {
        steps: 3,
        batch: 24,
        lr: 1e-2,
        seed: 3,
        path,
        onGradients: ({ loss, grads }) => seen[path]!.push({ loss, grads }),
      });
      assert.equal(h.path, path);
      assert.equal(tf.memory().numTensors, before, `${path}: training leaks no tensors`);
      flows.push(f);
    }
    assert.equal(seen.fused!.length, 3);
    assert.ok(inverseArrayKernelOf(flows[0]!), 'the fused path had the plain-array inverse kernel');
    seen.fused!.forEach((a, t) => {
      const b = seen.reference![t]!;
      assert.ok(
        Math.abs(a.loss - b.loss) < VALUE_TOL * (1 + Math.abs(b.loss)),
        `step ${t} loss ${a.loss} vs ${b.loss}`,
      );
      a.grads.forEach((g, i) => {
        const e = relErr(g, b.grads[i]!);
        assert.ok(e < GRAD_TOL, `D=${D} step ${t} grad ${i}: ${e}`);
      });
    });
    flows.forEach((f) => f.dispose());
  }
  const iaf = randomFlow('base', 2, 2, 4, 4, 1);
  const h = await trainMaxLikelihood(iaf, new Rng(2).fillNormal(new Float32Array(40)), { steps: 1, batch: 4 });
  assert.equal(h.path, 'reference', 'nsf-iaf has no fused inverse');
  iaf.dispose();
});

test("nsf-iaf reverse KL steps tape-free with the tape's loss and gradients; nsf-ar takes the reference", async () => {
  const z0 = new Rng(3).normalTensor(33, 2);
  for (const [K, H, bins] of [
    [4, 16, 8],
    [3, 8, 4],
  ] as const) {
    const f = randomFlow('base', 2, K, H, bins, 21 + K);
    assertTapeFreeStep(f, getTarget('U1'), z0, 0.7, `nsf-iaf K=${K} H=${H} bins=${bins}`);
    f.dispose();
  }
  z0.dispose();
  const ar = randomFlow('data', 2, 2, 4, 4, 1);
  const h = await train(ar, getTarget('U1'), { steps: 1, batch: 4 });
  assert.equal(h.path, 'reference', 'nsf-ar has no fused forward');
  ar.dispose();
});
