/**
 * The fused planar stack against the op-by-op reference: values, log-dets and gradients with
 * respect to z0 and every variable; a float64 finite-difference oracle; no tensor leaks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { StandardNormal } from '../src/flows/base';
import '../src/kernels';
import { compose, forwardOn, hasFusedOp } from '../src/flows/compose';
import type { Flow, FlowOutput } from '../src/flows/flow';
import { assertTapeFreeStep, fusedForward } from './flows-helpers';
import { columns, fusedMean, fusedStandardNormalLogProb } from '../src/kernels/ops';
import { planarStackBackward, planarStackForward } from '../src/kernels/planar';
import { PlanarFlow } from '../src/flows/planar';
import { Rng } from '../src/core/random';
import { assertGradFD, packedLoss, relErr } from './oracle';
import { StopSignal } from '../src/core/stop';
import { getTarget } from '../src/targets/energies';
import { train } from '../src/train/train';

/** A planar flow with random (not near-identity) parameters. */
function randomPlanar(K: number, seed: number, D = 2): PlanarFlow {
  const f = new PlanarFlow({ K, dim: D, seed, initScale: 0.8 });
  const rng = new Rng(seed + 100);
  f.b.assign(rng.uniformTensor([K], -1, 1) as tf.Tensor1D);
  return f;
}

/**
 * L = Σ cz ⊙ z_K + Σ cl ⊙ logdet with fixed random cotangents; returns the forward values and
 * ∂L/∂z0 and ∂L/∂(each variable).
 */
function valuesAndGrads(flow: Flow, z0: tf.Tensor2D, fwd: (z: tf.Tensor2D) => FlowOutput, seed: number) {
  const N = z0.shape[0];
  const rng = new Rng(seed);
  const cz = rng.normalTensor(N, flow.dim);
  const cl = tf.tidy(() => rng.normalTensor(N, 1).reshape([N]));
  const loss = (z: tf.Tensor2D): tf.Scalar => {
    const out = fwd(z);
    return tf.add(tf.sum(tf.mul(out.z, cz)), tf.sum(tf.mul(out.logDetJ, cl))) as tf.Scalar;
  };
  const out = fwd(z0);
  const z = out.z.dataSync().slice();
  const ld = out.logDetJ.dataSync().slice();
  out.z.dispose();
  out.logDetJ.dispose();
  const [gz] = tf.grads((x: tf.Tensor) => loss(x as tf.Tensor2D))([z0]);
  const { value, grads } = tf.variableGrads(() => loss(z0), flow.variables);
  const gv = flow.variables.map((v) => grads[v.name]!.dataSync().slice());
  const res = { z, ld, gz: gz!.dataSync().slice(), gv };
  gz!.dispose();
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  cz.dispose();
  cl.dispose();
  return res;
}

function compareFused(flow: Flow, N: number, seed: number, tol = 2e-4): void {
  const z0 = tf.tidy(() => new Rng(seed).normalTensor(N, flow.dim).mul(1.5) as tf.Tensor2D);
  const before = tf.memory().numTensors;
  const ref = valuesAndGrads(flow, z0, (z) => flow.forward(z), seed + 1);
  const fused = valuesAndGrads(flow, z0, (z) => fusedForward(flow, z), seed + 1);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  const label = `${flow.name} N=${N}`;
  assert.ok(relErr(fused.z, ref.z) < tol, `${label}: z_K ${relErr(fused.z, ref.z)}`);
  assert.ok(relErr(fused.ld, ref.ld) < tol, `${label}: logdet ${relErr(fused.ld, ref.ld)}`);
  assert.ok(relErr(fused.gz, ref.gz) < tol, `${label}: dz0 ${relErr(fused.gz, ref.gz)}`);
  flow.variables.forEach((v, i) => {
    const e = relErr(fused.gv[i]!, ref.gv[i]!);
    assert.ok(e < tol, `${label}: d${v.name} ${e}`);
  });
  z0.dispose();
}

test('fused planar: values, log-dets and gradients match the reference (K 1..64, N 1..4096)', () => {
  const cases: [number, number][] = [
    [1, 1],
    [1, 64],
    [2, 7],
    [5, 512],
    [17, 33],
    [32, 512],
    [64, 256],
    [8, 4096],
  ];
  cases.forEach(([K, N], i) => {
    const f = randomPlanar(K, 10 + i);
    compareFused(f, N, 20 + i);
    f.dispose();
  });
});

test('fused planar: D = 3 and the near-identity initialisation', () => {
  const f3 = randomPlanar(6, 3, 3);
  compareFused(f3, 50, 4);
  f3.dispose();
  const f0 = new PlanarFlow({ K: 12, seed: 5 });
  compareFused(f0, 100, 6);
  f0.dispose();
});

test('fused planar: gradients reach z0 through a composition of fused flows', () => {
  const c = compose(randomPlanar(3, 1), randomPlanar(4, 2));
  assert.ok(hasFusedOp(c), 'a composition of fused flows is fused');
  compareFused(c, 40, 7);
  c.dispose();
});

