/**
 * The fused Sylvester flow (whole-flow op) and the stack op against the op-by-op reference, for
 * all three variants: values, log-dets, gradients w.r.t. z0 and every variable; float64 finite
 * differences of the stack kernel; no tensor leaks; stopping a fused training run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import '../src/kernels';
import type { Flow, FlowOutput } from '../src/flows/flow';
import { assertTapeFreeStep, fusedForward } from './flows-helpers';
import { sylvesterStackBackward, sylvesterStackForward, sylvesterStackOp } from '../src/kernels/sylvester';
import { orthogonalizeJS } from '../src/kernels/sylvester-qr';
import { unpackFlowOutput } from '../src/kernels/ops';
import { Rng } from '../src/core/random';
import { assertGradFD, packedLoss, relErr } from './oracle';
import { StopSignal } from '../src/core/stop';
import { boundedDiag, SYLVESTER_VARIANTS, SylvesterFlow, type SylvesterVariant } from '../src/flows/sylvester';
import { getTarget } from '../src/targets/energies';
import { train } from '../src/train/train';

/** A Sylvester flow with O(1) random parameters (R not near zero, b not zero). */
function randomSylvester(K: number, M: number, variant: SylvesterVariant, seed: number, D = 2): SylvesterFlow {
  const f = new SylvesterFlow({ K, M, dim: D, variant, seed, initScale: 0.7 });
  const rng = new Rng(seed + 100);
  f.b.assign(rng.uniformTensor([K, M], -1, 1) as tf.Tensor2D);
  f.rDiag.assign(rng.uniformTensor([K, M], -1.5, 1.5) as tf.Tensor2D);
  return f;
}

/** L = Σ cz ⊙ z_K + Σ cl ⊙ logdet: forward values and ∂L/∂z0, ∂L/∂(each variable). */
function valuesAndGrads(flow: Flow, z0: tf.Tensor2D, fwd: (z: tf.Tensor2D) => FlowOutput, seed: number) {
  const N = z0.shape[0];
  const rng = new Rng(seed);
  const cz = rng.normalTensor(N, flow.dim);
  const cl = tf.tidy(() => rng.normalTensor(N, 1).reshape([N]));
  const loss = (z: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => {
      const out = fwd(z);
      return tf.add(tf.sum(tf.mul(out.z, cz)), tf.sum(tf.mul(out.logDetJ, cl))) as tf.Scalar;
    });
  const out = fwd(z0);
  const z = out.z.dataSync().slice();
  const ld = out.logDetJ.dataSync().slice();
  tf.dispose([out.z, out.logDetJ]);
  const [gz] = tf.grads((x: tf.Tensor) => loss(x as tf.Tensor2D))([z0]);
  const { value, grads } = tf.variableGrads(() => loss(z0), flow.variables);
  const gv = flow.variables.map((v) => grads[v.name]!.dataSync().slice());
  const res = { z, ld, gz: gz!.dataSync().slice(), gv };
  tf.dispose([gz!, value, cz, cl, ...Object.values(grads)]);
  return res;
}

function compare(
  flow: Flow,
  N: number,
  seed: number,
  fwdA: (z: tf.Tensor2D) => FlowOutput,
  fwdB: (z: tf.Tensor2D) => FlowOutput,
  tol = 5e-4,
): void {
  const z0 = tf.tidy(() => new Rng(seed).normalTensor(N, flow.dim).mul(1.5) as tf.Tensor2D);
  const before = tf.memory().numTensors;
  const ref = valuesAndGrads(flow, z0, fwdB, seed + 1);
  const fused = valuesAndGrads(flow, z0, fwdA, seed + 1);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  const label = `${flow.name} N=${N}`;
  assert.ok(relErr(fused.z, ref.z) < tol, `${label}: z_K ${relErr(fused.z, ref.z)}`);
  assert.ok(relErr(fused.ld, ref.ld) < tol, `${label}: logdet ${relErr(fused.ld, ref.ld)}`);
  assert.ok(relErr(fused.gz, ref.gz) < tol, `${label}: dz0 ${relErr(fused.gz, ref.gz)}`);
  flow.variables.forEach((v, i) => {
    const e = relErr(fused.gv[i]!, ref.gv[i]!);
    assert.ok(e < tol, `${label}: grad of variable ${i} (${v.shape}) ${e}`);
  });
  z0.dispose();
}

test('fused Sylvester: whole-flow op equals the reference for every variant (K 1..64, N 1..4096)', () => {
  const cases: [number, number, number][] = [
    [1, 2, 1],
    [2, 1, 64],
    [5, 2, 300],
    [16, 2, 512],
    [64, 2, 64],
    [3, 2, 4096],
  ];
  for (const variant of SYLVESTER_VARIANTS) {
    cases.forEach(([K, M, N], i) => {
      const f = randomSylvester(K, M, variant, 10 + i);
      compare(
        f,
        N,
        20 + i,
        (z) => fusedForward(f, z),
        (z) => f.forward(z),
      );
      f.dispose();
    });
  }
});

