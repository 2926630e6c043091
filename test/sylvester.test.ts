import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, SylvesterFlow, SYLVESTER_VARIANTS, PlanarFlow, Rng, M_MARGIN } from '../src';
import { jacobianFD, logAbsDet, sylvesterMap } from './oracle';
import { randomizeFlow, sylvesterParams } from './flows-helpers';

test('sylvester: QᵀQ = I to 1e-5 for every variant', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    for (const [D, M] of [
      [2, 2],
      [2, 1],
      [5, 3],
      [6, 6],
    ] as const) {
      const f = new SylvesterFlow({ dim: D, M, K: 3, variant, seed: 1 });
      randomizeFlow(f, 2, 1);
      const Q = f.Q();
      const err = tf.tidy(
        () => tf.max(tf.abs(tf.sub(tf.matMul(Q, Q, true, false), tf.eye(M).expandDims(0)))).dataSync()[0]!,
      );
      assert.ok(err < 1e-5, `${variant} D=${D} M=${M}: max|QᵀQ - I| = ${err}`);
      Q.dispose();
      f.dispose();
    }
  }
});

test('sylvester: forward equals the float64 oracle and log|det J| equals the FD Jacobian', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    for (const [D, M, K] of [
      [2, 2, 1],
      [2, 1, 4],
      [4, 3, 3],
      [3, 3, 2],
    ] as const) {
      const f = new SylvesterFlow({ dim: D, M, K, variant, seed: 3 });
      randomizeFlow(f, 11, 0.9);
      const p = sylvesterParams(f);
      const map = sylvesterMap(p.Q, p.R, p.RT, p.b);
      const rng = new Rng(4);
      const xs = Array.from({ length: 5 }, () => Array.from({ length: D }, () => rng.normal() * 1.5));
      const out = f.forward(tf.tensor2d(xs));
      const zs = out.z.arraySync();
      const ld = out.logDetJ.arraySync();
      xs.forEach((x, i) => {
        map(x).forEach((v, d) => assert.ok(Math.abs(zs[i]![d]! - v) < 1e-4 * Math.max(1, Math.abs(v)), `${variant} z`));
        const want = logAbsDet(jacobianFD(map, x));
        assert.ok(
          Math.abs(ld[i]! - want) < 2e-4 * Math.max(1, Math.abs(want)),
          `${variant} D=${D} M=${M}: ${ld[i]} vs ${want}`,
        );
      });
      tf.dispose([out.z, out.logDetJ]);
      f.dispose();
    }
  }
});

test("sylvester: r_ii r̃_ii ∈ (-1, 1) so every factor 1 + r r̃ h' > 0, even for huge raw diagonals", () => {
  const f = new SylvesterFlow({ K: 2, M: 2 });
  randomizeFlow(f, 5, 50);
  const { R, RTilde } = f.R();
  const prod = tf.mul(tf.linalg.bandPart(R, 0, 0).sum(2), tf.linalg.bandPart(RTilde, 0, 0).sum(2)).dataSync();
  prod.forEach((v) => assert.ok(v > -1 && v < 1, `r r̃ = ${v}`));
  tf.dispose([R, RTilde]);
  f.dispose();
});

test('sylvester: R and R̃ are upper triangular and share no entry', () => {
  const f = new SylvesterFlow({ dim: 4, M: 3, K: 1 });
  randomizeFlow(f, 6, 1);
  const { R, RTilde } = f.R();
  const r = R.arraySync()[0]!;
  const rt = RTilde.arraySync()[0]!;
  const raw = f.rRaw.arraySync()[0]!;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < i; j++) {
      assert.ok(r[i]![j] === 0 && rt[i]![j] === 0, 'lower triangles must be zero');
    }
    for (let j = i + 1; j < 3; j++) {
      assert.equal(r[i]![j], raw[i]![j]); // R: upper triangle of raw
      assert.equal(rt[i]![j], raw[j]![i]); // R̃: transposed lower triangle of raw
    }
  }
  tf.dispose([R, RTilde]);
  f.dispose();
});

test('sylvester with M = 1 is exactly a planar flow (w = Q r̃, u = Q r)', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    const K = 3;
    const s = new SylvesterFlow({ dim: 2, M: 1, K, variant, seed: 8 });
    randomizeFlow(s, 12, 0.7);
    const p = sylvesterParams(s);
    // planar parameters: w = Q r̃, û = Q r, and u chosen so that planar's reparameterisation gives û
    const w = p.Q.map((q, k) => q.map((row) => row[0]! * p.RT[k]![0]![0]!));
    const uHat = p.Q.map((q, k) => q.map((row) => row[0]! * p.R[k]![0]![0]!));
    const u = w.map((wk, k) => {
      const n2 = wk[0]! ** 2 + wk[1]! ** 2;
      const wuHat = wk[0]! * uHat[k]![0]! + wk[1]! * uHat[k]![1]!;
      const x = Math.log(Math.expm1(1 - M_MARGIN + wuHat)); // m(x) = wᵀû ⇔ softplus(x) = 1 - margin + wᵀû
      return uHat[k]!.map((v, d) => v - (wuHat * wk[d]!) / n2 + (x * wk[d]!) / n2);
    });
    const pl = new PlanarFlow({ dim: 2, K, initScale: 0 });
    pl.u.assign(tf.tensor2d(u));
    pl.w.assign(tf.tensor2d(w));
    pl.b.assign(tf.tensor1d(p.b.map((bk) => bk[0]!)));
    const z = new Rng(3).normalTensor(20, 2);
    const a = s.forward(z);
    const b = pl.forward(z);
    assert.ok(tf.max(tf.abs(tf.sub(a.z, b.z))).dataSync()[0]! < 1e-4, variant);
    assert.ok(tf.max(tf.abs(tf.sub(a.logDetJ, b.logDetJ))).dataSync()[0]! < 1e-4, variant);
    s.dispose();
    pl.dispose();
  }
});

test('sylvester: initialisation near the identity (exactly with initScale 0)', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    const f = new SylvesterFlow({ K: 4, variant, initScale: 0 });
    const z = new Rng(1).normalTensor(10, 2);
    const out = f.forward(z);
    assert.ok(tf.max(tf.abs(tf.sub(out.z, z))).dataSync()[0]! < 1e-6);
    assert.ok(tf.max(tf.abs(out.logDetJ)).dataSync()[0]! < 1e-6);
    f.dispose();
  }
});

test('sylvester: bad options name the parameter', () => {
  assert.throws(() => new SylvesterFlow({ dim: 2, M: 3 }), /M must be <= D \(= 2\), got 3/);
  assert.throws(() => new SylvesterFlow({ K: 0 }), /K must be an integer >= 1, got 0/);
  assert.throws(() => new SylvesterFlow({ M: 0 }), /M must be an integer >= 1/);
  assert.throws(
    () => new SylvesterFlow({ variant: 'givens' as never }),
    /variant must be one of orthogonal, householder, triangular; got "givens"/,
  );
  assert.throws(() => new SylvesterFlow({ initScale: Infinity }), /initScale must be a finite number/);
});

test('sylvester: forward leaks no tensors', () => {
  for (const variant of SYLVESTER_VARIANTS) {
    const f = new SylvesterFlow({ K: 3, variant });
    const z = tf.zeros([8, 2]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const out = f.forward(z);
    tf.dispose([out.z, out.logDetJ]);
    assert.equal(tf.memory().numTensors, before, variant);
    f.dispose();
    z.dispose();
  }
});