test('a composition with a part that has no kernel runs every part on the reference path', () => {
  /** A flow with no registered kernel: z + s. */
  const shift: Flow = {
    name: 'shift',
    dim: 2,
    variables: [],
    forward: (z) =>
      tf.tidy(() => ({ z: tf.add(z, 0.25) as tf.Tensor2D, logDetJ: tf.zeros([z.shape[0]]) as tf.Tensor1D })),
    dispose: () => undefined,
  };
  const p = randomPlanar(5, 8);
  const c = compose(p, shift);
  assert.ok(hasFusedOp(p) && !hasFusedOp(shift) && !hasFusedOp(c));
  const z = new Rng(2).normalTensor(64, 2);
  const viaPath = forwardOn(c, z, 'fused');
  const ref = c.forward(z);
  // bit for bit the reference (the fused planar op would differ in the last float32 bits)
  assert.deepEqual(
    [...viaPath.z.dataSync(), ...viaPath.logDetJ.dataSync()],
    [...ref.z.dataSync(), ...ref.logDetJ.dataSync()],
  );
  // which is a real check: the planar part alone on its fused op differs from its reference
  const fused = forwardOn(p, z, 'fused');
  const refP = p.forward(z);
  assert.notDeepEqual([...fused.logDetJ.dataSync()], [...refP.logDetJ.dataSync()]);
  tf.dispose([z, viaPath.z, viaPath.logDetJ, ref.z, ref.logDetJ, fused.z, fused.logDetJ, refP.z, refP.logDetJ]);
  p.dispose();
});

test('fused planar: backward equals float64 central finite differences', () => {
  const N = 3;
  const D = 2;
  const K = 5;
  const rng = new Rng(42);
  const z0 = Float64Array.from({ length: N * D }, () => rng.normal());
  const u = Float64Array.from({ length: K * D }, () => rng.normal());
  const w = Float64Array.from({ length: K * D }, () => rng.normal());
  const b = Float64Array.from({ length: K }, () => rng.normal());
  const dy = Float64Array.from({ length: N * (D + 1) }, () => rng.normal());
  // L(z0, u, w, b) = Σ dy ⊙ [z_K | logdet], evaluated in float64.
  const L = (): number => {
    const { zK, logDet } = planarStackForward(z0, N, D, K, u, w, b);
    return packedLoss(dy, zK, logDet, N, D);
  };
  const g = planarStackBackward(planarStackForward(z0, N, D, K, u, w, b).tape, dy);
  assertGradFD(L, 'z0', z0, g.dz0);
  assertGradFD(L, 'u', u, g.du);
  assertGradFD(L, 'w', w, g.dw);
  assertGradFD(L, 'b', b, g.db);
});

test('fused planar: training on the fused path stops on a StopSignal and leaks nothing', async () => {
  const f = new PlanarFlow({ K: 8, seed: 0 });
  const target = getTarget('U1');
  const stop = new StopSignal();
  const before = tf.memory().numTensors;
  const h = await train(f, target, {
    steps: 1000,
    batch: 64,
    chunkSize: 20,
    path: 'fused',
    lr: 1e-2,
    onChunk: (info) => {
      if (info.step >= 40) stop.stop('test stop');
    },
    stop,
  });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.equal(h.stepsDone, 40);
  assert.equal(h.stoppedReason, 'test stop');
  assert.equal(h.path, 'fused');
  assert.ok(h.loss.every(Number.isFinite));
  assert.ok(h.loss.slice(-5).reduce((a, b) => a + b) < h.loss.slice(0, 5).reduce((a, b) => a + b), 'loss went down');
  f.dispose();
});

test('fused ops: column slices, mean and log N(0, I) equal their tfjs counterparts (values and gradients)', () => {
  const x = new Rng(8).normalTensor(37, 3);
  const c = new Rng(9).normalTensor(37, 3);
  const base = new StandardNormal(3);
  const before = tf.memory().numTensors;
  const pairs: [string, (t: tf.Tensor2D) => tf.Scalar, (t: tf.Tensor2D) => tf.Scalar][] = [
    [
      'columns',
      (t) => tf.sum(tf.mul(columns(t, 1, 2), tf.slice(c, [0, 0], [37, 2]))),
      (t) => tf.sum(tf.mul(tf.slice(t, [0, 1], [37, 2]), tf.slice(c, [0, 0], [37, 2]))),
    ],
    ['mean', (t) => fusedMean(tf.mul(t, c)), (t) => tf.mean(tf.mul(t, c))],
    [
      'logN',
      (t) => tf.sum(tf.mul(fusedStandardNormalLogProb(t), tf.range(0, 37))),
      (t) => tf.sum(tf.mul(base.logProb(t), tf.range(0, 37))),
    ],
  ];
  for (const [name, fused, ref] of pairs) {
    const [a, ga] = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => fused(t as tf.Tensor2D))([x]);
      return [value.dataSync().slice(), grads[0]!.dataSync().slice()];
    });
    const [b, gb] = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => ref(t as tf.Tensor2D))([x]);
      return [value.dataSync().slice(), grads[0]!.dataSync().slice()];
    });
    assert.ok(relErr(a!, b!) < 1e-5, `${name} value`);
    assert.ok(relErr(ga!, gb!) < 1e-5, `${name} gradient`);
  }
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  tf.dispose([x, c]);
});

test("fused planar: the tape-free training step gives the tape path's loss and gradients", async () => {
  for (const name of ['U1', 'U3'] as const) {
    const target = getTarget(name);
    const f = randomPlanar(9, 2);
    const N = 257;
    const z0 = new Rng(3).normalTensor(N, 2);
    const beta = 0.4;
    assertTapeFreeStep(f, target, z0, beta, name);
    z0.dispose();
    f.dispose();
  }
  // Fused (tape-free) and reference training: same trajectory.
  const losses = [];
  for (const path of ['fused', 'reference'] as const) {
    const f = new PlanarFlow({ K: 4, seed: 4 });
    const h = await train(f, getTarget('U1'), { steps: 15, batch: 64, lr: 1e-2, seed: 1, path });
    losses.push(h.loss);
    f.dispose();
  }
  assert.ok(relErr(losses[0]!, losses[1]!) < 1e-3, `trajectories differ: ${relErr(losses[0]!, losses[1]!)}`);
});
