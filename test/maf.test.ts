// MADE, MAF and IAF (src/flows/made.ts, autoregressive.ts, maf.ts, iaf.ts): the autoregressive
// property, every log-det against a float64 finite-difference Jacobian, round trips, training by
// maximum likelihood (MAF) and reverse KL (IAF), leaks and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { Made, madeDegrees } from '../src/flows/made';
import { reversedOrders, type AutoregressiveFlow } from '../src/flows/autoregressive';
import { MaskedAutoregressiveFlow } from '../src/flows/maf';
import { InverseAutoregressiveFlow } from '../src/flows/iaf';
import { gaussianBaseline } from '../src/train/mle';
import { train } from '../src/train/train';
import { getTarget } from '../src/targets/energies';
import { jacobianFD, logAbsDet } from './oracle';
import { assertNoLeaksBothWays, assertShapeErrors, banana, fitHeldOut, maxAbs } from './flows-helpers';

/**
 * Central-difference step on a float32 map: float32 rounding (~6e-8 |f|) / h against the O(h²)
 * curvature error; the value test/coupling.test.ts measured (entries good to ~1e-4).
 */
const FD_STEP = 3e-3;
/** Tolerance on log|det J| from those FD entries (as in test/coupling.test.ts). */
const FD_LOGDET_TOL = 3e-3;
/** Relative round-trip tolerance |f⁻¹(f(x)) - x| / max(1, max|x|): float32, a few layers. */
const ROUNDTRIP_TOL = 2e-5;
/** Perturbation of every parameter: off the zero init (identity, log-det 0), still well-conditioned. */
const PERTURB = 0.25;

const FLOWS = {
  maf: (o: ConstructorParameters<typeof MaskedAutoregressiveFlow>[0]) => new MaskedAutoregressiveFlow(o),
  iaf: (o: ConstructorParameters<typeof InverseAutoregressiveFlow>[0]) => new InverseAutoregressiveFlow(o),
};

/** A perturbed flow of each kind in `dim` dimensions. */
function perturbedFlows(dim: number, K: number, seed: number): [string, AutoregressiveFlow][] {
  return Object.entries(FLOWS).map(([name, make]) => {
    const flow = make({ dim, K, hidden: 16, seed });
    flow.perturb(PERTURB, seed + 1);
    return [name, flow];
  });
}

test('degrees and orders: inputs by position in the order, hidden cycling 1..D-1, orders reversed', () => {
  assert.deepEqual(madeDegrees([2, 0, 1], 5), { input: [2, 3, 1], hidden: [1, 2, 1, 2, 1] });
  assert.deepEqual(madeDegrees([0], 2), { input: [1], hidden: [0, 0] });
  assert.deepEqual(reversedOrders(3, 3), [
    [0, 1, 2],
    [2, 1, 0],
    [0, 1, 2],
  ]);
});

test('MADE: ∂(μ, α)/∂x is strictly lower-triangular in the order (finite differences), every allowed entry used', () => {
  const order = [2, 0, 4, 1, 3];
  const D = order.length;
  const made = new Made(order, new Rng(3), { hidden: 12 });
  const rng = new Rng(4);
  tf.tidy(() => made.variables.forEach((v) => v.assign(tf.add(v, rng.normalTensor(1, v.size).reshape(v.shape)))));
  const at = (x: number[]): number[] =>
    tf.tidy(() => {
      const { mu, alpha } = made.apply(tf.tensor2d([x], [1, D]));
      return [...mu.dataSync(), ...alpha.dataSync()];
    });
  const x = Array.from({ length: D }, () => rng.normal());
  const h = 1e-2; // masked entries are exact zeros at any h
  /** float32 rounding of outputs of size ~1 (6e-8) over 2h: a used entry must stand above it. */
  const FD_NOISE = 1e-5;
  const pos = (d: number): number => order.indexOf(d);
  for (let j = 0; j < D; j++) {
    const xp = [...x];
    const xm = [...x];
    xp[j]! += h;
    xm[j]! -= h;
    const [fp, fm] = [at(xp), at(xm)];
    for (let out = 0; out < 2 * D; out++) {
      const d = out % D; // μ_d, then α_d
      const dij = (fp[out]! - fm[out]!) / (2 * h);
      if (pos(j) < pos(d)) assert.ok(Math.abs(dij) > FD_NOISE, `∂out${out}/∂x${j} = ${dij} should be used`);
      else assert.equal(dij, 0, `∂out${out}/∂x${j} = ${dij} must be 0 (x${j} is not before x${d})`);
    }
  }
  made.dispose();
});

