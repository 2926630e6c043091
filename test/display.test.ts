import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { plotFigure } from '../src/viz/figure';
import {
  inTslab,
  liveDisplay,
  show,
  showBundle,
  showTable,
  tslabWriter,
  type DisplayMessage,
} from '../src/viz/display';
import { historyTraces, densityTraces, samplesTraces } from '../src/viz/interactive';
import { fakeTslab } from './fake-tslab';

const fig = plotFigure(
  (Plot) => ({ width: 160, height: 100, marks: [Plot.dot([{ a: 1, b: 1 }], { x: 'a', y: 'b' })] }),
  { title: 't', alt: 'one dot' },
);

test('outside tslab every display function is a no-op', () => {
  assert.equal(inTslab(), false);
  assert.equal(tslabWriter(), null);
  assert.equal(show(fig), undefined);
  assert.equal(showTable([{ a: 1 }]), undefined);
  assert.equal(showBundle({ 'text/plain': 'x' }), false);
  const live = liveDisplay();
  assert.equal(live.active, false);
  live.update('step 1', fig); // must not throw
});

test('show(..., {saveTo}) still writes the file outside tslab', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-show-'));
  try {
    const file = path.join(dir, 'x', 'fig.png');
    show(fig, { saveTo: file });
    assert.ok(fs.statSync(file).size > 100);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the real tslab module has the writer slot we look up, empty outside a kernel', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jupyter = require('tslab/dist/jupyter') as Record<string, unknown>;
  assert.ok('lastWriteDisplayData' in jupyter);
  assert.match(require.resolve('tslab/dist/jupyter'), /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/);
  assert.equal(jupyter.lastWriteDisplayData, null);
  assert.equal(inTslab(), false);
});

test('inside tslab: show sends ONE bundle {png, svg, text} with the image size as metadata', () => {
  const fake = fakeTslab();
  try {
    assert.equal(inTslab(), true);
    show(fig);
    assert.equal(fake.calls.length, 1);
    const [msg, update] = fake.calls[0]!;
    assert.equal(update, false);
    assert.deepEqual(Object.keys(msg.data).sort(), ['image/png', 'image/svg+xml', 'text/plain']);
    assert.equal(msg.data['text/plain'], 'one dot');
    assert.deepEqual(msg.metadata, { 'image/png': { width: fig.width, height: fig.height } });
    showTable([{ a: 1, b: 'x' }]);
    const table = fake.calls[1]![0].data;
    assert.deepEqual(Object.keys(table).sort(), ['text/html', 'text/plain']);
    assert.match(table['text/html']!, /<table/);
  } finally {
    fake.remove();
  }
});

test('inside tslab: the writer is looked up at every call (tslab rebinds it per cell)', () => {
  const fake = fakeTslab();
  try {
    const second: DisplayMessage[] = [];
    show(fig, { svg: false });
    fake.exports.lastWriteDisplayData = (msg: DisplayMessage) => void second.push(msg);
    show(fig, { svg: false });
    assert.equal(fake.calls.length, 1);
    assert.equal(second.length, 1);
  } finally {
    fake.remove();
  }
});

test('inside tslab: liveDisplay updates one output in place (same id, display then updates)', () => {
  const fake = fakeTslab();
  try {
    const live = liveDisplay();
    assert.equal(live.active, true);
    live.update('step 1/3');
    live.update('step 2/3', fig);
    live.update('step 3/3');
    assert.deepEqual(
      fake.calls.map(([m, u]) => [m.transient.display_id, u]),
      [
        [live.id, false],
        [live.id, true],
        [live.id, true],
      ],
    );
    assert.deepEqual(fake.calls[0]![0].data, { 'text/plain': 'step 1/3' });
    const withFig = fake.calls[1]![0].data;
    assert.deepEqual(Object.keys(withFig).sort(), ['image/png', 'text/plain']);
    assert.match(withFig['text/plain']!, /step 2\/3/);
  } finally {
    fake.remove();
  }
});

test('interactive: importing does not load nodeplotlib; traces are plain data', () => {
  assert.ok(!Object.keys(require.cache).some((k) => k.includes(`${path.sep}nodeplotlib${path.sep}`)));
  const t = historyTraces({ step: [1, 2], loss: [1, 0.5], freeEnergy: [1, 0.5] }, 1.5);
  assert.equal(t.length, 3);
  assert.deepEqual(t[2]!.y, [-1.5, -1.5]);
  assert.equal((samplesTraces(new Float32Array([0, 1, 2, 3]))[0]!.x as number[]).length, 2);
  const d = densityTraces([0, 0, 0, 0], { xlim: [0, 2], ylim: [0, 2], nx: 2, ny: 2 });
  assert.deepEqual(d[0]!.x, [0.5, 1.5]);
  assert.throws(() => densityTraces([0], { xlim: [0, 2], ylim: [0, 2], nx: 2, ny: 2 }), RangeError);
});
