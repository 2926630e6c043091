/**
 * The library's error paths (issue 10): every bad input fails early with a message that names
 * it, nothing is computed from non-finite values in silence, and nothing leaks on a throw.
 * Test names start with the item number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  tf,
  Rng,
  PlanarFlow,
  SylvesterFlow,
  getTarget,
  train,
  evaluate,
  sampleFlow,
  quadratureLogZ,
  logProbOnGrid,
  orthogonalize,
  householderQ,
  gridPosteriorMoments,
  logisticPosterior,
  forwardOn,
  hasFusedOp,
  readCSVColumns,
  checkColumnsForFitting,
  checkPositiveInt,
  makeFlow,
  M_MARGIN,
  type LogProbFn,
  type Target,
} from '../src';
import '../src/kernels';
import { householderJS, orthogonalizeJS } from '../src/kernels/sylvester-qr';
import type { Flow } from '../src/flows/flow';

/** The flow's registered fused op (asserted to exist, so a test never falls back in silence). */
function fusedForward(f: Flow, z: tf.Tensor2D): { z: tf.Tensor2D; logDetJ: tf.Tensor1D } {
  assert.ok(hasFusedOp(f), `${f.name} has a fused op`);
  return forwardOn(f, z, 'fused');
}

/** Set a planar flow's parameters: one row per layer. */
function setPlanar(f: PlanarFlow, u: number[][], w: number[][], b: number[]): void {
  f.u.assign(tf.tensor2d(u));
  f.w.assign(tf.tensor2d(w));
  f.b.assign(tf.tensor1d(b));
}

test('1: planar reference path keeps wᵀû > -1 in float32 when |u| >> 1 (as the fused path)', () => {
  // At z = 0 with b = 0, h' = 1 and log|det J| = log(1 + ψ), ψ = m(wᵀu) = -1 + softplus(wᵀu) + M_MARGIN
  // (float64 oracle: softplus(-1e4) = softplus(-1e5) = 0 to double precision, so log(M_MARGIN)).
  const expected = Math.log(M_MARGIN);
  for (const [w, u] of [
    [
      [1, 0],
      [-1e4, 0],
    ],
    [
      [100, 0],
      [-1e3, 0],
    ],
  ] as const) {
    const f = new PlanarFlow({ K: 1 });
    setPlanar(f, [[...u]], [[...w]], [0]);
    const uh = f.uHat();
    const wu = w[0] * uh.dataSync()[0]! + w[1] * uh.dataSync()[1]!;
    uh.dispose();
    assert.ok(wu > -1, `w=${w}, u=${u}: wᵀû = ${wu} must be > -1`);
    const z = tf.tensor2d([[0, 0]]);
    const ref = f.forward(z);
    const fused = fusedForward(f, z);
    const ld = ref.logDetJ.dataSync()[0]!;
    assert.ok(Math.abs(ld - expected) < 1e-3, `w=${w}, u=${u}: reference log-det ${ld}, expected ${expected}`);
    assert.ok(Math.abs(fused.logDetJ.dataSync()[0]! - expected) < 1e-3);
    // and the inverse still inverts
    const y = tf.tensor2d([[0.3, -0.2]]);
    const back = f.inverse(f.forward(y).z);
    assert.ok(Math.abs(back.dataSync()[0]! - 0.3) < 1e-3, `inverse ${back.dataSync()}`);
    tf.dispose([z, ref.z, ref.logDetJ, fused.z, fused.logDetJ, y, back]);
    f.dispose();
  }
});

test('3: lrMinFraction must be in [0, 1]', async () => {
  const flow = new PlanarFlow({ K: 1 });
  const t = getTarget('U1');
  await assert.rejects(
    train(flow, t, { steps: 1, lrSchedule: 'cosine', lrMinFraction: -1 }),
    /lrMinFraction must be in \[0, 1\], got -1/,
  );
  await assert.rejects(
    train(flow, t, { steps: 1, lrSchedule: 'cosine', lrMinFraction: 5 }),
    /lrMinFraction must be in \[0, 1\], got 5/,
  );
  const h = await train(flow, t, { steps: 2, batch: 8, lrSchedule: 'cosine', lrMinFraction: 0 });
  assert.ok(h.lr.every((x) => x >= 0));
  flow.dispose();
});