test('both flows start at the identity with zero log-det, any D >= 1', () => {
  for (const dim of [1, 3]) {
    for (const make of Object.values(FLOWS)) {
      const flow = make({ dim, K: 2, hidden: 8, seed: 5 });
      const x = new Rng(dim).normalTensor(20, dim);
      const f = flow.forward(x);
      const g = flow.inverseWithLogDet(x);
      assert.equal(maxAbs(tf.sub(f.z, x)) + maxAbs(tf.sub(g.z, x)), 0);
      assert.equal(maxAbs(f.logDetJ) + maxAbs(g.logDetJ), 0);
      tf.dispose([x, f.z, f.logDetJ, g.z, g.logDetJ]);
      flow.dispose();
    }
  }
});

test('forward and inverse log-dets of MAF and IAF match float64 finite-difference Jacobians (D = 2, 5)', () => {
  for (const dim of [2, 5]) {
    for (const [name, flow] of perturbedFlows(dim, 3, 10 + dim)) {
      const rng = new Rng(dim + 100);
      let largest = 0; // the largest |log det| seen: the check must not pass on a volume-preserving map
      for (let trial = 0; trial < 3; trial++) {
        const x = Array.from({ length: dim }, () => rng.normal());
        for (const dir of ['forward', 'inverse'] as const) {
          const run = (p: number[]): { z: number[]; ld: number } =>
            tf.tidy(() => {
              const t = tf.tensor2d([p], [1, dim]);
              const o = dir === 'forward' ? flow.forward(t) : flow.inverseWithLogDet(t);
              return { z: Array.from(o.z.dataSync()), ld: o.logDetJ.dataSync()[0]! };
            });
          const expected = logAbsDet(jacobianFD((p) => run(p).z, x, FD_STEP));
          const got = run(x).ld;
          largest = Math.max(largest, Math.abs(expected));
          assert.ok(
            Math.abs(got - expected) < FD_LOGDET_TOL,
            `${name} D=${dim} ${dir} trial ${trial}: log-det ${got} vs finite differences ${expected}`,
          );
        }
      }
      assert.ok(largest > 0.1, `${name} D=${dim}: max |log det| ${largest}: the flow should scale`);
      flow.dispose();
    }
  }
});

test('round trips both ways: f⁻¹(f(z)) = z and f(f⁻¹(x)) = x, log-dets opposite (D = 1, 2, 5)', () => {
  for (const dim of [1, 2, 5]) {
    for (const [name, flow] of perturbedFlows(dim, 4, dim)) {
      const z = new Rng(dim).normalTensor(200, dim);
      const scale = Math.max(1, maxAbs(z));
      const fwd = flow.forward(z);
      const back = flow.inverseWithLogDet(fwd.z);
      const inv = flow.inverseWithLogDet(z);
      const there = flow.forward(inv.z);
      const zOnly = flow.inverse(fwd.z);
      for (const [a, b, what] of [
        [back.z, z, 'f⁻¹(f(z))'],
        [there.z, z, 'f(f⁻¹(x))'],
        [zOnly, z, 'inverse(f(z))'],
      ] as const) {
        const err = maxAbs(tf.sub(a, b));
        assert.ok(err < ROUNDTRIP_TOL * scale, `${name} D=${dim}: |${what} - z| = ${err}`);
      }
      assert.ok(maxAbs(tf.add(fwd.logDetJ, back.logDetJ)) < ROUNDTRIP_TOL * scale, `${name} D=${dim}: log-dets`);
      assert.ok(maxAbs(tf.add(inv.logDetJ, there.logDetJ)) < ROUNDTRIP_TOL * scale, `${name} D=${dim}: log-dets`);
      assert.ok(maxAbs(fwd.logDetJ) > 0.05, `${name} D=${dim}: the perturbed flow should scale`);
      tf.dispose([z, fwd.z, fwd.logDetJ, back.z, back.logDetJ, inv.z, inv.logDetJ, there.z, there.logDetJ, zOnly]);
      flow.dispose();
    }
  }
});

