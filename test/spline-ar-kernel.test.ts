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
import { inverseArrayKernelOf } from '../src/flows/kernel';
import { SplineAutoregressiveFlow } from '../src/flows/spline-autoregressive';
import { packSplineArParams, splineArBackward, splineArRun } from '../src/kernels/spline-autoregressive';
import { getTarget } from '../src/targets/energies';
import { trainMaxLikelihood } from '../src/train/mle';
import { train } from '../src/train/train';
import { Rng } from '../src/core/random';
import {
  assertOnePassFallbacks,
  assertSameLossGrads,
  assertSameSteps,
  assertSameValues,
  assertStackBackwardFD,
  assertTapeFreeStep,
  curvedRows,
  onePassMaps,
  randomLossGrads,
  stepsOnBothPaths,
  valuesOf,
  withBothProducts,
} from './flows-helpers';

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

/** The one-pass direction of each conditioning: nsf-ar's inverse, nsf-iaf's forward. */
const DIR: Record<Cond, 1 | -1> = { data: -1, base: 1 };
const NAME: Record<Cond, string> = { data: 'nsf-ar', base: 'nsf-iaf' };

/** n rows of D points, some outside [-B, B] (asserted). */
function points(n: number, D: number, seed: number): tf.Tensor2D {
  const x = tf.mul(POINT_SCALE, new Rng(seed).normalTensor(n, D)) as tf.Tensor2D;
  const v = x.dataSync();
  assert.ok(v.some((a) => Math.abs(a) > 3) && v.some((a) => Math.abs(a) < 3), 'points in the tails and inside');
  return x;
}

test('spline AR kernel: outputs, log-dets and gradients equal the reference (nsf-ar inverse, nsf-iaf forward)', () => {
  withBothProducts((products) => {
    for (const cond of ['data', 'base'] as const) {
      for (const { D, K, H, bins } of SHAPES) {
        const f = randomFlow(cond, D, K, H, bins, D + H);
        const [ref, fused] = onePassMaps(f, DIR[cond], NAME[cond]);
        const x = points(37, D, 7); // 37: not a multiple of the 4-row tiles
        const label = `${cond} ${products} D=${D} K=${K} H=${H} bins=${bins}`;
        const before = tf.memory().numTensors;
        tf.tidy(() => assertSameValues(valuesOf(ref, x), valuesOf(fused, x), x.dataSync(), VALUE_TOL, label));
        const a = randomLossGrads(f, x, ref, 5);
        const b = randomLossGrads(f, x, fused, 5);
        assertSameLossGrads(f, a, b, { value: VALUE_TOL, grad: GRAD_TOL, masked: true }, label);
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
    const dir = DIR[cond];
    const vars = f.variables.map((v) => Float64Array.from(v.dataSync()));
    const N = 3;
    const rng = new Rng(13);
    const x = Float64Array.from({ length: N * D }, () => 1.5 * rng.normal());
    x[0] = 3.7; // one coordinate in the tail
    const dy = Float64Array.from({ length: N * (D + 1) }, () => rng.normal()); // [∂L/∂out | ∂L/∂logdet]
    const run = (xx: ArrayLike<number>, n: number) => splineArRun(packSplineArParams(f, vars), xx, n, dir);
    const names = f.variables.map((v) => v.name);
    assertStackBackwardFD(run, splineArBackward, x, dy, vars, names, cond);
    f.dispose();
  }
});

test('spline AR kernel: the D-pass directions fall back to the reference; forwardOn and flowLogProb agree', () => {
  const ar = randomFlow('data', 2, 3, 8, 5, 3);
  const iaf = randomFlow('base', 2, 3, 8, 5, 3);
  const x = points(9, 2, 5);
  assertOnePassFallbacks(ar, iaf, x, VALUE_TOL);
  x.dispose();
  ar.dispose();
  iaf.dispose();
});

test("nsf-ar maximum likelihood steps tape-free with the tape's loss and gradients; nsf-iaf takes the reference", async () => {
  for (const { D, K, H, bins } of SHAPES) {
    const data = curvedRows(60, D, 19);
    const runs = await stepsOnBothPaths(
      () => randomFlow('data', D, K, H, bins, 9 * D + H),
      (f, path, onGradients) =>
        trainMaxLikelihood(f, data, { steps: 3, batch: 24, lr: 1e-2, seed: 3, path, onGradients }),
    );
    assert.ok(inverseArrayKernelOf(runs.fused.flow), 'the fused path had the plain-array inverse kernel');
    assertSameSteps(runs.fused.steps, runs.reference.steps, 3, { loss: VALUE_TOL, grad: GRAD_TOL }, `D=${D}`);
    runs.fused.flow.dispose();
    runs.reference.flow.dispose();
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
