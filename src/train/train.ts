/**
 * The training loop: reverse KL with Adam, seeded, in chunks.
 *
 * The library owns the loop; a notebook or the CLI plugs in through `onStep` / `onChunk`.
 * Between chunks the loop awaits, so a SIGINT listener (see stop.ts) can run and stop it at a
 * clean boundary with the tfjs engine intact.
 *
 * Deliberately absent: ReduceLROnPlateau-style schedulers on noisy single-batch losses (in the
 * talk's code one drove lr to 1e-8 by step 8000 of 20000 and training silently stopped).
 * The available schedules are functions of the step only.
 */
import { tf } from '../core/backend';
import { type Flow, type FlowPath } from '../flows/flow';
import { hasFusedOp } from '../flows/compose';
import { arrayKernelOf } from '../flows/kernel';
import { Adam } from './adam';
import { lossKernel } from './kernel';
import { annealBeta, reverseKLTerms } from './loss';
import { runChunked, startLoopHistory, type LoopHistory } from './loop';
import { Rng } from '../core/random';
import { fillLatticeNormal } from '../core/lattice';
import type { StopSignal } from '../core/stop';
import { targetKernelOf } from '../targets/kernel';
import { asTarget, type LogProbFn, type Target } from '../targets/target';
import { checkInRange, describeValue, checkOneOf, checkPositive, checkPositiveInt, checkSeed } from '../core/validate';

export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];
/**
 * How a batch of base samples is drawn: 'mc', independent N(0, I) draws; 'rqmc', a randomly
 * shifted rank-1 lattice through Φ⁻¹ (core/lattice.ts): unbiased, and far less noisy in 2-D.
 */
export const BASE_SAMPLINGS = ['mc', 'rqmc'] as const;
export type BaseSampling = (typeof BASE_SAMPLINGS)[number];

export interface TrainOptions {
  /** Optimisation steps (default 1000). */
  steps?: number;
  /** Samples per step (default 512). */
  batch?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Learning-rate schedule over `steps` (default constant). */
  lrSchedule?: LrSchedule;
  /** Final lr of the cosine schedule as a fraction of `lr`, in [0, 1] (default 0.01). */
  lrMinFraction?: number;
  /** Seed of the base samples (default 0). */
  seed?: number;
  /**
   * Base samples of each batch (default 'mc'): 'rqmc' spreads them over a randomly shifted
   * lattice, so each gradient is less noisy at the same cost (docs/compare-families.md has the
   * measured KL gaps).
   */
  sampling?: BaseSampling;
  /**
   * Anneal β_t = min(1, 0.01 + t/T): `true` uses T = steps/2 (β reaches 1 half way, leaving
   * half the run at the true target); a number sets T; false/0 keeps β = 1.
   */
  anneal?: boolean | number;
  /** Steps between awaits / onChunk calls (default 100). */
  chunkSize?: number;
  /** 'fused' (default; falls back to the reference when a flow has no fused op) or 'reference'. */
  path?: FlowPath;
  /** Stop at the next chunk boundary when set. */
  stop?: StopSignal;
  onStep?: (info: StepInfo) => void;
  onChunk?: (info: ChunkInfo) => void | Promise<void>;
  /**
   * Called at every step, before Adam applies them, with the step's loss and gradients: to check
   * a hand-written training step against this loop. Costs a copy of the gradients per step.
   */
  onGradients?: (info: GradientInfo) => void;
}

export interface GradientInfo {
  step: number;
  /** The minimised objective of this step: mean(log q - β log p̃). */
  loss: number;
  beta: number;
  /** ∂loss/∂v for each of `flow.variables`, in that order (copies). */
  grads: Float32Array[];
}

export interface StepInfo {
  step: number;
  /** Minimised objective: mean(log q - β log p̃). */
  loss: number;
  /** Free energy at β = 1: mean(log q - log p̃), whose floor is -log Z. */
  freeEnergy: number;
  beta: number;
  lr: number;
  ms: number;
}