test('4: evaluate and quadratureLogZ reject a target whose output is not [N]', () => {
  const flow = new PlanarFlow({ K: 1 });
  const u1 = getTarget('U1').logProb;
  // The talk code's bug: an [N, 1] term broadcast against an [N] one gives [N, N].
  const broadcast: LogProbFn = (z) => tf.add(tf.reshape(u1(z), [-1, 1]), u1(z)) as unknown as tf.Tensor1D;
  const before = tf.memory().numTensors;
  assert.throws(
    () => evaluate(flow, { name: 'bad', dim: 2, logProb: broadcast }, { samples: 50 }),
    /target.logProb must return shape \[50\] \(one value per row\), got \[50, 50\]/,
  );
  const grid = { xlim: [-4, 4] as [number, number], ylim: [-4, 4] as [number, number], nx: 8, ny: 8 };
  assert.throws(
    () => quadratureLogZ(broadcast, grid),
    /must return shape \[64\] \(one value per row\), got \[64, 64\]/,
  );
  assert.throws(
    () => logProbOnGrid((z) => tf.reshape(u1(z), [-1, 1]) as unknown as tf.Tensor1D, grid),
    /got \[64, 1\]/,
  );
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  flow.dispose();
});

test('5: evaluate counts the non-finite importance weights it drops', () => {
  const flow = new PlanarFlow({ K: 2, seed: 3 });
  const u1 = getTarget('U1');
  // NaN on the half plane z1 < 0
  const halfNaN: Target = {
    name: 'U1 with NaN',
    dim: 2,
    logZ: u1.logZ,
    logProb: (z) =>
      tf.tidy(() =>
        tf.where(tf.less(tf.slice(z, [0, 0], [-1, 1]).reshape([-1]), 0), tf.fill([z.shape[0]], NaN), u1.logProb(z)),
      ) as tf.Tensor1D,
  };
  const n = 4000;
  const d = evaluate(flow, halfNaN, { samples: n, seed: 9 });
  // oracle: the same samples, counted by hand
  const s = sampleFlow(flow, n, { seed: 9 });
  let left = 0;
  for (let i = 0; i < n; i++) if (s.z[2 * i]! < 0) left++;
  assert.ok(left > n / 4, `the test needs samples on both sides, got ${left}`);
  assert.equal(d.droppedWeights, left);
  assert.ok(Math.abs(d.nonFinite - left / n) < 1e-12);
  assert.equal(evaluate(flow, u1, { samples: 500 }).droppedWeights, 0);
  flow.dispose();
});

test('6: seeds must be integers in [0, 2^32 - 1], never floored or wrapped', async () => {
  assert.throws(() => new Rng(0.5), /seed must be an integer in \[0, 4294967295\], got 0.5/);
  assert.throws(() => new Rng(2 ** 32), /got 4294967296/);
  assert.throws(() => new Rng(-1), /got -1/);
  assert.throws(() => new PlanarFlow({ seed: 0.5 }), /seed must be an integer/);
  assert.throws(() => new SylvesterFlow({ seed: 1.5 }), /seed must be an integer/);
  const flow = new PlanarFlow({ K: 1 });
  await assert.rejects(train(flow, getTarget('U1'), { steps: 1, seed: 0.5 }), /seed must be an integer/);
  assert.throws(() => evaluate(flow, getTarget('U1'), { samples: 10, seed: 2 ** 32 }), /seed must be an integer/);
  flow.dispose();
  // the whole range is usable and distinct
  assert.notEqual(new Rng(2 ** 32 - 1).uniform(), new Rng(0).uniform());
});

test('8: readCSVColumns rejects a column asked for twice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nf-err-'));
  const file = join(dir, 'a.csv');
  writeFileSync(file, 'a,b\n1,2\n3,4\n');
  assert.throws(() => readCSVColumns(file, ['a', 'a']), /columns names "a" twice/);
});

test('9: checkColumnsForFitting names the file and the rows for tiny or constant data', () => {
  assert.throws(
    () => checkColumnsForFitting(Float32Array.from([1, 2]), ['a', 'b'], 'tiny.csv', 4),
    /tiny.csv has 1 data row with values in a, b; at least 4 rows are needed/,
  );
  assert.throws(
    () => checkColumnsForFitting(Float32Array.from([1, 2, 1, 3]), ['a', 'b'], 'two.csv'),
    /two.csv: column "a" is constant \(every one of its 2 rows is 1\)/,
  );
  assert.throws(
    () => checkColumnsForFitting(Float32Array.from([1, 2, Infinity, 3]), ['a', 'b'], 'big.csv'),
    /big.csv: column "a", data row 2, is too large for float32/,
  );
  checkColumnsForFitting(Float32Array.from([1, 2, 3, 5]), ['a', 'b'], 'ok.csv');
});

