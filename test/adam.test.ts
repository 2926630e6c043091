/**
 * The library's Adam (typed-array loops, float64 moments) against tfjs's own `tf.train.adam`:
 * the same variables, the same gradients, the same lr / β1 / β2 / ε, step by step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { Adam } from '../src/train/adam';

const SHAPES: number[][] = [[3, 2], [5]];
const STEPS = 100;
const LR = 0.01;
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;
/**
 * Both keep θ in float32; tfjs also keeps its moments in float32 (ours: float64), so the two
 * differ by float32 rounding of the update (~1e-7 · lr per step), far below this bound.
 */
const TOL = 1e-5;

/** Fresh variables with the same initial values for each run: [3, 2] and [5]. */
function makeVariables(): tf.Variable[] {
  const rng = new Rng(1);
  return SHAPES.map((shape) => tf.variable(rng.uniformTensor(shape, -1, 1)));
}

/**
 * Gradients of step t: random normal with per-entry scales from 1e-3 to 1e2, so that both
 * regimes of the update (|m̂| ≈ √v̂ and ε not negligible) occur. Same for every run.
 */
function gradientsAt(t: number): Float32Array[] {
  const rng = new Rng(1000 + t);
  return SHAPES.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const g = rng.fillNormal(new Float32Array(n));
    for (let i = 0; i < n; i++) g[i] = g[i]! * 10 ** ((i % 6) - 3);
    return g;
  });
}

/** max_i |a_i - b_i| over all variables. */
function maxDiff(a: tf.Variable[], b: tf.Variable[]): number {
  let m = 0;
  a.forEach((v, k) => {
    const x = v.dataSync();
    const y = b[k]!.dataSync();
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  });
  return m;
}

/** Run `STEPS` steps of ours (learning rate `lr`) and of tf.train.adam (LR); the max difference after each step. */
function runBoth(lr: number, keyed: boolean): number[] {
  const ours = makeVariables();
  const theirs = makeVariables();
  const adam = new Adam(ours, lr, BETA1, BETA2, EPSILON);
  const tfAdam = tf.train.adam(LR, BETA1, BETA2, EPSILON);
  const diffs: number[] = [];
  for (let t = 0; t < STEPS; t++) {
    const g = gradientsAt(t);
    if (keyed) {
      // the tf.variableGrads form: gradients keyed by variable name
      const named = Object.fromEntries(ours.map((v, k) => [v.name, tf.tensor(g[k]!, v.shape)]));
      adam.applyGradients(named);
      tf.dispose(Object.values(named));
    } else {
      adam.applyGradientArrays(g);
    }
    const named = theirs.map((v, k) => ({ name: v.name, tensor: tf.tensor(g[k]!, v.shape) }));
    tfAdam.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
    diffs.push(maxDiff(ours, theirs));
  }
  adam.dispose();
  tfAdam.dispose();
  tf.dispose([...ours, ...theirs]);
  return diffs;
}

test('Adam equals tf.train.adam within float32 rounding after every one of 100 steps', () => {
  for (const keyed of [false, true]) {
    const diffs = runBoth(LR, keyed);
    diffs.forEach((d, t) =>
      assert.ok(d <= TOL, `${keyed ? 'applyGradients' : 'applyGradientArrays'}, step ${t}: max |Δθ| = ${d}`),
    );
  }
});

test('the comparison can fail: Adam with lr 1% off drifts measurably from tf.train.adam', () => {
  const diffs = runBoth(LR * 1.01, false);
  // Each step moves θ by up to ~lr, so a 1% larger lr drifts by ~1e-4 per step.
  assert.ok(diffs[STEPS - 1]! > 100 * TOL, `max |Δθ| after ${STEPS} steps: ${diffs[STEPS - 1]}`);
});

test('Adam leaves a variable with a null gradient untouched; its first step is θ - lr · g/(|g| + ε)', () => {
  const [a, b] = makeVariables() as [tf.Variable, tf.Variable];
  const b0 = b.dataSync().slice();
  const adam = new Adam([a, b], LR, BETA1, BETA2, EPSILON);
  adam.applyGradientArrays([gradientsAt(0)[0]!, null]);
  assert.deepEqual([...b.dataSync()], [...b0], 'b untouched');
  // The first step of Adam moves every entry by lr · g/(|g| + ε/…) ≈ ±lr (bias-corrected).
  const a1 = a.dataSync();
  const g = gradientsAt(0)[0]!;
  const init = makeVariables()[0]!;
  const a0 = init.dataSync();
  for (let i = 0; i < a1.length; i++) {
    const want = a0[i]! - (LR * g[i]!) / (Math.abs(g[i]!) + EPSILON);
    assert.ok(Math.abs(a1[i]! - want) < 1e-6, `entry ${i}: ${a1[i]} vs ${want}`);
  }
  adam.dispose();
  tf.dispose([a, b, init]);
});
