/**
 * The autoregressive flows' kernels (src/kernels/autoregressive.ts on src/kernels/made.ts)
 * against the op-by-op reference (flows/autoregressive.ts) and float64 oracles: MAF's fused
 * inverse (data -> base) and IAF's fused forward (base -> data), their log-dets and the
 * gradients of a random scalar loss w.r.t. the input and every variable, in D = 2 and 5, with
 * the WebAssembly products and the JS fallback; the float64 backward against central finite
 * differences; the tape-free maximum-likelihood (MAF) and reverse-KL (IAF) steps against the
 * tape; the directions without a kernel fall back to the reference; no tensor leaks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import '../src/kernels';
import { MaskedAutoregressiveFlow } from '../src/flows/maf';
import { InverseAutoregressiveFlow } from '../src/flows/iaf';
import type { AutoregressiveFlow } from '../src/flows/autoregressive';
import { arBackward, arRun, packArParams, type Direction } from '../src/kernels/autoregressive';
import { trainMaxLikelihood } from '../src/train/mle';
import { train } from '../src/train/train';
import { getTarget } from '../src/targets/energies';
import { Rng } from '../src/core/random';
import { jacobianFD, logAbsDet } from './oracle';
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

/** Kernel vs reference values: float64 loops against float32 tf ops over K layers. */
const VALUE_TOL = 1e-5;
/** Kernel vs tfjs autodiff gradients (both end in float32; the reference rounds every op). */
const GRAD_TOL = 5e-5;
/** log-det of the kernel vs log|det| of a float64 central-difference Jacobian (h = 1e-5). */
const FD_LOGDET_TOL = 1e-7;

const SHAPES = [
  { D: 2, K: 4, H: 16 },
  { D: 5, K: 3, H: 8 },
];

type Kind = 'maf' | 'iaf';

/** A flow moved off its identity initialisation (the MADE's last layer starts at zero). */
function randomFlow(kind: Kind, D: number, K: number, H: number, seed: number): AutoregressiveFlow {
  const options = { dim: D, K, hidden: H, seed };
  const f = kind === 'maf' ? new MaskedAutoregressiveFlow(options) : new InverseAutoregressiveFlow(options);
  f.perturb(0.3, seed + 1);
  return f;
}

/** The one-pass direction of each flow: MAF's inverse, IAF's forward. */
const DIR: Record<Kind, 1 | -1> = { maf: -1, iaf: 1 };

test('autoregressive kernels: outputs and log-dets equal the reference (MAF inverse, IAF forward)', () => {
  withBothProducts((products) => {
    for (const kind of ['maf', 'iaf'] as const) {
      for (const { D, K, H } of SHAPES) {
        const f = randomFlow(kind, D, K, H, D + H);
        const [ref, fused] = onePassMaps(f, DIR[kind], kind);
        const x = new Rng(7).normalTensor(37, D); // 37: not a multiple of the 4-row tiles
        const before = tf.memory().numTensors;
        const label = `${kind} ${products} D=${D} K=${K} H=${H}`;
        tf.tidy(() => assertSameValues(valuesOf(ref, x), valuesOf(fused, x), x.dataSync(), VALUE_TOL, label));
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        x.dispose();
        f.dispose();
      }
    }
  });
});
test('autoregressive kernels: gradients of a random loss equal tfjs autodiff of the reference', () => {
  withBothProducts((products) => {
    for (const kind of ['maf', 'iaf'] as const) {
      for (const { D, K, H } of SHAPES) {
        const f = randomFlow(kind, D, K, H, 3 * D + H);
        const [ref, fused] = onePassMaps(f, DIR[kind], kind);
        const x = new Rng(11).normalTensor(13, D);
        const before = tf.memory().numTensors;
        const a = randomLossGrads(f, x, ref, 5);
        const b = randomLossGrads(f, x, fused, 5);
        // masked weights get exact zeros in both (the reference multiplies by the mask)
        const tol = { value: VALUE_TOL, grad: GRAD_TOL, masked: true };
        assertSameLossGrads(f, a, b, tol, `${kind} ${products} D=${D} K=${K} H=${H}`);
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        x.dispose();
        f.dispose();
      }
    }
  });
});
/** The flow's variables as float64 copies, and a float64 run of the kernel on them. */
function float64Kernel(f: AutoregressiveFlow) {
  const vars = f.variables.map((v) => Float64Array.from(v.dataSync()));
  const run = (x: ArrayLike<number>, N: number, dir: Direction) => arRun(packArParams(f, vars), x, N, dir);
  return { vars, run };
}

