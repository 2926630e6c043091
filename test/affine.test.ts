/**
 * AffineFlow (src/flows/affine.ts) and its registered kernel (src/kernels/affine.ts): the
 * reference forward against a float64 oracle, the fused op and the array kernel against the
 * reference (values, log-dets, gradients), log|det J| against a finite-difference Jacobian,
 * the inverse, and tensor leaks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { AffineFlow } from '../src/flows/affine';
import { flowKernelOf } from '../src/flows/kernel';
import type { FlowOutput } from '../src/flows/flow';
import '../src/kernels/affine';
import { jacobianFD, logAbsDet, relErr } from './oracle';
import { randomizeFlow } from './flows-helpers';

const N = 64;

/** θ = μ + L z in float64 from the raw parameters, written independently of src/. */
function affineMap(mu: number[], a: number[][]): (z: number[]) => number[] {
  const D = mu.length;
  return (z) =>
    Array.from({ length: D }, (_, i) => {
      let s = mu[i]!;
      for (let j = 0; j < i; j++) s += a[i]![j]! * z[j]!;
      return s + Math.exp(a[i]![i]!) * z[i]!;
    });
}

/** A flow of dimension D with random μ and a (diagonal scaled so e^{a_dd} stays moderate). */
function randomAffine(D: number, seed: number): AffineFlow {
  const flow = new AffineFlow(D);
  randomizeFlow(flow, seed, 0.7);
  return flow;
}

function randomBatch(D: number, seed: number): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(
    Float32Array.from({ length: N * D }, () => 1.5 * rng.normal()),
    [N, D],
  );
}

/** ℓ = Σ gz ⊙ x + Σ gl ⊙ logdet with fixed random weights: any linear read-out of the output. */
function readOut(D: number, seed: number): { gz: tf.Tensor2D; gl: tf.Tensor1D; dy: Float64Array } {
  const rng = new Rng(seed);
  const gz = Float32Array.from({ length: N * D }, () => rng.normal());
  const gl = Float32Array.from({ length: N }, () => rng.normal());
  const dy = new Float64Array(N * (D + 1)); // [N, D + 1] = [∂ℓ/∂x | ∂ℓ/∂logdet]
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) dy[n * (D + 1) + d] = gz[n * D + d]!;
    dy[n * (D + 1) + D] = gl[n]!;
  }
  return { gz: tf.tensor2d(gz, [N, D]), gl: tf.tensor1d(gl), dy };
}

/** ∂ℓ/∂z and ∂ℓ/∂v for each variable, by tfjs autodiff through `forward`. */
function gradsOf(
  flow: AffineFlow,
  forward: (z: tf.Tensor2D) => FlowOutput,
  z: tf.Tensor2D,
  gz: tf.Tensor2D,
  gl: tf.Tensor1D,
): Float32Array[] {
  return tf.tidy(() => {
    const loss = (x: tf.Tensor2D): tf.Scalar => {
      const out = forward(x);
      return tf.add(tf.sum(tf.mul(out.z, gz)), tf.sum(tf.mul(out.logDetJ, gl))) as tf.Scalar;
    };
    const dz = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D))(z);
    const { grads } = tf.variableGrads(() => loss(z), flow.variables);
    return [dz.dataSync() as Float32Array, ...flow.variables.map((v) => grads[v.name]!.dataSync() as Float32Array)];
  });
}

test('AffineFlow starts at the identity and its reference forward equals the float64 map', () => {
  const id = new AffineFlow(4);
  const z = randomBatch(4, 1);
  const out = id.forward(z);
  assert.deepEqual(out.z.dataSync(), z.dataSync());
  assert.ok(out.logDetJ.dataSync().every((v) => v === 0));
  tf.dispose([out.z, out.logDetJ, z]);
  id.dispose();

  const flow = randomAffine(3, 2);
  const zb = randomBatch(3, 3);
  const map = affineMap(flow.shift.arraySync(), flow.raw.arraySync());
  const ref = flow.forward(zb);
  const zs = zb.arraySync();
  const want = zs.flatMap((row) => map(row));
  assert.ok(relErr(ref.z.dataSync(), want) < 1e-6, `forward vs float64: ${relErr(ref.z.dataSync(), want)}`);
  tf.dispose([ref.z, ref.logDetJ, zb]);
  flow.dispose();
});

