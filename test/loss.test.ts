import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  annealBeta,
  reverseKL,
  reverseKLTerms,
  freeEnergyTerms,
  PlanarFlow,
  getTarget,
  asTarget,
  Rng,
  LOG_2PI,
} from '../src';
import '../src/kernels';
import { randomizeFlow } from './flows-helpers';
import { U } from './oracle';

test('annealing: β_t = min(1, 0.01 + t/T)', () => {
  assert.equal(annealBeta(0, 100), 0.01);
  assert.ok(Math.abs(annealBeta(50, 100) - 0.51) < 1e-12);
  assert.equal(annealBeta(99, 100), 1);
  assert.equal(annealBeta(5000, 100), 1);
  assert.throws(() => annealBeta(1, 0), /annealSteps must be > 0/);
});

test('free energy is per sample [N] (no [N, N] broadcast) and equals the formula', () => {
  const flow = new PlanarFlow({ K: 3, seed: 1 });
  randomizeFlow(flow, 2, 0.7);
  const target = getTarget('U1');
  const z0 = new Rng(3).normalTensor(7, 2);
  const { logQ, logP, zK } = freeEnergyTerms(flow, target, z0, 'reference');
  assert.deepEqual(logQ.shape, [7]);
  assert.deepEqual(logP.shape, [7]);
  const out = flow.forward(z0);
  const z0a = z0.arraySync();
  const ld = out.logDetJ.arraySync();
  const zk = zK.arraySync();
  const want = z0a.map((z, i) => -0.5 * (z[0]! ** 2 + z[1]! ** 2) - LOG_2PI - ld[i]! + U.U1(zk[i]![0]!, zk[i]![1]!));
  const beta = 0.3;
  const wantBeta = z0a.map(
    (z, i) => -0.5 * (z[0]! ** 2 + z[1]! ** 2) - LOG_2PI - ld[i]! + beta * U.U1(zk[i]![0]!, zk[i]![1]!),
  );
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(reverseKL(flow, target, z0, 1, 'reference').dataSync()[0]! - mean(want)) < 1e-4);
  assert.ok(Math.abs(reverseKL(flow, target, z0, beta, 'reference').dataSync()[0]! - mean(wantBeta)) < 1e-4);
  // reverseKLTerms (what train minimises) on both paths: the same F and mean log p̃ = -mean U.
  const wantLogP = mean(zk.map((z) => -U.U1(z[0]!, z[1]!)));
  for (const path of ['reference', 'fused'] as const) {
    const { loss, meanLogP } = reverseKLTerms(flow, target, z0, beta, path);
    assert.ok(Math.abs(loss.dataSync()[0]! - mean(wantBeta)) < 1e-4, `${path}: loss`);
    assert.ok(Math.abs(meanLogP.dataSync()[0]! - wantLogP) < 1e-4, `${path}: mean log p̃`);
    tf.dispose([loss, meanLogP]);
  }
  flow.dispose();
});

test('F ≥ -log Z on average: identity flow and a normalised Gaussian target give F = 0 exactly', () => {
  const flow = new PlanarFlow({ K: 2, initScale: 0 });
  const gauss = asTarget((z) => tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), LOG_2PI) as tf.Tensor1D, 2);
  const f = reverseKL(flow, gauss, new Rng(1).normalTensor(100, 2), 1, 'reference').dataSync()[0]!;
  assert.ok(Math.abs(f) < 1e-5, `F = ${f}`);
  flow.dispose();
});

test('loss rejects mismatched targets', () => {
  const flow = new PlanarFlow({ dim: 3 });
  assert.throws(
    () => reverseKL(flow, getTarget('U1'), tf.zeros([2, 3]) as tf.Tensor2D),
    /target has dim 2 but the flow has dim 3/,
  );
  const bad = asTarget((z) => tf.sum(z) as unknown as tf.Tensor1D, 3);
  assert.throws(
    () => reverseKL(flow, bad, tf.zeros([2, 3]) as tf.Tensor2D, 1, 'reference'),
    /target.logProb must return shape \[2\]/,
  );
  assert.throws(
    () => reverseKL(flow, getTarget('U1'), tf.zeros([2, 3]) as tf.Tensor2D, NaN),
    /beta must be a finite number/,
  );
  flow.dispose();
});