export interface ChunkInfo {
  /** Steps done so far. */
  step: number;
  steps: number;
  history: TrainHistory;
  elapsedMs: number;
}

export interface TrainHistory extends LoopHistory {
  step: number[];
  loss: number[];
  freeEnergy: number[];
  beta: number[];
  lr: number[];
  /** The path taken: 'reference' when 'fused' was asked of a flow without a fused op. */
  path: FlowPath;
}

/** Learning rate at `step` of `steps`. */
export function learningRate(
  step: number,
  steps: number,
  lr: number,
  schedule: LrSchedule,
  minFraction = 0.01,
): number {
  if (schedule === 'constant') return lr;
  const progress = Math.min(1, step / Math.max(1, steps));
  const min = lr * minFraction;
  return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
}

/** `flow` must be a Flow object (dim and trainable variables), checked before any compute. */
export function checkFlow(name: string, flow: unknown): Flow {
  const f = flow as Flow | null;
  if (f === null || typeof f !== 'object' || !Array.isArray(f.variables) || typeof f.forward !== 'function') {
    throw new TypeError(`${name} must be a flow (e.g. new PlanarFlow(...)), got ${f === null ? 'null' : typeof f}`);
  }
  checkPositiveInt(`${name}.dim`, f.dim);
  return f;
}

/**
 * Fit `flow` to `target` by minimising the reverse KL. Resolves to the history when all steps
 * ran or the stop signal was set; the history's `stoppedReason` says why it ended early (a
 * non-finite loss, say). `target` is a Target or a plain function z: [N, D] -> log p̃(z): [N]
 * (then D is the flow's dim).
 *
 * `flow` is any object implementing `Flow`: a class written in a notebook cell with only
 * `forward` trains on the tfjs tape (tf.variableGrads through its `forward`); the library's
 * flows with a fused kernel train without it, to the same loss and gradients.
 *
 * The defaults here are the plain objective (constant lr, β = 1); the CLI's defaults add
 * `lrSchedule: 'cosine'` and `anneal: true` (README "Choosing the defaults").
 */