test('10: orthogonalisation that cannot converge, or a zero Q_raw, is an error (both paths)', () => {
  // rank 1: both columns equal
  const rank1 = tf.tensor3d([
    [
      [1, 1],
      [2, 2],
    ],
  ]);
  assert.throws(
    () => orthogonalize(rank1),
    /Sylvester layer 0: orthogonalisation did not converge in 100 steps \(‖QᵀQ - I‖_F = 1\.00 > 1e-6\)/,
  );
  assert.throws(() => orthogonalizeJS(rank1.dataSync(), 1, 2, 2), /did not converge in 100 steps/);
  const zero = tf.zeros([2, 2, 2]) as tf.Tensor3D;
  assert.throws(() => orthogonalize(zero), /Sylvester layer 0: Q_raw is zero/);
  assert.throws(() => orthogonalizeJS(new Float64Array(8), 2, 2, 2), /Q_raw is zero/);
  // a whole flow with a zero Q_raw: the error, on both paths, and nothing leaks
  const f = new SylvesterFlow({ K: 2, M: 2, variant: 'orthogonal' });
  f.qParam!.assign(tf.zerosLike(f.qParam!));
  const z = tf.tensor2d([[0.1, 0.2]]);
  const before = tf.memory().numTensors;
  assert.throws(() => f.forward(z), /Q_raw is zero/);
  assert.throws(() => fusedForward(f, z), /Q_raw is zero/);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([rank1, zero, z]);
  f.dispose();
});

test('10: a Householder v = 0 is no reflection (H = I), not NaN (both paths)', () => {
  // v: [K=1, H=2, D=2]; the first vector is zero, so Q = H(v2) = I - 2 v2 v2ᵀ/‖v2‖²
  const v2 = [3, 4];
  const n2 = 25;
  const expected = [1 - (2 * 9) / n2, -(2 * 12) / n2, -(2 * 12) / n2, 1 - (2 * 16) / n2];
  const v = tf.tensor3d([[[0, 0], v2]]);
  const Q = householderQ(v, 2);
  const js = householderJS(v.dataSync(), 1, 2, 2, 2).Q;
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(Q.dataSync()[i]! - expected[i]!) < 1e-6, `reference Q ${Q.dataSync()}`);
    assert.ok(Math.abs(js[i]! - expected[i]!) < 1e-12, `fused Q ${js}`);
  }
  const f = new SylvesterFlow({ K: 1, M: 2, variant: 'householder', initScale: 0.5 });
  f.qParam!.assign(tf.zerosLike(f.qParam!));
  const z = tf.tensor2d([
    [0.1, 0.2],
    [-1, 0.5],
  ]);
  for (const out of [f.forward(z), fusedForward(f, z)]) {
    assert.ok([...out.logDetJ.dataSync(), ...out.z.dataSync()].every(Number.isFinite));
    tf.dispose([out.z, out.logDetJ]);
  }
  // and gradients are finite
  const { grads } = tf.variableGrads(() => tf.sum(fusedForward(f, z).logDetJ) as tf.Scalar, f.variables);
  for (const g of Object.values(grads)) assert.ok([...g.dataSync()].every(Number.isFinite));
  tf.dispose([v, Q, z, grads]);
  f.dispose();
});

test('10: a planar layer with w = 0 is the translation z + u tanh(b) with log-det 0 (both paths)', () => {
  const f = new PlanarFlow({ K: 1 });
  setPlanar(f, [[0.5, -1]], [[0, 0]], [0.3]);
  const z = tf.tensor2d([
    [0.1, 0.2],
    [-1, 2],
  ]);
  const t = Math.tanh(0.3);
  for (const out of [f.forward(z), fusedForward(f, z)]) {
    const zs = out.z.dataSync();
    assert.ok(Math.abs(zs[0]! - (0.1 + 0.5 * t)) < 1e-6 && Math.abs(zs[3]! - (2 - t)) < 1e-6, `z ${zs}`);
    assert.deepEqual([...out.logDetJ.dataSync()], [0, 0]);
    tf.dispose([out.z, out.logDetJ]);
  }
  for (const fwd of [(x: tf.Tensor2D) => f.forward(x), (x: tf.Tensor2D) => fusedForward(f, x)]) {
    const { grads } = tf.variableGrads(
      () => tf.add(tf.sum(fwd(z).z), tf.sum(fwd(z).logDetJ)) as tf.Scalar,
      f.variables,
    );
    for (const g of Object.values(grads)) assert.ok([...g.dataSync()].every(Number.isFinite), 'finite gradients');
    tf.dispose(grads);
  }
  const back = f.inverse(tf.tensor2d([[0.1 + 0.5 * t, 0.2 - t]]));
  assert.ok(Math.abs(back.dataSync()[0]! - 0.1) < 1e-6 && Math.abs(back.dataSync()[1]! - 0.2) < 1e-6);
  tf.dispose([z, back]);
  f.dispose();
});