test('log-scale is bounded by scaleFactor per layer and coordinate', () => {
  for (const make of Object.values(FLOWS)) {
    const flow = make({ dim: 2, K: 2, hidden: 8, scaleFactor: 0.5 });
    flow.perturb(50, 2); // huge parameters: raw log-scales far beyond the bound
    const x = tf.mul(10, new Rng(0).normalTensor(100, 2)) as tf.Tensor2D;
    const { z, logDetJ } = flow.forward(x);
    assert.ok(maxAbs(logDetJ) <= 2 * 2 * 0.5 + 1e-5); // K · D · c
    assert.ok(tf.tidy(() => tf.all(tf.isFinite(z)).dataSync()[0]) === 1);
    tf.dispose([x, z, logDetJ]);
    flow.dispose();
  }
});

test('MAF by maximum likelihood on a curved 2-D data set: held-out log-likelihood improves', async () => {
  const data = banana(1000, 1);
  const heldOut = banana(500, 2);
  const base = gaussianBaseline(data, heldOut, 2);
  const flow = new MaskedAutoregressiveFlow({ dim: 2, K: 4, hidden: 32, seed: 0 });
  const { before, after } = await fitHeldOut(flow, data, heldOut, { steps: 200, batch: 128, lr: 5e-3, seed: 0 });
  assert.ok(after > before + 0.5, `held-out log-likelihood ${before} -> ${after}`);
  // measured: -2.91 -> -1.92 after 200 steps vs the Gaussian baseline's -2.86
  assert.ok(after > base.testLogLik + 0.3, `MAF ${after} vs Gaussian baseline ${base.testLogLik}`);
  flow.dispose();
});

test('IAF by reverse KL (train) on U1: the loss drops', async () => {
  const flow = new InverseAutoregressiveFlow({ dim: 2, K: 4, hidden: 16, seed: 0 });
  const tensors = tf.memory().numTensors;
  const h = await train(flow, getTarget('U1'), { steps: 300, batch: 128, lr: 5e-3, seed: 0 });
  assert.equal(tf.memory().numTensors, tensors, 'training leaks no tensors');
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const [first, last] = [mean(h.loss.slice(0, 20)), mean(h.loss.slice(-50))];
  assert.equal(h.stepsDone, 300);
  // measured: 1.90 -> -1.16 (reference path; ~3.5 s)
  assert.ok(last < first - 1, `loss ${first} -> ${last}`);
  flow.dispose();
});

test('no tensor leaks in forward, inverse and gradients; dispose frees everything', () => {
  const before = tf.memory().numTensors;
  for (const make of Object.values(FLOWS)) {
    const flow = make({ dim: 3, K: 2, hidden: 8, seed: 1 });
    const x = new Rng(0).normalTensor(10, 3);
    assertNoLeaksBothWays(flow, x, 2, [(v) => flow.inverseWithLogDet(v).logDetJ, (v) => flow.forward(v).logDetJ]);
    x.dispose();
    flow.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test('bad options name the parameter', () => {
  for (const make of Object.values(FLOWS)) {
    assert.throws(() => make({ dim: 0 }), /dim must be an integer >= 1, got 0/);
    assert.throws(() => make({ K: 0 }), /K must be an integer >= 1, got 0/);
    assert.throws(() => make({ hidden: 2.5 }), /hidden must be an integer >= 1, got 2.5/);
    assert.throws(() => make({ scaleFactor: 0 }), /scaleFactor must be > 0, got 0/);
    assert.throws(() => make({ seed: -1 }), /seed must be an integer in/);
    const flow = make({ dim: 2 });
    assertShapeErrors(flow);
    flow.dispose();
  }
  assert.throws(() => new Made([0, 0, 1], new Rng(0)), /order must be a permutation of 0..2, got \[0, 0, 1\]/);
});
