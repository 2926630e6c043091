/** A stand-in for tslab's display writer, for tests of the notebook display functions. */
import * as os from 'os';
import * as path from 'path';
import Module from 'module';
import type { DisplayMessage } from '../src/viz/display';

/** Pretend to be inside a tslab cell: a loaded `tslab/dist/jupyter.js` module holding a writer. */
export function fakeTslab(): {
  calls: [DisplayMessage, boolean][];
  exports: { lastWriteDisplayData: unknown };
  remove(): void;
} {
  const file = path.join(os.tmpdir(), 'fake-kernel', 'node_modules', 'tslab', 'dist', 'jupyter.js');
  const calls: [DisplayMessage, boolean][] = [];
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  const exports = {
    lastWriteDisplayData: (msg: DisplayMessage, update: boolean) => void calls.push([msg, update]) as unknown,
  };
  m.exports = exports;
  require.cache[file] = m;
  return { calls, exports, remove: () => void delete require.cache[file] };
}
