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
import type { FlowOutput } from '../src/flows/flow';
import { arrayKernelOf, flowKernelOf, inverseArrayKernelOf } from '../src/flows/kernel';
import { forwardOn, hasFusedOp } from '../src/flows/compose';
import { arBackward, arRun, packArParams, type Direction } from '../src/kernels/autoregressive';
import * as dense from '../src/kernels/dense';
import { releaseScratch } from '../src/kernels/ops';
import { flowLogProb, trainMaxLikelihood } from '../src/train/mle';
import { train } from '../src/train/train';
import { getTarget } from '../src/targets/energies';
import { Rng } from '../src/core/random';
import { assertGradFD, jacobianFD, logAbsDet, packedLoss, relErr } from './oracle';
import { assertNoLeaksBothWays, assertTapeFreeStep } from './flows-helpers';

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

/** The one-pass direction of each flow: reference map and fused map (asserted registered). */
function pair(kind: Kind, f: AutoregressiveFlow): [(x: tf.Tensor2D) => FlowOutput, (x: tf.Tensor2D) => FlowOutput] {
  const k = flowKernelOf(f);
  if (kind === 'maf') {
    assert.ok(k?.inverseOp && k.inverseArrays && !k.op && !k.arrays, 'MAF: a fused inverse only');
    return [(x) => f.inverseWithLogDet(x), (x) => k.inverseOp!(f, x)];
  }
  assert.ok(k?.op && k.arrays && !k.inverseOp && !k.inverseArrays, 'IAF: a fused forward only');
  return [(x) => f.forward(x), (x) => k.op!(f, x)];
}

function tensorErr(a: tf.Tensor, b: tf.Tensor): number {
  return relErr(a.dataSync(), b.dataSync());
}

/** L = Σ cz ⊙ out.z + Σ cl ⊙ out.logDetJ with fixed random cotangents; its gradients w.r.t. x and the variables. */
function lossGrads(f: AutoregressiveFlow, x: tf.Tensor2D, map: (x: tf.Tensor2D) => FlowOutput, seed: number) {
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

test('autoregressive kernels: outputs and log-dets equal the reference (MAF inverse, IAF forward)', () => {
  bothProducts((products) => {
    for (const kind of ['maf', 'iaf'] as const) {
      for (const { D, K, H } of SHAPES) {
        const f = randomFlow(kind, D, K, H, D + H);
        const [ref, fused] = pair(kind, f);
        const x = new Rng(7).normalTensor(37, D); // 37: not a multiple of the 4-row tiles
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const a = ref(x);
          const b = fused(x);
          const label = `${kind} ${products} D=${D} K=${K} H=${H}`;
          assert.ok(tensorErr(b.z, a.z) < VALUE_TOL, `${label}: z ${tensorErr(b.z, a.z)}`);
          assert.ok(tensorErr(b.logDetJ, a.logDetJ) < VALUE_TOL, `${label}: logdet`);
          assert.ok(tensorErr(b.z, x) > 1e-2, `${label}: the perturbed flow is not the identity`);
          assert.ok(relErr(b.logDetJ.dataSync(), new Float32Array(37)) > 1e-2, `${label}: nonzero log-det`);
        });
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        x.dispose();
        f.dispose();
      }
    }
  });
});