export async function train(
  flow: Flow,
  targetIn: Target | LogProbFn,
  options: TrainOptions = {},
): Promise<TrainHistory> {
  checkFlow('flow', flow);
  const target = asTarget(targetIn, flow.dim);
  if (options === null || typeof options !== 'object')
    throw new TypeError(`options must be an object, got ${String(options)}`);
  const steps = checkPositiveInt('steps', options.steps ?? 1000);
  const batch = checkPositiveInt('batch', options.batch ?? 512);
  const lr = checkPositive('lr', options.lr ?? 1e-3);
  const schedule = checkOneOf('lrSchedule', options.lrSchedule ?? 'constant', LR_SCHEDULES);
  const sampling = checkOneOf('sampling', options.sampling ?? 'mc', BASE_SAMPLINGS);
  // Below 0 the cosine schedule ends at a negative lr (gradient ascent); above 1 it rises.
  const lrMinFraction = checkInRange('lrMinFraction', options.lrMinFraction ?? 0.01, 0, 1);
  const seed = checkSeed('seed', options.seed ?? 0);
  const chunkSize = checkPositiveInt('chunkSize', options.chunkSize ?? 100);
  const path = checkOneOf('path', options.path ?? 'fused', ['fused', 'reference'] as const);
  const annealOpt = options.anneal ?? false;
  if (
    annealOpt !== true &&
    annealOpt !== false &&
    (typeof annealOpt !== 'number' || !(annealOpt >= 0) || !Number.isFinite(annealOpt))
  ) {
    throw new RangeError(`anneal must be true, false or a number of steps >= 0, got ${describeValue(annealOpt)}`);
  }
  const annealSteps = annealOpt === true ? Math.max(1, Math.floor(steps / 2)) : annealOpt === false ? 0 : annealOpt;
  if (target.dim !== flow.dim) throw new RangeError(`target has dim ${target.dim} but the flow has dim ${flow.dim}`);
  if (flow.variables.length === 0) throw new RangeError('flow has no trainable variables');

  const rng = new Rng(seed);
  // z0: [batch, D], the same draws on both paths
  const drawBase = (): Float32Array => {
    const z0 = new Float32Array(batch * flow.dim);
    return sampling === 'rqmc' ? fillLatticeNormal(rng, z0, batch, flow.dim) : rng.fillNormal(z0);
  };
  // Adam with tf.train.adam's exact update, in typed-array loops (adam.ts): tfjs's own costs
  // ~12 small ops per variable per step, as much as a fused flow's whole forward pass.
  const optimizer = new Adam(flow.variables, lr);
  // Fastest: when the flow and the target both have plain-array kernels registered, the fused
  // path runs the step without the tfjs tape at all (LossKernel.step: same loss and gradients).
  const arrayLoss = path === 'fused' ? lossKernel() : undefined;
  const targetKernel = arrayLoss ? targetKernelOf(target) : undefined;
  const flowKernel = targetKernel ? arrayKernelOf(flow) : undefined;
  const history: TrainHistory = {
    step: [],
    loss: [],
    freeEnergy: [],
    beta: [],
    lr: [],
    ...startLoopHistory(),
    path: path === 'fused' && !hasFusedOp(flow) ? 'reference' : path,
  };
  const loop = { steps, chunkSize, stop: options.stop };
  try {
    return await runChunked(history, {
      ...loop,
      step: (t) => {
        const beta = annealSteps > 0 ? annealBeta(t, annealSteps) : 1;
        const stepLr = learningRate(t, steps, lr, schedule, lrMinFraction);
        optimizer.learningRate = stepLr;
        let loss: number;
        let lp: number;
        if (flowKernel) {
          const z0 = drawBase();
          const r = arrayLoss!.step(flowKernel, targetKernel!, z0, batch, flow.dim, beta);
          options.onGradients?.({ step: t, loss: r.loss, beta, grads: r.grads.map((g) => Float32Array.from(g)) });
          optimizer.applyGradientArrays(r.grads);
          loss = r.loss;
          lp = r.meanLogP;
        } else {
          // One tidy around the whole step: when the target or the flow throws, nothing leaks.
          [loss, lp] = tf.tidy(() => {
            const z0 = tf.tensor2d(drawBase(), [batch, flow.dim]); // z0: [batch, D]
            let meanLogP: tf.Scalar | null = null; // kept out of variableGrads' own tidy
            try {
              const { value: cost, grads } = tf.variableGrads(() => {
                const terms = reverseKLTerms(flow, target, z0, beta, path);
                meanLogP = tf.keep(terms.meanLogP);
                return terms.loss;
              }, flow.variables);
              if (options.onGradients) {
                const copies = flow.variables.map((v) =>
                  Float32Array.from(grads[v.name]?.dataSync() ?? new Float32Array(v.size)),
                );
                options.onGradients({ step: t, loss: cost.dataSync()[0]!, beta, grads: copies });
              }
              optimizer.applyGradients(grads);
              return [cost.dataSync()[0]!, (meanLogP as tf.Scalar | null)?.dataSync()[0] ?? NaN];
            } finally {
              (meanLogP as tf.Scalar | null)?.dispose();
            }
          });
        }
        history.step.push(t);
        history.loss.push(loss);
        history.freeEnergy.push(loss + (beta - 1) * lp);
        history.beta.push(beta);
        history.lr.push(stepLr);
        return loss;
      },
      afterStep: (t, loss, ms) =>
        options.onStep?.({
          step: t,
          loss,
          freeEnergy: history.freeEnergy[t]!,
          beta: history.beta[t]!,
          lr: history.lr[t]!,
          ms,
        }),
      onChunk: (h) => options.onChunk?.({ step: h.stepsDone, steps, history: h, elapsedMs: h.wallMs }),
    });
  } finally {
    optimizer.dispose();
  }
}
