/**
 * One place that loads TensorFlow.js and picks its backend.
 *
 * Order: `@tensorflow/tfjs-node` (native, when it installed) -> `@tensorflow/tfjs` with the
 * pure-JS `cpu` backend or the `wasm` backend. The default without tfjs-node is `cpu`: this
 * library's hot path (training with `path: 'fused'`) is a few fused ops written in typed-array
 * loops (see `fused-*.ts`), and the cpu backend hands them tensor memory without copies. Measured
 * (docs/benchmarks.md, `npm run bench -- --backend cpu|wasm`): fused planar K=32 step 1.7 ms on
 * cpu vs 1.9 ms on wasm, Sylvester K=16 1.7 vs 1.8 ms; only the op-by-op reference path is
 * faster on wasm (66 vs 125 ms), so pick wasm when you train on the reference path.
 * Override with the environment variable `NF_BACKEND=tensorflow|wasm|cpu`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };

/** Backends this module knows how to start. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const KNOWN: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

// Silence the "install tfjs-node" banner: prod mode must be on before the first tensor.
tf.enableProdMode();

let nativeLoaded = false;
try {
  // tfjs-node registers the 'tensorflow' backend in the same tfjs-core engine (same version).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-node');
  nativeLoaded = tf.findBackendFactory('tensorflow') !== null;
} catch {
  nativeLoaded = false;
}

// The wasm backend registers itself with a higher priority than cpu but initialises
// asynchronously; select a synchronous backend now so that code which never awaits
// `initBackend()` still works (tslab cells, plain scripts).
void tf.setBackend(nativeLoaded ? 'tensorflow' : 'cpu');

/** True when `@tensorflow/tfjs-node` loaded. */
export function nativeBackendAvailable(): boolean {
  return nativeLoaded;
}

/**
 * Select the backend: `preferred`, else `process.env.NF_BACKEND`, else tfjs-node when it
 * loaded, else `cpu`. Resolves to the name of the backend in use.
 */
export async function initBackend(preferred?: BackendName | 'auto'): Promise<BackendName> {
  const requested = preferred ?? (process.env.NF_BACKEND as BackendName | 'auto' | undefined) ?? 'auto';
  if (requested !== 'auto' && !KNOWN.includes(requested)) {
    throw new RangeError(`backend must be one of auto, ${KNOWN.join(', ')}; got "${String(requested)}"`);
  }
  let name: BackendName;
  if (requested === 'auto') name = nativeLoaded ? 'tensorflow' : 'cpu';
  else name = requested;
  if (name === 'tensorflow' && !nativeLoaded) {
    throw new Error('backend "tensorflow" needs @tensorflow/tfjs-node, which is not installed here');
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`could not start the tfjs backend "${name}"`);
  await tf.ready();
  return name;
}

/** The name of the tfjs backend in use now. */
export function backendName(): string {
  return tf.getBackend();
}