test('autoregressive kernels: gradients of a random loss equal tfjs autodiff of the reference', () => {
  bothProducts((products) => {
    for (const kind of ['maf', 'iaf'] as const) {
      for (const { D, K, H } of SHAPES) {
        const f = randomFlow(kind, D, K, H, 3 * D + H);
        const [ref, fused] = pair(kind, f);
        const x = new Rng(11).normalTensor(13, D);
        const before = tf.memory().numTensors;
        const a = lossGrads(f, x, ref, 5);
        const b = lossGrads(f, x, fused, 5);
        const label = `${kind} ${products} D=${D} K=${K} H=${H}`;
        assert.ok(Math.abs(a.value - b.value) < VALUE_TOL * (1 + Math.abs(a.value)), `${label}: loss`);
        assert.ok(relErr(b.dx, a.dx) < GRAD_TOL, `${label}: ∂L/∂x ${relErr(b.dx, a.dx)}`);
        a.grads.forEach((g, i) => {
          const e = relErr(b.grads[i]!, g);
          assert.ok(e < GRAD_TOL, `${label}: ∂L/∂${f.variables[i]!.name} ${e}`);
          // masked weights get exact zeros in both (the reference multiplies by the mask)
          g.forEach((v, j) => v === 0 && assert.ok(b.grads[i]![j] === 0, `${label}: masked entry ${j}`));
        });
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
      const L = (): number => {
        const r = run(x, N, dir);
        releaseScratch(r.tape.buffer); // no backward of this run: its buffer can be reused
        return packedLoss(dy, r.x, r.logDet, N, D);
      };
      const { dx, grads } = arBackward(run(x, N, dir).tape, dy);
      const label = `${kind} D=${D} K=${K} H=${H}`;
      assertGradFD(L, `${label} x`, x, dx);
      vars.forEach((v, i) => assertGradFD(L, `${label} ${f.variables[i]!.name}`, v, grads[i]!));
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
  assert.equal(hasFusedOp(maf), false, 'MAF has no fused forward');
  assert.equal(hasFusedOp(iaf), true);
  assert.equal(arrayKernelOf(maf), undefined);
  assert.equal(inverseArrayKernelOf(iaf), undefined);
  assert.ok(arrayKernelOf(iaf) && inverseArrayKernelOf(maf));
  const x = new Rng(5).normalTensor(9, 2);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    for (const f of [maf, iaf]) {
      const a = forwardOn(f, x, 'fused');
      const b = f.forward(x);
      assert.ok(tensorErr(a.z, b.z) < VALUE_TOL && tensorErr(a.logDetJ, b.logDetJ) < VALUE_TOL, `${f.name} forwardOn`);
      const lp = tensorErr(flowLogProb(f, x, 'fused'), flowLogProb(f, x, 'reference'));
      assert.ok(lp < VALUE_TOL, `${f.name} flowLogProb ${lp}`);
    }
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  // both directions with their gradients, the fused one among them: nothing left behind
  const k = flowKernelOf(maf)!;
  assertNoLeaksBothWays(maf, x, 2, [(v) => maf.inverseWithLogDet(v).logDetJ, (v) => k.inverseOp!(maf, v).logDetJ]);
  const ki = flowKernelOf(iaf)!;
  assertNoLeaksBothWays(iaf, x, 2, [(v) => iaf.forward(v).logDetJ, (v) => ki.op!(iaf, v).logDetJ]);
  const bad = tf.zeros([3, 3]) as tf.Tensor2D;
  assert.throws(() => k.inverseOp!(maf, bad), /y must have 2 columns/);
  assert.throws(() => ki.op!(iaf, bad), /z must have 2 columns/);
  tf.dispose([x, bad]);
  maf.dispose();
  iaf.dispose();
});

test("MAF maximum likelihood steps tape-free with the tape's loss and gradients; IAF takes the reference", async () => {
  for (const { D, K, H } of SHAPES) {
    const data = new Rng(19).fillNormal(new Float32Array(60 * D));
    for (let i = 0; i < data.length; i += D) data[i + 1] = 0.5 * data[i]! * data[i]! + 0.3 * data[i + 1]!; // curved
    const seen: Record<string, { loss: number; grads: Float32Array[] }[]> = { fused: [], reference: [] };
    const flows: AutoregressiveFlow[] = [];
    for (const path of ['fused', 'reference'] as const) {
      const f = randomFlow('maf', D, K, H, 9 * D + H);
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
  const seen: Record<string, { loss: number; grads: Float32Array[] }[]> = { fused: [], reference: [] };
  for (const path of ['fused', 'reference'] as const) {
    const f = randomFlow('iaf', 2, 4, 8, 29);
    const before = tf.memory().numTensors;
    const h = await train(f, getTarget('U1'), {
      steps: 3,
      batch: 33,
      lr: 1e-2,
      seed: 2,
      path,
      onGradients: ({ loss, grads }) => seen[path]!.push({ loss, grads }),
    });
    assert.equal(h.path, path);
    assert.equal(tf.memory().numTensors, before, `${path}: training leaks no tensors`);
    f.dispose();
  }
  seen.fused!.forEach((a, t) => {
    const b = seen.reference![t]!;
    assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * (1 + Math.abs(b.loss)), `step ${t} loss ${a.loss} vs ${b.loss}`);
    a.grads.forEach((g, i) =>
      assert.ok(relErr(g, b.grads[i]!) < 1e-4, `step ${t} grad ${i}: ${relErr(g, b.grads[i]!)}`),
    );
  });
  const maf = randomFlow('maf', 2, 2, 4, 1);
  const h = await train(maf, getTarget('U1'), { steps: 1, batch: 4 });
  assert.equal(h.path, 'reference', 'MAF has no fused forward');
  maf.dispose();
});
