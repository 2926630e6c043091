import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, train, PlanarFlow, getTarget, evaluate, StopSignal, stopOnInterrupt, learningRate } from '../src/index';

test('training planar K=8 on U1 for 2000 steps lowers the loss and reaches KL gap < 0.5', async () => {
  const flow = new PlanarFlow({ K: 8, seed: 0 });
  const target = getTarget('U1');
  const h = await train(flow, target, { steps: 2000, batch: 256, lr: 1e-2, seed: 0, lrSchedule: 'cosine' });
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.equal(h.stepsDone, 2000);
  assert.equal(h.stoppedReason, null);
  assert.ok(mean(h.loss.slice(-200)) < mean(h.loss.slice(0, 50)) - 1, 'loss must drop');
  const d = evaluate(flow, target, { samples: 20000 });
  assert.ok(d.klGap! < 0.5, `KL gap ${d.klGap}`);
  assert.ok(d.klGap! > -0.05, `KL gap cannot be (much) negative: ${d.klGap}`);
  flow.dispose();
});

test('a stop signal stops at the next chunk boundary and leaks nothing', async () => {
  const flow = new PlanarFlow({ K: 4, seed: 1 });
  const before = tf.memory().numTensors;
  const stop = new StopSignal();
  const h = await train(flow, getTarget('U2'), {
    steps: 1000, batch: 64, chunkSize: 25, stop,
    onChunk: ({ step }) => { if (step >= 50) stop.stop('test'); },
  });
  assert.equal(h.stepsDone, 50);
  assert.equal(h.stoppedReason, 'test');
  assert.equal(tf.memory().numTensors, before);
  // the engine is still usable: train again
  stop.reset();
  const h2 = await train(flow, getTarget('U2'), { steps: 30, batch: 64, stop });
  assert.equal(h2.stepsDone, 30);
  flow.dispose();
});

test('SIGINT through stopOnInterrupt stops training cleanly instead of killing the process', async () => {
  const flow = new PlanarFlow({ K: 2, seed: 2 });
  const stop = stopOnInterrupt();
  try {
    const h = await train(flow, getTarget('U1'), {
      steps: 1000, batch: 32, chunkSize: 10, stop,
      onChunk: ({ step }) => { if (step === 20) process.kill(process.pid, 'SIGINT'); },
    });
    assert.ok(h.stepsDone >= 20 && h.stepsDone <= 40, `stopped after ${h.stepsDone}`);
    assert.equal(h.stoppedReason, 'interrupted (SIGINT)');
  } finally {
    stop.dispose();
  }
  flow.dispose();
});

test('no tensor leaks: the count after 1000 steps equals the count after 10', async () => {
  const flow = new PlanarFlow({ K: 2, seed: 3 });
  const target = getTarget('U1');
  await train(flow, target, { steps: 10, batch: 32 });
  const after10 = tf.memory().numTensors;
  await train(flow, target, { steps: 1000, batch: 32, anneal: true, lrSchedule: 'cosine' });
  assert.equal(tf.memory().numTensors, after10);
  flow.dispose();
});

test('the same seed gives the same losses', async () => {
  const run = async (): Promise<number[]> => {
    const flow = new PlanarFlow({ K: 3, seed: 4 });
    const h = await train(flow, getTarget('U3'), { steps: 40, batch: 64, seed: 9 });
    flow.dispose();
    return h.loss;
  };
  assert.deepEqual(await run(), await run());
});

test('annealing and schedules show up in the history', async () => {
  const flow = new PlanarFlow({ K: 2 });
  const h = await train(flow, getTarget('U1'), { steps: 100, batch: 16, anneal: 50, lr: 1e-3, lrSchedule: 'cosine' });
  assert.equal(h.beta[0], 0.01);
  assert.equal(h.beta[99], 1);
  assert.ok(Math.abs(h.lr[0]! - 1e-3) < 1e-12);
  assert.ok(h.lr[99]! < 2e-5);
  assert.ok(Math.abs(learningRate(50, 100, 1, 'cosine', 0) - 0.5) < 1e-12);
  flow.dispose();
});

test('bad training options get errors naming the parameter', async () => {
  const flow = new PlanarFlow({ K: 2 });
  const t = getTarget('U1');
  await assert.rejects(train(flow, t, { steps: 0 }), /steps must be an integer >= 1, got 0/);
  await assert.rejects(train(flow, t, { batch: -3 }), /batch must be an integer >= 1, got -3/);
  await assert.rejects(train(flow, t, { lr: NaN }), /lr must be a finite number, got NaN/);
  await assert.rejects(train(flow, t, { lr: -1 }), /lr must be > 0, got -1/);
  await assert.rejects(train(flow, t, { seed: Infinity }), /seed must be an integer in \[0, 4294967295\], got Infinity/);
  await assert.rejects(train(flow, t, { anneal: -5 }), /anneal must be true, false or a number of steps >= 0/);
  await assert.rejects(train(flow, t, { chunkSize: 0 }), /chunkSize must be an integer >= 1/);
  await assert.rejects(train(flow, t, { path: 'gpu' as never }), /path must be one of fused, reference; got "gpu"/);
  await assert.rejects(train(flow, t, { lrSchedule: 'plateau' as never }), /lrSchedule must be one of constant, cosine/);
  await assert.rejects(train(new PlanarFlow({ dim: 3 }), t, {}), /target has dim 2 but the flow has dim 3/);
  flow.dispose();
});
