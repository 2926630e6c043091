/**
 * {@link trainLive}: `train` with one live notebook output, the helper every training notebook
 * wrote for itself. A progress line after every chunk, the loss curve every `liveEvery` steps,
 * and at the end one text line (the figures of the run follow in later cells). Outside tslab
 * the display is a no-op and trainLive is `train` plus the console line of an early stop.
 */
import { checkPositiveInt } from '../core/validate';
import type { Flow } from '../flows/flow';
import type { LogProbFn, Target } from '../targets/energies';
import { train, type ChunkInfo, type TrainHistory, type TrainOptions } from '../train/train';
import { liveDisplay } from './display';
import { lossPlot } from './training';

/**
 * Default steps between loss-curve frames. A frame costs ~0.2 s (PNG encoding, notebook 03's
 * measurement); at a few ms per step, 1000 steps take seconds, so frames add well under 10%.
 */
export const DEFAULT_LIVE_EVERY = 1000;
/** Free energies averaged for the progress line: the last 100 steps (one default chunk). */
const PROGRESS_WINDOW = 100;

/** Options of {@link trainLive}: those of `train`, a label, and the frame interval. */
export interface TrainLiveOptions extends TrainOptions {
  /** Names the run on the progress line and titles the loss curve, e.g. 'planar K=32 on U1'. */
  label: string;
  /** Steps between loss-curve frames (default {@link DEFAULT_LIVE_EVERY}). */
  liveEvery?: number;
}

/**
 * The progress line: `label: step s/S, F ≈ mean of the last 100 free energies (floor −log Z =
 * …), x ms/step`; the floor only when the target's log Z is known.
 */
export function progressLine(label: string, step: number, steps: number, history: TrainHistory, logZ?: number): string {
  const tail = history.freeEnergy.slice(-PROGRESS_WINDOW);
  const meanF = tail.length === 0 ? NaN : tail.reduce((s, x) => s + x, 0) / tail.length;
  const floor = logZ === undefined ? '' : ` (floor −log Z = ${(-logZ).toFixed(3)})`;
  return `${label}: step ${step}/${steps}, F ≈ ${meanF.toFixed(3)}${floor}, ${history.msPerStep.toFixed(1)} ms/step`;
}

/**
 * `train(flow, target, options)` with one live output that updates in place: the progress line
 * after every chunk until the first loss curve, then the line under the loss curve
 * (`lossPlot`, with the floor −log Z when known) every `liveEvery` steps; when training ends,
 * the final progress line alone. An early stop (a `StopSignal`, a non-finite loss) also prints
 * `label: stopped early (reason), n steps` to the console. Calls `options.onChunk` too.
 *
 * Returns the history: assign it (`runs.main = await trainLive(...)`) or end the cell with `;`,
 * or tslab prints the whole object.
 *
 * @example const history = await trainLive(flow, getTarget('U1'), {steps: 5000, label: 'planar K=32 on U1', stop});
 */
export async function trainLive(
  flow: Flow,
  target: Target | LogProbFn,
  options: TrainLiveOptions,
): Promise<TrainHistory> {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`options must be an object, got ${String(options)}`);
  const { label, liveEvery: liveEveryIn, ...trainOptions } = options;
  if (typeof label !== 'string' || label.length === 0) {
    throw new TypeError(`options.label must be a non-empty string, got ${JSON.stringify(label)}`);
  }
  const liveEvery = checkPositiveInt('liveEvery', liveEveryIn ?? DEFAULT_LIVE_EVERY);
  const logZ = typeof target === 'function' ? undefined : target?.logZ;
  const live = liveDisplay();
  let lastStep = 0;
  let totalSteps: number | undefined;
  let drawn = false;
  const onChunk = async (c: ChunkInfo): Promise<void> => {
    // A frame when this chunk crossed a multiple of liveEvery (any chunk size); none at the end.
    const frameDue = Math.floor(c.step / liveEvery) > Math.floor(lastStep / liveEvery);
    lastStep = c.step;
    totalSteps = c.steps;
    // Outside tslab the display drops updates: skip drawing them.
    if (live.active && c.step < c.steps) {
      const line = progressLine(label, c.step, c.steps, c.history, logZ);
      if (frameDue) {
        live.update(line, lossPlot(c.history, { logZ, title: label }));
        drawn = true;
      } else if (!drawn) live.update(line); // text only until the first loss curve
    }
    await options.onChunk?.(c);
  };
  const history = await train(flow, target, { ...trainOptions, onChunk });
  // Without a chunk (stopped before the first) the total is only known when it was given.
  const steps = totalSteps ?? options.steps ?? history.stepsDone;
  live.update(progressLine(label, history.stepsDone, steps, history, logZ));
  if (history.stoppedReason !== null) {
    console.log(`${label}: stopped early (${history.stoppedReason}), ${history.stepsDone} steps`);
  }
  return history;
}