test('11: train() and evaluate() take a plain function as the target; null is a clear error', async () => {
  const flow = new PlanarFlow({ K: 2 });
  const u1 = getTarget('U1');
  const h = await train(flow, u1.logProb, { steps: 3, batch: 16 });
  assert.equal(h.stepsDone, 3);
  assert.ok(Number.isFinite(evaluate(flow, u1.logProb, { samples: 100, logZTrue: 1.8775 }).klGap!));
  await assert.rejects(
    train(flow, null as never),
    /target must be a function z -> log p̃\(z\) or an object \{ name, dim, logProb\(z\) \}, got null/,
  );
  await assert.rejects(train(flow, {} as never), /got an object without logProb/);
  await assert.rejects(train(null as never, u1), /flow must be a flow/);
  assert.throws(() => evaluate(flow, null as never), /target must be a function/);
  flow.dispose();
});

test('12: a train() that throws leaks no tensors (reference and fused paths)', async () => {
  const u1 = getTarget('U1').logProb;
  for (const path of ['reference', 'fused'] as const) {
    const flow = new PlanarFlow({ K: 8 });
    let calls = 0;
    const throwing: Target = {
      name: 'throws',
      dim: 2,
      logProb: (z) => {
        if (++calls > 3) throw new Error('target failed');
        return u1(z);
      },
    };
    const before = tf.memory().numTensors;
    await assert.rejects(train(flow, throwing, { steps: 50, batch: 16, path }), /target failed/);
    assert.equal(tf.memory().numTensors, before, `${path}: leaked ${tf.memory().numTensors - before} tensors`);
    const wrongShape: Target = {
      name: 'wrong',
      dim: 2,
      logProb: (z) => tf.zeros([z.shape[0], 3]) as unknown as tf.Tensor1D,
    };
    await assert.rejects(train(flow, wrongShape, { steps: 5, batch: 16, path }), /must return shape \[16\]/);
    assert.equal(tf.memory().numTensors, before, `${path} (wrong shape): leaked ${tf.memory().numTensors - before}`);
    // the engine still trains afterwards
    assert.equal((await train(flow, u1, { steps: 2, batch: 16, path })).stepsDone, 2);
    flow.dispose();
  }
});

test('13: gridPosteriorMoments checks the grid for float64 targets too', () => {
  const post = logisticPosterior({ X: [[1], [2], [-1], [-2]], y: [1, 1, 0, 1] });
  const ok = gridPosteriorMoments(post, { xlim: [-10, 10], ylim: [-10, 10], nx: 20, ny: 20 });
  assert.ok(Number.isFinite(ok.logZ));
  assert.throws(
    () => gridPosteriorMoments(post, { xlim: [1, -1], ylim: [-10, 10], nx: 20, ny: 20 }),
    /xlim must be \[lo, hi\] with finite lo < hi, got \[1,-1\]/,
  );
  assert.throws(
    () => gridPosteriorMoments(post, { xlim: [-1, 1], ylim: [-10, 10], nx: 2.5, ny: 20 }),
    /nx must be an integer >= 1, got 2.5/,
  );
  post.dispose();
});

test('14: evaluate rejects path "fast"; a number given as a string is reported as a string', () => {
  const flow = new PlanarFlow({ K: 1 });
  assert.throws(
    () => evaluate(flow, getTarget('U1'), { samples: 10, path: 'fast' as never }),
    /path must be one of fused, reference; got "fast"/,
  );
  assert.throws(() => makeFlow({ flow: 'planar', K: '3' as never }), /K must be an integer >= 1, got "3" \(a string\)/);
  assert.throws(() => checkPositiveInt('steps', '10'), /got "10" \(a string\)/);
  flow.dispose();
});
