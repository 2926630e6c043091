import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  getTarget,
  asTarget,
  quadratureLogZ,
  TARGET_NAMES,
  DOMAIN_NAMES,
  DEFAULT_DOMAIN,
  Rng,
  KNOWN_LOG_Z,
} from '../src';
import { U, targetU, quadrature } from './oracle';

const names = TARGET_NAMES;
const PROPER_DOMAINS = ['window', 'normflows'] as const;

test('U1-U4 equal the float64 oracle on random points (every domain)', () => {
  const rng = new Rng(1);
  const n = 500;
  const pts = Array.from({ length: n }, () => [rng.normal() * 3, rng.normal() * 3] as [number, number]);
  for (const name of names) {
    for (const domain of DOMAIN_NAMES) {
      const t = getTarget(name, { domain });
      const lp = tf.tidy(() => t.logProb(tf.tensor2d(pts))).arraySync() as number[];
      pts.forEach(([a, b], i) => {
        const want = -targetU(name, domain, a, b);
        assert.ok(
          Math.abs(lp[i]! - want) <= 1e-4 * Math.max(1, Math.abs(want)),
          `${name} ${domain} at (${a}, ${b}): ${lp[i]} vs ${want}`,
        );
      });
    }
  }
});

test('the default domain is the window; envelope: false and U1 mean no domain', () => {
  assert.equal(DEFAULT_DOMAIN, 'window');
  const z = tf.tensor2d([
    [3.6, -3.9],
    [0.3, 0.2],
  ]);
  const lp = getTarget('U4').logProb(z).arraySync() as number[];
  const bare = getTarget('U4', { envelope: false }).logProb(z).arraySync() as number[];
  const none = getTarget('U4', { domain: 'none' }).logProb(z).arraySync() as number[];
  [
    [3.6, -3.9],
    [0.3, 0.2],
  ].forEach(([a, b], i) => {
    assert.ok(Math.abs(lp[i]! + targetU('U4', 'window', a!, b!)) < 1e-4 * (1 + Math.abs(lp[i]!)));
    assert.ok(Math.abs(bare[i]! + U.U4(a!, b!)) < 1e-4 * (1 + Math.abs(bare[i]!)));
    assert.equal(none[i], bare[i]);
  });
  assert.equal(getTarget('U1', { domain: 'normflows' }).name, 'U1');
  assert.throws(() => getTarget('U2', { domain: 'box' }), /domain must be one of window, normflows, none; got "box"/);
  z.dispose();
});

test('targets stay finite with finite gradients far away (|z| = 50) and at the origin (every domain)', () => {
  const far: [number, number][] = [
    [50, 0],
    [0, 50],
    [-50, 0],
    [0, -50],
    [35.3, -35.3],
    [0, 7],
    [0, 0],
  ];
  for (const name of names) {
    for (const domain of DOMAIN_NAMES) {
      const t = getTarget(name, { domain });
      const z = tf.tensor2d(far);
      const lp = t.logProb(z).arraySync() as number[];
      const g = tf
        .grad((x: tf.Tensor) => tf.sum(t.logProb(x as tf.Tensor2D)))(z)
        .arraySync() as number[][];
      lp.forEach((v, i) => {
        assert.ok(Number.isFinite(v), `${name} ${domain} logProb at ${far[i]} = ${v}`);
        const want = -targetU(name, domain, ...far[i]!);
        assert.ok(
          Math.abs(v - want) <= 1e-4 * Math.max(1, Math.abs(want)),
          `${name} ${domain} at ${far[i]}: ${v} vs ${want}`,
        );
      });
      g.flat().forEach((v) => assert.ok(Number.isFinite(v), `${name} ${domain} gradient not finite: ${v}`));
      z.dispose();
    }
  }
});

test('gradient of U2-U4 + window matches float64 central differences, near and far (|z| up to 20)', () => {
  const pts: [number, number][] = [
    [1.3, -0.7],
    [-2.1, 0.4],
    [3.1, -3.9],
    [3.7, 3.2],
    [-6, 2],
    [20, -3],
    [0.5, -15],
  ];
  const h = 1e-5;
  for (const name of ['U2', 'U3', 'U4'] as const) {
    const t = getTarget(name);
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => tf.sum(t.logProb(x as tf.Tensor2D)))(tf.tensor2d(pts))
        .arraySync(),
    ) as number[][];
    const u = (a: number, b: number): number => targetU(name, 'window', a, b);
    pts.forEach(([a, b], i) => {
      const d1 = -(u(a + h, b) - u(a - h, b)) / (2 * h);
      const d2 = -(u(a, b + h) - u(a, b - h)) / (2 * h);
      assert.ok(
        Math.abs(g[i]![0]! - d1) < 1e-3 * Math.max(1, Math.abs(d1)),
        `${name} ∂1 at (${a}, ${b}): ${g[i]![0]} vs ${d1}`,
      );
      assert.ok(
        Math.abs(g[i]![1]! - d2) < 1e-3 * Math.max(1, Math.abs(d2)),
        `${name} ∂2 at (${a}, ${b}): ${g[i]![1]} vs ${d2}`,
      );
    });
  }
});