test('fused Sylvester: D = 3 (M = 1, 2, 3) and the default initialisation', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    for (const M of [1, 2, 3]) {
      const f = randomSylvester(4, M, variant, M, 3);
      compare(
        f,
        40,
        5,
        (z) => fusedForward(f, z),
        (z) => f.forward(z),
      );
      f.dispose();
    }
    const f0 = new SylvesterFlow({ K: 8, M: 2, variant, seed: 3 });
    compare(
      f0,
      100,
      6,
      (z) => fusedForward(f0, z),
      (z) => f0.forward(z),
    );
    f0.dispose();
  }
});

test('fused Sylvester: the stack op given A, C, diag (built by tfjs ops) equals the reference', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    const f = randomSylvester(6, 2, variant, 7);
    const viaStack = (z: tf.Tensor2D): FlowOutput =>
      tf.tidy(() => {
        const Q = f.Q();
        const { R, RTilde } = f.R();
        const A = tf.matMul(Q, RTilde, false, true) as tf.Tensor3D;
        const C = tf.matMul(R, Q, true, true) as tf.Tensor3D;
        const diag = tf.mul(boundedDiag(f.rDiag), boundedDiag(f.rTildeDiag)) as tf.Tensor2D;
        const { z: zK, logDetJ } = unpackFlowOutput(sylvesterStackOp(z, A, C, diag, f.b), f.dim);
        return { z: zK, logDetJ };
      });
    compare(f, 200, 8, viaStack, (z) => f.forward(z));
    f.dispose();
  }
});

test('fused Sylvester: stack backward equals float64 central finite differences', () => {
  // D = 3 takes the general loops, D = M = 2 the unrolled ones.
  for (const [N, D, K, M] of [
    [3, 3, 4, 2],
    [4, 2, 3, 2],
  ] as const)
    fdCheck(N, D, K, M);
});

function fdCheck(N: number, D: number, K: number, M: number): void {
  const rng = new Rng(5 + D);
  const r = (n: number, s = 1): Float64Array => Float64Array.from({ length: n }, () => s * rng.normal());
  const z0 = r(N * D);
  const A = r(K * D * M);
  const C = r(K * M * D, 0.5);
  const diag = Float64Array.from({ length: K * M }, () => 1.8 * rng.uniform() - 0.9);
  const b = r(K * M);
  const dy = r(N * (D + 1));
  const L = (): number => {
    const { zK, logDet } = sylvesterStackForward(z0, N, D, K, M, A, C, diag, b);
    return packedLoss(dy, zK, logDet, N, D);
  };
  const g = sylvesterStackBackward(sylvesterStackForward(z0, N, D, K, M, A, C, diag, b).tape, dy);
  assertGradFD(L, 'z0', z0, g.dz0);
  assertGradFD(L, 'A', A, g.dA);
  assertGradFD(L, 'C', C, g.dC);
  assertGradFD(L, 'diag', diag, g.dDiag);
  assertGradFD(L, 'b', b, g.db);
}

test('fused Sylvester: orthogonal Q is orthonormal and lastOrthoSteps is set', () => {
  const f = randomSylvester(5, 2, 'orthogonal', 1);
  const z = new Rng(1).normalTensor(10, 2);
  const out = fusedForward(f, z);
  assert.ok(f.lastOrthoSteps > 0 && f.lastOrthoSteps < 100, `steps ${f.lastOrthoSteps}`);
  const { Q } = orthogonalizeJS(f.qParam!.dataSync(), 5, 2, 2);
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let d = 0; d < 2; d++) s += Q[(k * 2 + d) * 2 + i]! * Q[(k * 2 + d) * 2 + j]!;
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-6, `QᵀQ[${i},${j}] = ${s} at layer ${k}`);
      }
    }
  }
  tf.dispose([z, out.z, out.logDetJ]);
  f.dispose();
});

test('fused Sylvester: a fused training run stops on a StopSignal and leaks nothing', async () => {
  const f = new SylvesterFlow({ K: 4, M: 2, seed: 0 });
  const stop = new StopSignal();
  const before = tf.memory().numTensors;
  const h = await train(f, getTarget('U1'), {
    steps: 500,
    batch: 64,
    chunkSize: 10,
    lr: 1e-2,
    path: 'fused',
    stop,
    onChunk: (info) => {
      if (info.step >= 30) stop.stop('enough');
    },
  });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.equal(h.stepsDone, 30);
  assert.equal(h.stoppedReason, 'enough');
  assert.ok(h.loss.every(Number.isFinite));
  f.dispose();
});

test("fused Sylvester: the tape-free training step gives the tape path's loss and gradients", () => {
  const target = getTarget('U1');
  for (const variant of SYLVESTER_VARIANTS) {
    const f = randomSylvester(5, 2, variant, 3);
    const N = 300;
    const z0 = new Rng(2).normalTensor(N, 2);
    const beta = 0.7;
    assertTapeFreeStep(f, target, z0, beta, variant);
    z0.dispose();
    f.dispose();
  }
});

test('fused Sylvester: fused and reference training follow the same trajectory', async () => {
  const losses = [];
  for (const path of ['fused', 'reference'] as const) {
    const f = new SylvesterFlow({ K: 3, M: 2, seed: 4 });
    const h = await train(f, getTarget('U1'), { steps: 15, batch: 64, lr: 1e-2, seed: 1, path });
    losses.push(h.loss);
    f.dispose();
  }
  assert.ok(relErr(losses[0]!, losses[1]!) < 1e-3, `trajectories differ: ${relErr(losses[0]!, losses[1]!)}`);
});
