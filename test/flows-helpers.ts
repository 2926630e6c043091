/** Helpers shared by the flow tests: random (non-identity) parameters and float64 read-outs. */
import assert from 'node:assert/strict';
import { tf } from '../src/core/backend';
import { type Flow, type FlowOutput } from '../src/flows/flow';
import { forwardOn, hasFusedOp } from '../src/flows/compose';
import { Rng } from '../src/core/random';
import type { PlanarFlow } from '../src/flows/planar';
import type { SylvesterFlow } from '../src/flows/sylvester';

/** Overwrite every variable of a flow with N(0, scale²) draws (seeded). */
export function randomizeFlow(flow: { variables: tf.Variable[] }, seed: number, scale = 1): void {
  const rng = new Rng(seed);
  for (const v of flow.variables) {
    const vals = new Float32Array(v.size).map(() => scale * rng.normal());
    const draw = tf.tensor(vals, v.shape);
    v.assign(draw); // assign copies the values: the draw itself must be freed
    draw.dispose();
  }
}

export function planarParams(f: PlanarFlow): { uHat: number[][]; w: number[][]; b: number[] } {
  const uh = f.uHat();
  const out = { uHat: uh.arraySync(), w: f.w.arraySync(), b: f.b.arraySync() };
  uh.dispose();
  return out;
}

export function sylvesterParams(f: SylvesterFlow): {
  Q: number[][][];
  R: number[][][];
  RT: number[][][];
  b: number[][];
} {
  const Q = f.Q();
  const { R, RTilde } = f.R();
  const out = { Q: Q.arraySync(), R: R.arraySync(), RT: RTilde.arraySync(), b: f.b.arraySync() };
  tf.dispose([Q, R, RTilde]);
  return out;
}

/** The flow's registered fused op (asserted to exist, so a test never falls back in silence). */
export function fusedForward(f: Flow, z: tf.Tensor2D): FlowOutput {
  assert.ok(hasFusedOp(f), `${f.name} has a fused op`);
  return forwardOn(f, z, 'fused');
}