test('gradient of U1 matches central finite differences of the float64 oracle', () => {
  const t = getTarget('U1');
  const pts: [number, number][] = [
    [1.3, -0.7],
    [-2.1, 0.4],
    [0.2, 2.5],
  ];
  const g = tf
    .grad((x: tf.Tensor) => tf.sum(t.logProb(x as tf.Tensor2D)))(tf.tensor2d(pts))
    .arraySync() as number[][];
  const h = 1e-6;
  pts.forEach(([a, b], i) => {
    const d1 = -(U.U1(a + h, b) - U.U1(a - h, b)) / (2 * h);
    const d2 = -(U.U1(a, b + h) - U.U1(a, b - h)) / (2 * h);
    assert.ok(Math.abs(g[i]![0]! - d1) < 1e-3 * Math.max(1, Math.abs(d1)));
    assert.ok(Math.abs(g[i]![1]! - d2) < 1e-3 * Math.max(1, Math.abs(d2)));
  });
});

test('library quadrature log Z: U1 = 1.8775, U3 + normflows = 3.4097, U4 + window = 2.4790 (±1e-3)', () => {
  const u1 = quadratureLogZ(getTarget('U1').logProb, { xlim: [-6, 6], ylim: [-6, 6], nx: 400, ny: 400 });
  assert.ok(Math.abs(u1 - 1.8775) < 1e-3, `U1 log Z ${u1}`);
  const u3 = quadratureLogZ(getTarget('U3', { domain: 'normflows' }).logProb, {
    xlim: [-24, 24],
    ylim: [-10, 10],
    nx: 1600,
    ny: 700,
  });
  assert.ok(Math.abs(u3 - 3.4097) < 1e-3, `U3+normflows log Z ${u3}`);
  const u4 = quadratureLogZ(getTarget('U4').logProb, { xlim: [-6, 6], ylim: [-6, 6], nx: 480, ny: 480 });
  assert.ok(Math.abs(u4 - 2.479) < 1e-3, `U4+window log Z ${u4}`);
});

test('window: float64 quadrature reproduces KNOWN_LOG_Z, and [-4, 4]² holds >= 99% of each target', () => {
  for (const name of ['U2', 'U3', 'U4'] as const) {
    const u = (a: number, b: number): number => targetU(name, 'window', a, b);
    // Box [-7, 7]²: the window energy at |z_i| = 7 is ½(7/3.3)⁸ ≈ 205, so nothing is cut off.
    const q = quadrature(u, 7, 700);
    // A larger box with a different step: converged in both.
    const q2 = quadrature(u, 8, 640);
    assert.ok(Math.abs(q.logZ - q2.logZ) < 1e-6, `${name}: ${q.logZ} vs ${q2.logZ}`);
    assert.ok(
      Math.abs(q.logZ - KNOWN_LOG_Z[`${name}+window`]) < 1e-5,
      `${name}+window log Z ${q.logZ} vs ${KNOWN_LOG_Z[`${name}+window`]}`,
    );
    assert.ok(q.windowMass >= 0.99, `${name}+window: mass in [-4, 4]² ${q.windowMass}`);
    assert.equal(getTarget(name).logZ, KNOWN_LOG_Z[`${name}+window`]);
  }
});

test('normflows: float64 quadrature reproduces its log Z; less than half the mass lies in [-4, 4]²', () => {
  for (const name of ['U2', 'U3', 'U4'] as const) {
    // Box [-24, 24]²: the envelope at |z_i| = 24 is ½ 24⁴/8⁴ ≈ 40.
    const q = quadrature((a, b) => targetU(name, 'normflows', a, b), 24, 600);
    assert.ok(Math.abs(q.logZ - KNOWN_LOG_Z[`${name}+normflows`]) < 1e-4, `${name}+normflows log Z ${q.logZ}`);
    assert.ok(q.windowMass < 0.5, `${name}+normflows: mass in [-4, 4]² ${q.windowMass}`);
    assert.equal(KNOWN_LOG_Z[`${name}+envelope`], KNOWN_LOG_Z[`${name}+normflows`]);
  }
});

test('known log Z: U1 always, U2-U4 only with a domain; names carry the domain', () => {
  assert.equal(getTarget('U1').logZ, KNOWN_LOG_Z.U1);
  for (const domain of PROPER_DOMAINS) {
    assert.equal(getTarget('U2', { domain }).logZ, KNOWN_LOG_Z[`U2+${domain}`]);
    assert.equal(getTarget('U3', { domain }).name, `U3+${domain}`);
  }
  assert.equal(getTarget('U4', { envelope: false }).logZ, undefined);
  assert.equal(getTarget('U4', { domain: 'none' }).logZ, undefined);
  assert.equal(getTarget('U3', { envelope: false }).name, 'U3');
  assert.equal(getTarget('U3').name, 'U3+window');
});

test('a plain function is a target; bad targets are rejected', () => {
  const t = asTarget((z) => tf.neg(tf.sum(tf.square(z), 1)) as tf.Tensor1D, 3);
  assert.equal(t.dim, 3);
  assert.throws(() => getTarget('U9'), /target must be one of U1, U2, U3, U4; got "U9"/);
  assert.throws(() => asTarget(42 as never), /target must be a function/);
  assert.throws(() => getTarget('U1').logProb(tf.zeros([4, 3]) as tf.Tensor2D), /z must have 2 columns/);
  assert.throws(() => getTarget('U1').logProb(tf.zeros([4]) as unknown as tf.Tensor2D), /z must be a rank-2 tensor/);
});

test('targets leak no tensors', () => {
  const z = tf.randomNormal([16, 2]) as tf.Tensor2D;
  for (const name of names) getTarget(name).logProb(z).dispose();
  const before = tf.memory().numTensors;
  for (const name of names) getTarget(name).logProb(z).dispose();
  assert.equal(tf.memory().numTensors, before);
  z.dispose();
});