test('autoregressive kernel: the float64 backward equals central finite differences', () => {
  for (const { D, K, H } of [
    { D: 2, K: 2, H: 4 },
    { D: 3, K: 3, H: 5 },
  ]) {
    for (const [kind, dir] of [
      ['maf', -1],
      ['iaf', 1],
    ] as const) {
      const f = randomFlow(kind, D, K, H, 5 * D + H);
      const { vars, run } = float64Kernel(f);
      const N = 3;
      const rng = new Rng(13);
      const x = Float64Array.from({ length: N * D }, () => rng.normal());
      const dy = Float64Array.from({ length: N * (D + 1) }, () => rng.normal()); // [∂L/∂out | ∂L/∂logdet]
      const names = f.variables.map((v) => v.name);
      assertStackBackwardFD((xx, n) => run(xx, n, dir), arBackward, x, dy, vars, names, `${kind} D=${D} K=${K} H=${H}`);
      f.dispose();
    }
  }
});

test('autoregressive kernel: log-det is log|det| of a finite-difference Jacobian, which is triangular', () => {
  for (const [kind, dir] of [
    ['maf', -1],
    ['iaf', 1],
  ] as const) {
    const D = 4;
    const f = randomFlow(kind, D, 1, 8, 31); // one layer: the identity order, so J is lower-triangular
    const { run } = float64Kernel(f);
    const rng = new Rng(17);
    for (let i = 0; i < 3; i++) {
      const y = Array.from({ length: D }, () => 1.5 * rng.normal());
      const J = jacobianFD((p) => Array.from(run(p, 1, dir).x), y, 1e-5);
      const logDet = run(y, 1, dir).logDet[0]!;
      assert.ok(Math.abs(logDet - logAbsDet(J)) < FD_LOGDET_TOL, `${kind}: ${logDet} vs FD ${logAbsDet(J)}`);
      for (let r = 0; r < D; r++)
        for (let c = r + 1; c < D; c++) assert.ok(Math.abs(J[r]![c]!) < 1e-9, `${kind}: ∂out_${r}/∂in_${c} = 0`);
    }
    f.dispose();
  }
});

test('autoregressive kernels: the slow directions fall back to the reference; forwardOn and flowLogProb agree', () => {
  const maf = randomFlow('maf', 2, 4, 8, 3);
  const iaf = randomFlow('iaf', 2, 4, 8, 3);
  const x = new Rng(5).normalTensor(9, 2);
  assertOnePassFallbacks(maf, iaf, x, VALUE_TOL);
  x.dispose();
  maf.dispose();
  iaf.dispose();
});

test("MAF maximum likelihood steps tape-free with the tape's loss and gradients; IAF takes the reference", async () => {
  for (const { D, K, H } of SHAPES) {
    const data = curvedRows(60, D, 19);
    const runs = await stepsOnBothPaths(
      () => randomFlow('maf', D, K, H, 9 * D + H),
      (f, path, onGradients) =>
        trainMaxLikelihood(f, data, { steps: 3, batch: 24, lr: 1e-2, seed: 3, path, onGradients }),
    );
    assertSameSteps(runs.fused.steps, runs.reference.steps, 3, { loss: VALUE_TOL, grad: GRAD_TOL }, `D=${D}`);
    runs.fused.flow.dispose();
    runs.reference.flow.dispose();
  }
  const iaf = randomFlow('iaf', 2, 2, 4, 1);
  const h = await trainMaxLikelihood(iaf, new Rng(2).fillNormal(new Float32Array(40)), { steps: 1, batch: 4 });
  assert.equal(h.path, 'reference', 'IAF has no fused inverse');
  iaf.dispose();
});

test("IAF reverse KL steps tape-free with the tape's loss and gradients; MAF takes the reference", async () => {
  const z0 = new Rng(3).normalTensor(33, 2);
  for (const [K, H] of [
    [4, 16],
    [3, 8],
  ] as const) {
    const f = randomFlow('iaf', 2, K, H, 21 + K);
    assertTapeFreeStep(f, getTarget('U1'), z0, 0.7, `IAF K=${K} H=${H}`);
    f.dispose();
  }
  z0.dispose();
  const runs = await stepsOnBothPaths(
    () => randomFlow('iaf', 2, 4, 8, 29),
    (f, path, onGradients) => train(f, getTarget('U1'), { steps: 3, batch: 33, lr: 1e-2, seed: 2, path, onGradients }),
  );
  assertSameSteps(runs.fused.steps, runs.reference.steps, 3, { loss: 1e-4, grad: 1e-4 }, 'IAF U1');
  runs.fused.flow.dispose();
  runs.reference.flow.dispose();
  const maf = randomFlow('maf', 2, 2, 4, 1);
  const h = await train(maf, getTarget('U1'), { steps: 1, batch: 4 });
  assert.equal(h.path, 'reference', 'MAF has no fused forward');
  maf.dispose();
});
