import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/core/backend';
import { StopSignal } from '../src/core/stop';
import { PlanarFlow } from '../src/flows/planar';
import { getTarget } from '../src/targets/energies';
import { trainLive } from '../src/viz/live';
import { fakeTslab } from './fake-tslab';

/** Small runs: 2 layers, 64 samples per step, chunks of 100 steps. */
const SMALL = { batch: 64, lr: 1e-2, seed: 0, chunkSize: 100 };
/** A progress line: label, step s/S, F ≈ x.xxx, optional floor, ms/step. */
const LINE = /^(.+): step (\d+)\/(\d+), F ≈ (-?\d+\.\d{3})( \(floor −log Z = (-?\d+\.\d{3})\))?, \d+\.\d ms\/step$/;

/** Mean of xs[from, to), as the progress line rounds it. */
function meanFixed(xs: number[], from: number, to: number): string {
  const part = xs.slice(from, to);
  return (part.reduce((s, x) => s + x, 0) / part.length).toFixed(3);
}

test('trainLive: text until the first curve, a loss-curve frame every liveEvery steps, final text line', async () => {
  const fake = fakeTslab();
  try {
    const U1 = getTarget('U1');
    const chunks: number[] = [];
    const h = await trainLive(new PlanarFlow({ K: 2, seed: 0 }), U1, {
      ...SMALL,
      steps: 500,
      label: 'planar K=2 on U1',
      liveEvery: 200,
      onChunk: (c) => void chunks.push(c.step),
    });
    assert.equal(h.stepsDone, 500);
    assert.equal(h.stoppedReason, null);
    assert.deepEqual(chunks, [100, 200, 300, 400, 500], 'the caller’s onChunk still runs');
    // One output: displayed once, then updated, always under the same id.
    const ids = new Set(fake.calls.map(([m]) => m.transient.display_id));
    assert.equal(ids.size, 1);
    assert.deepEqual(
      fake.calls.map(([, update]) => update),
      fake.calls.map((_, i) => i > 0),
    );
    // Step 100: text only; 200 and 400: a PNG frame with the line as its caption; step 300 sends
    // nothing (the curve of 200 stays up); the end: the final line alone.
    const kinds = fake.calls.map(([m]) => Object.keys(m.data).sort().join('+'));
    assert.deepEqual(kinds, ['text/plain', 'image/png+text/plain', 'image/png+text/plain', 'text/plain']);
    const png = Buffer.from(fake.calls[1]![0].data['image/png']!, 'base64');
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const lines = fake.calls.map(([m]) => m.data['text/plain']!.split('\n').pop()!);
    const parsed = lines.map((l) => LINE.exec(l));
    assert.ok(
      parsed.every((m) => m !== null),
      lines.join('\n'),
    );
    assert.deepEqual(
      parsed.map((m) => [m![1], Number(m![2]), Number(m![3])]),
      [100, 200, 400, 500].map((s) => ['planar K=2 on U1', s, 500]),
    );
    // F is the mean free energy of the last 100 steps; the floor is −log Z of the target.
    assert.equal(parsed[0]![4], meanFixed(h.freeEnergy, 0, 100));
    assert.equal(parsed[2]![4], meanFixed(h.freeEnergy, 300, 400));
    assert.equal(parsed[3]![4], meanFixed(h.freeEnergy, 400, 500));
    assert.equal(parsed[3]![6], (-U1.logZ!).toFixed(3));
  } finally {
    fake.remove();
  }
});

test('trainLive: a stop ends with the final line at the steps done and a console line; no floor without log Z', async (t) => {
  const fake = fakeTslab();
  const log = t.mock.method(console, 'log', () => undefined);
  try {
    const stop = new StopSignal();
    // An unnormalised standard normal given as a bare log-density function: log Z unknown.
    const logProb = (z: tf.Tensor2D) => tf.tidy(() => tf.sum(tf.square(z), 1).mul(-0.5) as tf.Tensor1D);
    const h = await trainLive(new PlanarFlow({ K: 2, seed: 0 }), logProb, {
      ...SMALL,
      steps: 1000,
      stop,
      label: 'gauss',
      onChunk: (c) => {
        if (c.step === 200) stop.stop('test stop');
      },
    });
    assert.equal(h.stepsDone, 200);
    assert.equal(h.stoppedReason, 'test stop');
    const last = fake.calls[fake.calls.length - 1]![0].data;
    assert.deepEqual(Object.keys(last), ['text/plain']);
    const m = LINE.exec(last['text/plain']!);
    assert.ok(m, last['text/plain']);
    assert.deepEqual([m[2], m[3], m[5]], ['200', '1000', undefined]);
    assert.equal(m[4], meanFixed(h.freeEnergy, 100, 200));
    const printed = log.mock.calls.map((c) => String(c.arguments[0]));
    assert.deepEqual(printed, ['gauss: stopped early (test stop), 200 steps']);
  } finally {
    fake.remove();
  }
});

test('trainLive: outside tslab it trains and sends nothing; bad options name themselves', async () => {
  const flow = new PlanarFlow({ K: 1, seed: 0 });
  const h = await trainLive(flow, getTarget('U1'), { ...SMALL, steps: 100, label: 'quiet' });
  assert.equal(h.stepsDone, 100);
  const U1 = getTarget('U1');
  await assert.rejects(
    trainLive(flow, U1, { steps: 100 } as never),
    /options\.label must be a non-empty string, got undefined/,
  );
  await assert.rejects(trainLive(flow, U1, { steps: 100, label: '' }), /options\.label/);
  await assert.rejects(
    trainLive(flow, U1, { steps: 100, label: 'x', liveEvery: 0 }),
    /liveEvery must be an integer >= 1, got 0/,
  );
});
