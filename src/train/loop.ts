/**
 * The chunked training loop shared by `train` (reverse KL) and `trainMaxLikelihood` (forward KL).
 *
 * Steps run synchronously in chunks; between chunks the loop updates the timings, calls
 * `onChunk` and awaits once, so that a SIGINT listener (stop.ts) or a live display can run. A stop
 * request therefore takes effect at a chunk boundary, never inside a tfjs step.
 */
import { tf } from '../core/backend';
import { median } from '../core/numerics';
import type { StopSignal } from '../core/stop';

/**
 * Free what a gradient computation that threw left behind. tfjs keeps the tensors each op saves
 * for its backward pass on the engine's tape and frees them only when the backward pass runs;
 * when the forward pass throws (a target that throws, a wrong shape) they stay allocated (229
 * tensors for a planar K=8 step). Call after a throw, outside any gradient computation.
 */
export function disposeAbandonedTape(): void {
  const state = tf.engine().state as { gradientDepth: number; activeTape: { saved?: tf.Tensor[] }[] | null };
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) node.saved?.forEach((t) => t.dispose());
  state.activeTape = null;
}

/** The fields every training history has. */
export interface LoopHistory {
  /** Median wall time per step after the first 10% (warm-up), in ms. */
  msPerStep: number;
  wallMs: number;
  stepsDone: number;
  /** Why training ended early, or null when it ran all steps. */
  stoppedReason: string | null;
}

/** A history's loop fields before the first step. */
export function startLoopHistory(): LoopHistory {
  return { msPerStep: NaN, wallMs: 0, stepsDone: 0, stoppedReason: null };
}

export interface ChunkedLoopOptions<H extends LoopHistory> {
  steps: number;
  chunkSize: number;
  stop?: StopSignal;
  /** One optimisation step; returns its loss. */
  step: (t: number) => number;
  /** After a step with a finite loss, with its wall time. */
  afterStep?: (t: number, loss: number, ms: number) => void;
  /** After each chunk. */
  onChunk?: (history: H) => void | Promise<void>;
}

/**
 * Run `step(t)` for t = 0 … steps-1 in chunks; fills the timing fields of `history` and ends
 * early on a stop request (at a chunk boundary) or on a non-finite loss.
 */
export async function runChunked<H extends LoopHistory>(history: H, options: ChunkedLoopOptions<H>): Promise<H> {
  const { steps, chunkSize, stop } = options;
  const times: number[] = [];
  const t0 = performance.now();
  const updateTimes = (): void => {
    history.wallMs = performance.now() - t0;
    history.msPerStep = median(times.slice(Math.floor(times.length / 10)));
  };
  for (let start = 0; start < steps; start += chunkSize) {
    if (stop?.stopped) {
      history.stoppedReason = stop.reason;
      break;
    }
    const end = Math.min(steps, start + chunkSize);
    for (let t = start; t < end; t++) {
      const ts = performance.now();
      let loss: number;
      try {
        loss = options.step(t);
      } catch (err) {
        disposeAbandonedTape();
        throw err;
      }
      const ms = performance.now() - ts;
      times.push(ms);
      history.stepsDone = t + 1;
      if (!Number.isFinite(loss)) {
        history.stoppedReason = `loss became ${loss} at step ${t}`;
        break;
      }
      options.afterStep?.(t, loss, ms);
    }
    updateTimes();
    if (history.stoppedReason) break;
    await options.onChunk?.(history);
    // Yield to the event loop: SIGINT listeners and display updates run here.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  updateTimes();
  if (history.stoppedReason === null && stop?.stopped && history.stepsDone < steps) {
    history.stoppedReason = stop.reason;
  }
  return history;
}
