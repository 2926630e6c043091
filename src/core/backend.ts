/**
 * One place that loads TensorFlow.js and picks its backend.
 *
 * Order: `@tensorflow/tfjs-node` (native, when it installed) -> `@tensorflow/tfjs` with the
 * pure-JS `cpu` backend or the `wasm` backend. The default without tfjs-node is `cpu`. Measured
 * (docs/benchmarks.md, `npm run bench -- --backend cpu|wasm`): training on the default fused path
 * runs at the same speed on both (planar K=32 step, 10th percentile 0.71 ms on cpu vs 0.72 ms on
 * wasm; Sylvester K=16 0.82 vs 0.82 ms), because its step runs in typed-array loops and touches
 * tfjs only for Adam's assigns; cpu starts synchronously and hands the fused ops tensor memory
 * without copies. The op-by-op reference path is ~2x faster on wasm (planar 33 vs 73 ms): use
 * wasm for it, or for other op-heavy tfjs work.
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