for (const D of [2, 3, 5]) {
  test(`affine kernel, D = ${D}: op and arrays equal the reference forward, log-det = finite-difference Jacobian`, () => {
    const flow = randomAffine(D, 10 + D);
    const kernel = flowKernelOf(flow);
    assert.ok(kernel?.arrays, 'AffineFlow has a registered op and array kernel');
    const z = randomBatch(D, 20 + D);
    const ref = flow.forward(z);
    const fused = kernel.op!(flow, z);
    const refZ = ref.z.dataSync();
    const refLd = ref.logDetJ.dataSync();
    assert.ok(relErr(fused.z.dataSync(), refZ) < 1e-6, `op z vs reference: ${relErr(fused.z.dataSync(), refZ)}`);
    assert.ok(relErr(fused.logDetJ.dataSync(), refLd) < 1e-6);
    const arr = kernel.arrays(flow).forward(z.dataSync() as Float32Array, N);
    assert.ok(relErr(arr.zK, refZ) < 1e-6, `arrays z vs reference: ${relErr(arr.zK, refZ)}`);
    assert.ok(relErr(arr.logDet, refLd) < 1e-6);

    // log|det J| against the float64 finite-difference Jacobian of the map, at a few rows
    const map = affineMap(flow.shift.arraySync(), flow.raw.arraySync());
    const zs = z.arraySync();
    for (const n of [0, 17, N - 1]) {
      const ld = logAbsDet(jacobianFD(map, zs[n]!));
      assert.ok(Math.abs(arr.logDet[n]! - ld) < 1e-6, `row ${n}: logdet ${arr.logDet[n]} vs FD ${ld}`);
    }
    tf.dispose([ref.z, ref.logDetJ, fused.z, fused.logDetJ, z]);
    flow.dispose();
  });

  test(`affine kernel, D = ${D}: op and array gradients equal tfjs autodiff of the reference`, () => {
    const flow = randomAffine(D, 30 + D);
    const kernel = flowKernelOf(flow)!;
    const z = randomBatch(D, 40 + D);
    const { gz, gl, dy } = readOut(D, 50 + D);
    const want = gradsOf(flow, (x) => flow.forward(x), z, gz, gl); // [dz, dμ, da]
    const got = gradsOf(flow, (x) => kernel.op!(flow, x), z, gz, gl);
    const names = ['z', 'shift μ', 'raw a'];
    want.forEach((w, i) => assert.ok(relErr(got[i]!, w) < 1e-5, `op ∂ℓ/∂${names[i]}: ${relErr(got[i]!, w)}`));
    const arrays = kernel.arrays!(flow)
      .forward(z.dataSync() as Float32Array, N)
      .backward(dy);
    assert.equal(arrays.length, flow.variables.length);
    arrays.forEach((g, i) =>
      assert.ok(relErr(g, want[i + 1]!) < 1e-5, `arrays ∂ℓ/∂${names[i + 1]}: ${relErr(g, want[i + 1]!)}`),
    );
    // the unused strict upper part of a gets no gradient
    for (let i = 0; i < D; i++) for (let j = i + 1; j < D; j++) assert.equal(arrays[1]![i * D + j], 0);
    tf.dispose([z, gz, gl]);
    flow.dispose();
  });
}

test('AffineFlow.inverse undoes forward (D = 4)', () => {
  const flow = randomAffine(4, 60);
  const z = randomBatch(4, 61);
  const out = flow.forward(z);
  const back = flow.inverse(out.z);
  assert.ok(relErr(back.dataSync(), z.dataSync()) < 1e-5, `round trip: ${relErr(back.dataSync(), z.dataSync())}`);
  tf.dispose([z, out.z, out.logDetJ, back]);
  flow.dispose();
});

test('the affine flow and its kernel leak no tensors', () => {
  const flow = randomAffine(3, 70);
  const kernel = flowKernelOf(flow)!;
  const z = randomBatch(3, 71);
  const { gz, gl, dy } = readOut(3, 72);
  const before = tf.memory().numTensors;
  for (let rep = 0; rep < 2; rep++) {
    gradsOf(flow, (x) => kernel.op!(flow, x), z, gz, gl);
    gradsOf(flow, (x) => flow.forward(x), z, gz, gl);
    const out = kernel.op!(flow, z);
    const back = flow.inverse(out.z);
    tf.dispose([out.z, out.logDetJ, back]);
    kernel.arrays!(flow)
      .forward(z.dataSync() as Float32Array, N)
      .backward(dy);
    tf.dispose(flow.L());
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([z, gz, gl]);
  const beforeNew = tf.memory().numTensors;
  new AffineFlow(5).dispose();
  assert.equal(tf.memory().numTensors, beforeNew, 'constructor + dispose frees everything');
  flow.dispose();
});

test('bad input names the parameter', () => {
  assert.throws(() => new AffineFlow(0), /dim/);
  const flow = new AffineFlow(2);
  const bad = tf.zeros([4, 3]) as tf.Tensor2D;
  assert.throws(() => flow.forward(bad), /z must have 2 columns/);
  assert.throws(() => flowKernelOf(flow)!.op!(flow, bad), /z must have 2 columns/);
  assert.throws(() => flow.inverse(bad), /y must have 2 columns/);
  bad.dispose();
  flow.dispose();
});
