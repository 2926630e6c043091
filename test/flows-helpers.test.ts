/**
 * The flow-test helpers themselves: randomizeFlow draws the seeded N(0, scale²) values it promises
 * and, like planarParams / sylvesterParams, leaves no tensor behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../src/core/backend';
import { Rng } from '../src/core/random';
import { PlanarFlow } from '../src/flows/planar';
import { SylvesterFlow } from '../src/flows/sylvester';
import { planarParams, randomizeFlow, sylvesterParams } from './flows-helpers';

test('randomizeFlow writes seeded N(0, scale²) draws into every variable, in order', () => {
  const flow = new PlanarFlow({ K: 3, dim: 2, seed: 1 });
  const SCALE = 0.5;
  randomizeFlow(flow, 7, SCALE);
  // the same stream, drawn independently: variable after variable, entry after entry
  const rng = new Rng(7);
  for (const v of flow.variables) {
    const got = v.dataSync();
    for (let i = 0; i < got.length; i++) assert.equal(got[i], Math.fround(SCALE * rng.normal()), `${v.name}[${i}]`);
  }
});

test('randomizeFlow, planarParams and sylvesterParams leak no tensors', () => {
  const planar = new PlanarFlow({ K: 4, dim: 2, seed: 2 });
  const sylvester = new SylvesterFlow({ K: 2, M: 2, dim: 3, seed: 3 });
  const nVariables = planar.variables.length + sylvester.variables.length;
  assert.ok(nVariables > 1, 'the check needs several variables');
  const before = tf.memory().numTensors;
  randomizeFlow(planar, 4);
  randomizeFlow(sylvester, 5);
  planarParams(planar);
  sylvesterParams(sylvester);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  tf.dispose([...planar.variables, ...sylvester.variables]);
});
