#!/usr/bin/env node
/**
 * Command-line trainer: fit a flow to a target by reverse KL, print a summary, optionally JSON.
 *
 *   npm run train -- --target U1 --flow planar --K 32 --steps 10000 --seed 0 --json out.json
 *
 * Run `npm run train -- --help` for every option.
 */
import { parseArgs } from 'node:util';
import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  initBackend,
  getTarget,
  makeFlow,
  train,
  evaluate,
  stopOnInterrupt,
  numParams,
  sampleFlow,
  logProbOnGrid,
  TARGET_NAMES,
  DOMAIN_NAMES,
  FLOW_NAMES,
  DENSITY_FLOW_NAMES,
  HIDDEN_FLOW_NAMES,
  FLOW_FAST_DIRECTION,
  SYLVESTER_VARIANTS,
  LR_SCHEDULES,
  BASE_SAMPLINGS,
  gaussianMixtureBaseline,
  checkOneOf,
  checkPositiveInt,
  checkPositive,
  checkSeed,
  MAX_SEED,
  penguinsSpeciesModel,
  penguinsSexModel,
  gridPosteriorMoments,
  autoGrid,
  readCSVColumns,
  standardize,
  trainTestSplit,
  takeRows,
  checkDistinct,
  checkColumnsForFitting,
  trainMaxLikelihood,
  logLikelihood,
  gaussianBaseline,
  hasFusedOp,
  compose,
  AffineFlow,
  Composition,
  klChainRule,
  type Flow,
  type Grid2D,
  type TrainHistory,
  type Target,
} from '../src';
import {
  samplesPlot,
  lossPlot,
  smallMultiples,
  saveFigure,
  interactivePlot,
  historyTraces,
  samplesTraces,
  densityTraces,
} from '../src/viz';

/** Defaults chosen by measurement (README "Choosing the defaults"). */
export const DEFAULTS = {
  target: 'U1',
  flow: 'planar',
  K: 32,
  M: 2,
  variant: 'orthogonal',
  steps: 10000,
  batch: 512,
  lr: 1e-3,
  lrSchedule: 'cosine',
  sampling: 'mc',
  seed: 0,
  anneal: true,
  envelope: true,
  domain: 'window',
  evalSamples: 100000,
  path: 'fused',
} as const;

/**
 * Per-target overrides of DEFAULTS for U2-U4 (steps and lr for any flow and domain; `K` only for
 * the planar flow), measured in the default window (docs/targets-domain.md): planar K = 64 at
 * lr 1e-2 reached KL gap <= 0.1 and ESS/N >= 0.5 on every seed tried (0-4) in 6000 steps, with
 * wide margins. U1's lr 1e-3 misses on U3 and U4; K = 32 at lr 1e-2 needs 10000 steps and its
 * U4 ESS is fragile (2 of 3 seeds below 0.5 at 8000). U1 keeps DEFAULTS (README).
 */
export const TARGET_DEFAULTS: Readonly<
  Record<string, { readonly steps: number; readonly lr: number; readonly K?: number }>
> = {
  U2: { steps: 6000, lr: 1e-2, K: 64 },
  U3: { steps: 6000, lr: 1e-2, K: 64 },
  U4: { steps: 6000, lr: 1e-2, K: 64 },
};

/**
 * Defaults of --data mode, measured on penguins bill length vs depth (250 training rows): about
 * 500 steps before the held-out likelihood starts to fall (overfitting).
 */
export const MLE_DEFAULTS = { K: 4, steps: 500, batch: 128, lr: 5e-3 } as const;

/**
 * Per-flow overrides of MLE_DEFAULTS for the spline flows, chosen on the penguins bills over
 * seeds 10-29 (20 other train/test splits; seeds 0-2, which the docs report, took no part).
 * Mean held-out log-likelihood per row, 500 steps
 * (`npm run train -- --flow nsf --data data/penguins.csv --columns bill_length_mm,bill_depth_mm --seed S --K K --bins B`):
 * nsf K = 3, 4 bins -2.516; K = 2, 4 bins -2.543; K = 4, 4 bins -2.551; K = 3, 3 bins -2.528;
 * nsf-ar K = 2, 3 bins -2.503; K = 2, 4 bins -2.526; K = 1, 4 bins -2.525; K = 3, 3 bins -2.516;
 * K = 4 with the spline's 8 bins -2.555 on seeds 10-14 alone, where 4 bins gave -2.435: splines with
 * 8 or 16 bins fit the 250 training rows closely (train -2.25 to -2.05) and lose held-out rows. The
 * coupling flow at MLE_DEFAULTS: -2.621.
 */
export const MLE_FLOW_DEFAULTS: Readonly<Record<string, { readonly K: number; readonly bins: number }>> = {
  nsf: { K: 3, bins: 4 },
  'nsf-ar': { K: 2, bins: 3 },
};

/**
 * Layers of the MADE / spline flows when sampling: each layer is an MLP (the library's default
 * K = 4), so K = 32 would cost 8x the time of a flow that is already far more expressive per layer.
 */
const MLP_FLOW_K = 4;
const MLP_FLOWS: readonly string[] = ['maf', 'iaf', 'nsf', 'nsf-ar', 'nsf-iaf'];

/**
 * Reverse-KL defaults of the spline flows (nsf, nsf-iaf, nsf-ar). The splines act on [-B, B] and
 * are the identity outside, where no sample moves θ: a base sample pushed beyond ±B stays in the
 * linear tail. So B must cover the target (U1-U4 live in about [-4, 4]: B = 5), and annealing is
 * off: at β = 0.01 the flattened target spreads the samples past ±B, where they stay. Measured on
 * U3 (nsf K = 4, 8 bins, 2000 steps, batch 128, lr 3e-3, cosine; KL gap from 20000 samples):
 * B = 5 without annealing 0.022, with annealing 0.243; B = 4 without annealing 0.057; B = 3 (the
 * spline's default, right for standardised data) with annealing 0.199 at lr 1e-2.
 */
const SPLINE_SAMPLING = { bound: 5, anneal: false } as const;

/**
 * Reverse-KL sizes, batch and lr of the spline flows, chosen for the sampling use case: each step
 * of a spline layer costs about 4 µs per sample against planar K = 32's 1 µs for all 32 layers, so
 * at equal wall time (planar K = 32's CLI run, about 3.2 s on U2-U4) small conditioners at small
 * batches win. Chosen on U1-U4 with seeds 1 and 2 (seed 0 is the one docs/compare-families.md
 * reports), each run given the steps that fill about 3.2 s at its ms/step (they took 2.4-3.7 s;
 * the first sweeps calibrated on 100 steps and undershot; where a setting ran in both, the later
 * 500-step calibration is quoted). KL gap, U1 / U2 / U3 / U4, mean of the two seeds:
 * - nsf-iaf K = 1, H = 16, 16 bins, batch 128, lr 5e-3: 0.014 / 0.002 / 0.021 / 0.017 (chosen);
 *   24 bins, batch 64: 0.014 / 0.002 / 0.017 / 0.020; 32 bins, batch 64: 0.014 / 0.003 / 0.029 /
 *   0.031; 24 bins, batch 64, lr 3e-3: 0.017 / 0.003 / 0.047 / 0.050; H = 32: U3 0.073, U4 0.029;
 *   K = 2 (8 bins, batch 128, lr 3e-3; seed 0 only): U3 0.076, U4 0.21. One autoregressive
 *   layer is the right shape in 2-D: x1 from a free spline, x2 from a spline conditioned on x1.
 * - nsf K = 4, H = 16, 8 bins, batch 128, lr 3e-3: 0.017 / 0.006 / 0.030 / 0.122 (chosen); 16 bins:
 *   0.054 / 0.011 / 0.020 / 0.197; K = 2, 16 bins: 0.067 / 0.041 / 0.155 / 0.166.
 * Before (K = 4, H = 32, 8 bins, batch 512, lr 1e-2 on U2-U4, seed 0): nsf 0.036 / 0.016 / 0.095 /
 * 0.207, nsf-iaf 0.082 / 0.081 / 0.120 / 0.321. Scratch runs of `train` with the steps that fill
 * 3.2 s at the flow's ms/step, KL gap from 100000 samples.
 */
export const SPLINE_SAMPLING_DEFAULTS: Readonly<
  Record<
    string,
    { readonly K: number; readonly hidden: number; readonly bins?: number; readonly batch: number; readonly lr: number }
  >
> = {
  nsf: { K: 4, hidden: 16, batch: 128, lr: 3e-3 },
  'nsf-iaf': { K: 1, hidden: 16, bins: 16, batch: 128, lr: 5e-3 },
};
/** "nsf 4, nsf-iaf 1": one field of SPLINE_SAMPLING_DEFAULTS for --help (flows that set it). */
function splineSamplingList(key: 'K' | 'hidden' | 'bins' | 'batch' | 'lr'): string {
  return Object.entries(SPLINE_SAMPLING_DEFAULTS)
    .filter(([, d]) => d[key] !== undefined)
    .map(([f, d]) => `${f} ${d[key]}`)
    .join(', ');
}
/**
 * --kl-split: the grid of `klChainRule`. U1-U4 live in about [-4, 4]²; 100 points per axis put 3.5
 * on each standard deviation of U3's branches (0.35), within 0.002 nats of 200 per axis (nsf-iaf
 * and planar on U3) at a quarter of the cost: nsf-iaf's inverse (D passes) runs op by op, about
 * 1 s on 100² points. The summary prints the flow's mass on the grid.
 */
const KL_SPLIT_GRID: Grid2D = { xlim: [-5, 5], ylim: [-5, 5], nx: 100, ny: 100 };

/** Hidden units of each layer's MLP (coupling, maf, iaf, nsf). */
const DEFAULT_HIDDEN = 32;

/**
 * A note when a flow runs in its slow direction: D MADE passes per layer instead of one.
 * `direction` is what this run needs: 'sample' (reverse KL) or 'density' (--data).
 */
function slowDirectionNote(flow: string, direction: 'sample' | 'density'): void {
  const fast = FLOW_FAST_DIRECTION[flow as keyof typeof FLOW_FAST_DIRECTION];
  if (fast === undefined || fast === 'both' || fast === direction) return;
  // fast where `flow` is slow
  const twins: Record<string, string> = { maf: 'iaf', iaf: 'maf', 'nsf-ar': 'nsf-iaf', 'nsf-iaf': 'nsf-ar' };
  const twin = twins[flow] ?? 'nsf';
  const what = direction === 'sample' ? 'samples' : 'evaluates densities';
  console.error(
    `note: --flow ${flow} ${what} with D passes per layer (slow in this direction); --flow ${twin} is fast here`,
  );
}

/** Posterior targets on the penguins data (src/targets/penguins.ts). */
const POSTERIOR_TARGETS = ['penguins-species', 'penguins-sex'] as const;
const ALL_TARGETS = [...TARGET_NAMES, ...POSTERIOR_TARGETS] as const;
/** Held-out share of rows in maximum-likelihood mode. */
const TEST_FRACTION = 0.25;

const HELP = `Train a normalizing flow by reverse KL on an unnormalised target, or by maximum
likelihood on the columns of a CSV file.

Usage: npm run train -- [options]
       npm run train -- --data data/penguins.csv --columns bill_length_mm,bill_depth_mm [options]

  --target NAME             U1|U2|U3|U4 (2-D demos) or penguins-species (2-D Bayesian logistic
                            regression posterior) or penguins-sex (5-D) (default ${DEFAULTS.target})
  --flow NAME               planar|sylvester|coupling|maf|iaf|nsf|nsf-ar|nsf-iaf (default
                            ${DEFAULTS.flow}; coupling with --data, which takes
                            coupling|maf|iaf|nsf|nsf-ar|nsf-iaf). One pass per layer: planar,
                            sylvester, iaf and nsf-iaf (inverse autoregressive spline) sample fast
                            (their density: D passes per layer); maf's and nsf-ar's (autoregressive
                            spline) density is fast (sampling: D passes); coupling and nsf
                            (rational-quadratic spline coupling) are fast both ways
  --K N                     number of layers (default ${DEFAULTS.K}; planar on U2-U4: ${TARGET_DEFAULTS.U2!.K})
                            (${MLP_FLOWS.map((f) => `${f} ${SPLINE_SAMPLING_DEFAULTS[f]?.K ?? MLP_FLOW_K}`).join(', ')}; with --data: ${MLE_DEFAULTS.K})
  --variant V               Sylvester: orthogonal|householder|triangular (default ${DEFAULTS.variant})
  --M N                     Sylvester: columns of Q, 1 <= M <= D, the target's dimension
                            (D = 2, or 5 for penguins-sex) (default ${DEFAULTS.M})
  --steps N                 optimisation steps (default ${DEFAULTS.steps}; U2-U4: ${TARGET_DEFAULTS.U2!.steps})
  --batch N                 samples per step (default ${DEFAULTS.batch}; ${splineSamplingList('batch')})
  --lr X                    Adam learning rate (default ${DEFAULTS.lr}; U2-U4: ${TARGET_DEFAULTS.U2!.lr};
                            ${splineSamplingList('lr')})
  --lr-schedule S           constant|cosine (default ${DEFAULTS.lrSchedule})
  --sampling S              mc|rqmc: each batch's base samples, independent draws or a randomly
                            shifted lattice (randomised quasi-Monte Carlo: the same expected
                            gradient, less noise; default ${DEFAULTS.sampling})
  --anneal / --no-anneal    β_t = min(1, 0.01 + t/T), T = steps/2 (default on)
  --anneal-steps T          anneal over T steps instead of steps/2
  --domain D                U2-U4 only: window|normflows|none (default ${DEFAULTS.domain}). window adds
                            ½((z1/3.3)⁸ + (z2/3.3)⁸), so [-4, 4]² holds ≥ 99% of the mass as in the
                            paper's figure; normflows adds ½(z1⁴ + z2⁴)/8⁴ (mass out to |z1| ≈ 10);
                            none: the bare energy, improper (no log Z, no KL gap)
  --envelope / --no-envelope  with / without the domain (--no-envelope = --domain none)
  --seed N                  seed of initialisation and samples, an integer in [0, 2^32 - 1]
                            (default ${DEFAULTS.seed})
  --eval-samples N          flow samples for ELBO / IS log Z / ESS (default ${DEFAULTS.evalSamples})
  --kl-split                U1-U4: split the KL gap by the chain rule along x1 on a grid
                            (nf.klChainRule): KL of the x1 marginals + expected KL of x2 given x1,
                            and the x1 where the latter peaks (not for sylvester: no inverse)
  --path fused|reference    fused kernels or the op-by-op reference (default ${DEFAULTS.path})
  --backend B               auto|cpu|wasm|tensorflow (default auto; env NF_BACKEND)
  --hidden N                coupling, maf, iaf, nsf, nsf-ar, nsf-iaf: hidden units per layer
                            (default ${DEFAULT_HIDDEN}; by reverse KL ${splineSamplingList('hidden')})
  --bins N                  nsf, nsf-ar, nsf-iaf: bins of each spline, N >= 2 (default 8;
                            by reverse KL ${splineSamplingList('bins')}; with --data: ${Object.entries(
                              MLE_FLOW_DEFAULTS,
                            )
                              .map(([f, d]) => `${f} ${d.bins}`)
                              .join(', ')})
  --bound B                 nsf, nsf-ar, nsf-iaf: the splines act on [-B, B], the identity outside
                            (default ${SPLINE_SAMPLING.bound}, without annealing unless --anneal; with --data: 3);
                            on the penguins posteriors an affine layer follows the splines
                            (x = μ + L s(z)) and moves them to the posterior

Maximum likelihood (forward KL) on data: the columns are standardised, ${TEST_FRACTION * 100}% of the rows are
held out (seeded), a density flow (coupling, maf, iaf, nsf, nsf-ar, nsf-iaf) is fitted and its
held-out mean log-likelihood is compared with a single Gaussian fitted to the same training rows
and with a Gaussian mixture fitted by EM (its number of components, up to 5, chosen by BIC).
  (defaults there: --flow coupling --K ${MLE_DEFAULTS.K} --steps ${MLE_DEFAULTS.steps} --batch ${MLE_DEFAULTS.batch} --lr ${MLE_DEFAULTS.lr};
   ${Object.entries(MLE_FLOW_DEFAULTS)
     .map(([f, d]) => `${f}: --K ${d.K} --bins ${d.bins}`)
     .join('; ')})
  --data FILE.csv           CSV file with a header row
  --columns a,b             numeric columns to model (at least 2)
  --json FILE               write the summary as JSON
  --plot FILE               save a figure (samples over the target, loss curve) as .png or .svg
  --interactive             open an interactive Plotly view in a browser (nodeplotlib, served on
                            127.0.0.1 only; no browser under CI or without a display;
                            keeps running until Ctrl-C)
  --quiet                   no progress bar
  -h, --help                this text

Ctrl-C stops training at the next chunk and still evaluates and prints the summary.
Options that do not apply to a run are reported ("note: ignored: ...").
Exit status: 0 done, 1 the run failed (diverged, non-finite result), 2 bad input (checked before
training, output paths included).`;

export interface CliSummary {
  backend: string;
  target: string;
  flow: string;
  K: number;
  params: number;
  steps: number;
  stepsDone: number;
  seed: number;
  batch: number;
  lr: number;
  /** How each batch's base samples were drawn (--sampling). */
  sampling: string;
  anneal: boolean;
  path: string;
  msPerStep: number;
  wallSeconds: number;
  finalLoss: number;
  elbo: number;
  logZ: number;
  logZTrue: number | null;
  klGap: number | null;
  essFraction: number;
  evalSamples: number;
  /** Evaluation samples whose log importance weight was not finite, left out of elbo/logZ/essFraction. */
  droppedWeights: number;
  stoppedReason: string | null;
  /**
   * With --kl-split: KL(q ‖ p) split by the chain rule along x1 on a grid (`klChainRule`): the x1
   * marginals' KL, the expected KL of x2 given x1, the x1 where the latter's integrand peaks, and
   * the flow's mass on the grid.
   */
  klSplit?: { marginal: number; conditional: number; peakX1: number; mass: number };
}

/** "0 of 100000", or with the share when some were dropped. */
function droppedText(dropped: number, n: number): string {
  return dropped === 0
    ? `0 of ${n}`
    : `${dropped} of ${n} (${((100 * dropped) / n).toPrecision(3)}%) not finite, left out`;
}

/** Write the summary; a failure here is a failed run (the path was checked before training). */
function writeJson(file: string, summary: object): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  console.error(`Wrote ${file}`);
}

function fmt(x: number | null, digits = 4): string {
  return x === null || !Number.isFinite(x) ? String(x) : x.toFixed(digits);
}

function progressLine(step: number, steps: number, loss: number, msPerStep: number): string {
  const width = 28;
  const filled = Math.round((width * step) / steps);
  const eta = ((steps - step) * msPerStep) / 1000;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${steps}  loss ${loss.toFixed(4)}  ${msPerStep.toFixed(2)} ms/step  ETA ${eta.toFixed(0)} s`;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
}

/**
 * Exit codes: 0 the run finished and every reported number is finite; 1 the run failed (training
 * diverged, the evaluation gave no finite number, an output could not be written); 2 bad input
 * (an option, a file), reported before any training.
 */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Bad input: the message names the option and the value given; exits with EXIT_BAD_INPUT. */
class InputError extends Error {}

/** A finite number in plain decimal or exponent notation: no hex (0x10), no Infinity, no blanks. */
const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** --name's value as a number; throws an InputError naming the option. */
function num(name: string, v: string | undefined): number {
  const x = Number(v);
  if (v === undefined || !DECIMAL_RE.test(v) || !Number.isFinite(x)) {
    throw new InputError(`--${name} must be a finite number, got "${v}" (write it in decimal, e.g. 32 or 1e-3)`);
  }
  return x;
}

/** Every library check, rethrown as bad input. */
function input<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Check, before any training, that `file` can be written: not a directory, its folder exists or
 * can be created, and the file can be opened for writing (a file created here is removed again).
 */
function checkWritable(option: string, file: string): void {
  if (file.trim() === '') throw new InputError(`${option} needs a file name, got ""`);
  try {
    if (existsSync(file) && statSync(file).isDirectory()) throw new Error('it is a directory');
    mkdirSync(dirname(file), { recursive: true });
    const existed = existsSync(file);
    closeSync(openSync(file, 'a'));
    if (!existed) unlinkSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EEXIST' || e.code === 'ENOTDIR'
        ? 'a part of its folder path is a file'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.message;
    throw new InputError(`${option} "${file}" cannot be written: ${why}`);
  }
}

/** Seeds derived from --seed for evaluation and plots, kept inside the generator's range. */
function derivedSeed(seed: number, offset: number): number {
  return (seed + offset) % (MAX_SEED + 1);
}

/** Dimension of each --target, so that --M can be checked before anything is built. */
const TARGET_DIMS: Record<(typeof ALL_TARGETS)[number], number> = {
  U1: 2,
  U2: 2,
  U3: 2,
  U4: 2,
  'penguins-species': 2,
  'penguins-sex': 5,
};

/** A note on stderr for each option that was given but does not apply. */
function reportIgnored(given: Record<string, unknown>, ignored: [string, string][]): void {
  for (const [option, why] of ignored) {
    if (given[option] !== undefined) console.error(`note: ignored: --${option} (${why})`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = input(() =>
    parseArgs({
      args: argv,
      options: {
        target: { type: 'string' },
        flow: { type: 'string' },
        K: { type: 'string' },
        M: { type: 'string' },
        variant: { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        'lr-schedule': { type: 'string' },
        sampling: { type: 'string' },
        anneal: { type: 'boolean' },
        'no-anneal': { type: 'boolean' },
        'anneal-steps': { type: 'string' },
        envelope: { type: 'boolean' },
        'no-envelope': { type: 'boolean' },
        domain: { type: 'string' },
        seed: { type: 'string' },
        'eval-samples': { type: 'string' },
        path: { type: 'string' },
        backend: { type: 'string' },
        hidden: { type: 'string' },
        bins: { type: 'string' },
        bound: { type: 'string' },
        data: { type: 'string' },
        columns: { type: 'string' },
        json: { type: 'string' },
        plot: { type: 'string' },
        'kl-split': { type: 'boolean' },
        interactive: { type: 'boolean' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }),
  );
  if (values.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  if (values.anneal && values['no-anneal'])
    throw new InputError('--anneal and --no-anneal contradict each other; give one');
  if (values.envelope && values['no-envelope'])
    throw new InputError('--envelope and --no-envelope contradict each other; give one');
  if (values.backend !== undefined)
    input(() => checkOneOf('--backend', values.backend, ['auto', 'cpu', 'wasm', 'tensorflow'] as const));
  if (values.data !== undefined || values.columns !== undefined) return maxLikelihoodMain(values);
  const target = input(() => checkOneOf('--target', values.target ?? DEFAULTS.target, ALL_TARGETS));
  const flowName = input(() => checkOneOf('--flow', values.flow ?? DEFAULTS.flow, FLOW_NAMES));
  const variant = input(() => checkOneOf('--variant', values.variant ?? DEFAULTS.variant, SYLVESTER_VARIANTS));
  const M = input(() => checkPositiveInt('--M', num('M', values.M ?? String(DEFAULTS.M))));
  const D = TARGET_DIMS[target];
  if (flowName === 'sylvester' && M > D)
    throw new InputError(`--M must be <= D (= ${D}), got ${M} (D is the dimension of ${target})`);
  const own = TARGET_DEFAULTS[target];
  const splineOwn = SPLINE_SAMPLING_DEFAULTS[flowName];
  const ownK =
    flowName === 'planar' ? own?.K : (splineOwn?.K ?? (MLP_FLOWS.includes(flowName) ? MLP_FLOW_K : undefined));
  const K = input(() => checkPositiveInt('--K', num('K', values.K ?? String(ownK ?? DEFAULTS.K))));
  const steps = input(() =>
    checkPositiveInt('--steps', num('steps', values.steps ?? String(own?.steps ?? DEFAULTS.steps))),
  );
  const batch = input(() =>
    checkPositiveInt('--batch', num('batch', values.batch ?? String(splineOwn?.batch ?? DEFAULTS.batch))),
  );
  const lr = input(() =>
    checkPositive('--lr', num('lr', values.lr ?? String(splineOwn?.lr ?? own?.lr ?? DEFAULTS.lr))),
  );
  const seed = input(() => checkSeed('--seed', num('seed', values.seed ?? String(DEFAULTS.seed))));
  const evalSamples = input(() =>
    checkPositiveInt('--eval-samples', num('eval-samples', values['eval-samples'] ?? String(DEFAULTS.evalSamples))),
  );
  const lrSchedule = input(() =>
    checkOneOf('--lr-schedule', values['lr-schedule'] ?? DEFAULTS.lrSchedule, LR_SCHEDULES),
  );
  const sampling = input(() => checkOneOf('--sampling', values.sampling ?? DEFAULTS.sampling, BASE_SAMPLINGS));
  const path = input(() => checkOneOf('--path', values.path ?? DEFAULTS.path, ['fused', 'reference'] as const));
  const isSpline = SPLINE_FLOWS.includes(flowName);
  const anneal = values['no-anneal'] ? false : (values.anneal ?? (isSpline ? SPLINE_SAMPLING.anneal : DEFAULTS.anneal));
  const annealSteps =
    values['anneal-steps'] !== undefined
      ? input(() => checkPositiveInt('--anneal-steps', num('anneal-steps', values['anneal-steps'])))
      : undefined;
  const envelope = values['no-envelope'] ? false : (values.envelope ?? DEFAULTS.envelope);
  const domain = envelope
    ? input(() => checkOneOf('--domain', values.domain ?? DEFAULTS.domain, DOMAIN_NAMES))
    : 'none';
  const hidden = input(() =>
    checkPositiveInt('--hidden', num('hidden', values.hidden ?? String(splineOwn?.hidden ?? DEFAULT_HIDDEN))),
  );
  const bins = parseBins(values.bins) ?? splineOwn?.bins;
  const bound = parseBound(values.bound) ?? (isSpline ? SPLINE_SAMPLING.bound : undefined);
  if (values.json !== undefined) checkWritable('--json', values.json);
  if (values.plot !== undefined) {
    if (!/\.(png|svg)$/i.test(values.plot))
      throw new InputError(`--plot must name a .png or .svg file, got "${values.plot}"`);
    checkWritable('--plot', values.plot);
  }
  const isSylvester = flowName === 'sylvester';
  const ignored: [string, string][] = [];
  if (!isSylvester)
    ignored.push(
      ['M', `only --flow sylvester has M; this is --flow ${flowName}`],
      ['variant', `only --flow sylvester has variants; this is --flow ${flowName}`],
    );
  ignored.push(...mlpIgnored(flowName));
  if (!anneal) ignored.push(['anneal-steps', 'annealing is off: --no-anneal']);
  if (D !== 2)
    ignored.push(
      ['plot', `${target} has ${D} dimensions; the plots are 2-D`],
      ['interactive', `${target} has ${D} dimensions; the plots are 2-D`],
    );
  if (!(TARGET_NAMES as readonly string[]).includes(target) || (target !== 'U1' && !envelope))
    ignored.push(['kl-split', `needs U1-U4 with their log Z (in a domain for U2-U4); this is ${target}`]);
  else if (isSylvester) ignored.push(['kl-split', "needs the flow's density on a grid, and Sylvester has no inverse"]);
  if (!['U2', 'U3', 'U4'].includes(target)) {
    const why = `only U2-U4 take a domain; this is ${target}`;
    ignored.push(['envelope', why], ['no-envelope', why], ['domain', why]);
  } else if (!envelope) ignored.push(['domain', '--no-envelope drops the domain']);
  reportIgnored(values, ignored);
  const klSplit = values['kl-split'] === true && !ignored.some(([option]) => option === 'kl-split');
  slowDirectionNote(flowName, 'sample');

  const backend = await initBackend(values.backend as 'auto' | 'cpu' | 'wasm' | 'tensorflow' | undefined).catch(
    (err: unknown) => {
      throw new InputError(`--backend: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
  const tgt = resolveTarget(target, domain);
  const built = input(() =>
    makeFlow({ flow: flowName, dim: tgt.dim, K, M: isSylvester ? M : undefined, variant, seed, hidden, bins, bound }),
  );
  // A posterior can sit far from the origin: penguins-species has w2 ≈ 5.8 ± 1.0, past the splines'
  // [-5, 5], where they are the identity (nsf-iaf alone: KL gap 1.66 at ESS/N 0.99, the mass beyond
  // 5 never sampled). On the posteriors the spline flows end with an affine layer, x = μ + L s(z)
  // (AffineFlow, starting at the identity), which moves and scales while the splines shape: KL gap
  // 0.020 (nsf-iaf, 3000 steps; nsf 1.64 -> 0.006; planar K = 16 alone: 0.039).
  const onPosterior = (POSTERIOR_TARGETS as readonly string[]).includes(target);
  const flow = isSpline && onPosterior ? compose(built, new AffineFlow(tgt.dim)) : built;
  const tty = process.stderr.isTTY && !values.quiet;
  console.error(
    `Training ${flow.name} (${numParams(flow)} parameters) on ${tgt.name}: ${steps} steps, batch ${batch}${sampling === 'rqmc' ? ' (rqmc)' : ''}, lr ${lr} (${lrSchedule}), ` +
      `${anneal ? `annealed over ${annealSteps ?? Math.floor(steps / 2)} steps` : 'no annealing'}, seed ${seed}, backend ${backend}, ${path === 'fused' && !hasFusedOp(flow) ? 'reference path (no fused kernel for this flow)' : `${path} path`}`,
  );

  const stop = stopOnInterrupt();
  let recent: number[] = [];
  let lastPrint = 0;
  let history: TrainHistory;
  try {
    history = await train(flow, tgt, {
      steps,
      batch,
      lr,
      lrSchedule,
      sampling,
      seed,
      path,
      stop,
      anneal: anneal ? (annealSteps ?? true) : false,
      chunkSize: 100,
      onStep: ({ loss }) => {
        recent.push(loss);
      },
      onChunk: ({ step, history: h }) => {
        const loss = mean(recent);
        recent = [];
        if (tty) {
          process.stderr.write(`\r${progressLine(step, steps, loss, h.msPerStep)}`);
        } else if (!values.quiet && (step - lastPrint >= steps / 10 || step === steps)) {
          lastPrint = step;
          console.error(progressLine(step, steps, loss, h.msPerStep));
        }
      },
    });
  } finally {
    stop.dispose();
  }
  if (tty) process.stderr.write('\n');
  if (history.stoppedReason)
    console.error(`Stopped early: ${history.stoppedReason} (after ${history.stepsDone} steps)`);
  const diverged = history.stoppedReason !== null && history.stoppedReason.startsWith('loss became');

  console.error(`Evaluating with ${evalSamples} flow samples ...`);
  const d = evaluate(flow, tgt, { samples: evalSamples, seed: derivedSeed(seed, 1000003), path });
  let split: CliSummary['klSplit'];
  if (klSplit) {
    console.error(`Splitting the KL gap by the chain rule on a ${KL_SPLIT_GRID.nx}² grid ...`);
    const c = klChainRule(flow, tgt, KL_SPLIT_GRID);
    const peak = c.conditionalDensity.indexOf(Math.max(...c.conditionalDensity));
    split = { marginal: c.marginal, conditional: c.conditional, peakX1: c.x1[peak]!, mass: c.mass };
  }
  const summary: CliSummary = {
    backend,
    target: tgt.name,
    flow: flow.name,
    K,
    params: numParams(flow),
    ...splineSummary(flow),
    steps,
    stepsDone: history.stepsDone,
    seed,
    batch,
    lr,
    sampling,
    anneal,
    path: history.path,
    msPerStep: history.msPerStep,
    wallSeconds: history.wallMs / 1000,
    finalLoss: mean(history.freeEnergy.slice(-500)),
    elbo: d.elbo,
    logZ: d.logZ,
    logZTrue: d.logZTrue,
    klGap: d.klGap,
    essFraction: d.essFraction,
    evalSamples,
    droppedWeights: d.droppedWeights,
    stoppedReason: history.stoppedReason,
    ...(split ? { klSplit: split } : {}),
  };
  const rows: [string, string][] = [
    ['backend', backend],
    ['flow', `${flow.name}, ${summary.params} parameters`],
    [
      'target',
      tgt.name + (tgt.logZ === undefined && target !== 'penguins-sex' ? ' (no domain: log Z does not exist)' : ''),
    ],
    ['steps', `${history.stepsDone} of ${steps}`],
    ['ms per step', fmt(history.msPerStep, 2)],
    ['wall time', `${fmt(summary.wallSeconds, 1)} s`],
    ['free energy (last 500)', fmt(summary.finalLoss)],
    ['ELBO', fmt(d.elbo)],
    ['IS log Z', fmt(d.logZ)],
    ['true log Z', fmt(d.logZTrue)],
    ['KL gap', fmt(d.klGap)],
    ['ESS/N', fmt(d.essFraction, 3)],
    ['dropped weights', droppedText(d.droppedWeights, evalSamples)],
    ...(split
      ? ([
          ['KL, x1 marginal', fmt(split.marginal)],
          ['KL, x2 given x1', `${fmt(split.conditional)} (peak at x1 = ${fmt(split.peakX1, 2)})`],
          ['flow mass on grid', fmt(split.mass, 4)],
        ] as [string, string][])
      : []),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
  if (values.json) writeJson(values.json, summary);
  const failure = diverged
    ? `training diverged (${history.stoppedReason})`
    : !Number.isFinite(d.elbo) || !Number.isFinite(d.logZ)
      ? 'the evaluation gave no finite ELBO / IS log Z'
      : null;
  if (d.droppedWeights > 0 && failure === null) {
    console.error(
      `warning: ${d.droppedWeights} of ${evalSamples} importance weights were not finite and were left out of ELBO, IS log Z and ESS/N`,
    );
  }
  if (failure !== null) {
    console.error(`error: the run failed: ${failure}${values.plot || values.interactive ? '; no plot' : ''}`);
    flow.dispose();
    return EXIT_RUN_FAILED;
  }
  if ((values.plot || values.interactive) && tgt.dim === 2) {
    // U1-U4 in the paper's window; a posterior wherever it lies (± 4 sd around its mean)
    const grid = onPosterior
      ? autoGrid(tgt, { halfWidthSds: 4, n: 160 })
      : { xlim: [-4, 4] as [number, number], ylim: [-4, 4] as [number, number], nx: 160, ny: 160 };
    const background = logProbOnGrid(tgt.logProb, grid);
    const samples = sampleFlow(flow, 2000, { seed: derivedSeed(seed, 7), path });
    if (values.plot) {
      const fig = smallMultiples(
        [
          // the name without its sizes (printed above), so that the title fits the panel
          samplesPlot(samples, { background, grid, title: `${flow.name.replace(/\([^)]*\)/g, '')} on ${tgt.name}` }),
          lossPlot(history, { logZ: d.logZTrue, title: 'free energy per step' }),
        ],
        { columns: 2 },
      );
      console.error(`Wrote ${saveFigure(fig, values.plot)}`);
    }
    if (values.interactive) {
      interactivePlot([...densityTraces(background, grid), ...samplesTraces(samples)], {
        title: `${flow.name} on ${tgt.name}`,
      });
      interactivePlot(historyTraces(history, d.logZTrue), { title: 'training loss' });
      flow.dispose();
      return -1; // keep the process alive for the server
    }
  }
  flow.dispose();
  return 0;
}

/**
 * The target by name. For the 2-D penguins posterior the true log evidence comes from a float64
 * grid (src/diagnostics/moments.ts); the 5-D one has none (IS log Z is the estimate).
 */
function resolveTarget(name: (typeof ALL_TARGETS)[number], domain: (typeof DOMAIN_NAMES)[number]): Target {
  if (name === 'penguins-species') {
    const { target } = penguinsSpeciesModel();
    const logZ = gridPosteriorMoments(target, autoGrid(target)).logZ;
    // The spec carries the data of the registered fast kernel (src/kernels/logistic.ts).
    const species = { name: 'penguins-species', dim: target.dim, logProb: target.logProb, logZ, spec: target.spec };
    return species;
  }
  if (name === 'penguins-sex') {
    const { target } = penguinsSexModel();
    const sex = { name: 'penguins-sex', dim: target.dim, logProb: target.logProb, spec: target.spec };
    return sex;
  }
  return getTarget(name, { domain });
}

type Values = Record<string, string | boolean | undefined>;

/** --bins, checked whichever the flow (only nsf uses it); undefined: the spline's default. */
function parseBins(v: string | boolean | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  return input(() => checkPositiveInt('--bins', num('bins', v), 2));
}

/** bins and bound of a spline flow's splines, for the JSON summary ({} for other flows). */
function splineSummary(flow: Flow): { bins?: number; bound?: number } {
  const parts = flow instanceof Composition ? flow.flows : [flow];
  const spline = parts.map((f) => (f as { spline?: { bins: number; bound: number } }).spline).find((s) => s);
  return spline ? { bins: spline.bins, bound: spline.bound } : {};
}

/** --bound, checked whichever the flow; undefined: the default of the mode. */
function parseBound(v: string | boolean | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  return input(() => checkPositive('--bound', num('bound', v)));
}

/** The flows with rational-quadratic splines: they take --bins and --bound. */
const SPLINE_FLOWS: readonly string[] = ['nsf', 'nsf-ar', 'nsf-iaf'];

/** --hidden and --bins where the flow has no MLP / no spline. */
function mlpIgnored(flowName: string): [string, string][] {
  const ignored: [string, string][] = [];
  if (!(HIDDEN_FLOW_NAMES as readonly string[]).includes(flowName))
    ignored.push([
      'hidden',
      `only --flow ${HIDDEN_FLOW_NAMES.join('|')} have hidden units; this is --flow ${flowName}`,
    ]);
  if (!SPLINE_FLOWS.includes(flowName))
    ignored.push(
      ['bins', `only --flow ${SPLINE_FLOWS.join('|')} have bins; this is --flow ${flowName}`],
      ['bound', `only --flow ${SPLINE_FLOWS.join('|')} have a spline bound; this is --flow ${flowName}`],
    );
  return ignored;
}

/**
 * The mixture baseline's EM starts: GMM_RESTARTS, fewer on big data so that its cost (linear in
 * rows × starts) stays near a second: about 0.6 s for the 250 penguins at 10 starts.
 */
const GMM_RESTARTS = 10;
const GMM_ROW_BUDGET = 5000;

/** Rows --data needs: 1 held out and 3 to fit (a Gaussian in 2-D needs more than 2 points). */
const MIN_DATA_ROWS = 4;

/** --data mode: maximum likelihood of a density flow (coupling, maf, iaf, nsf) on standardised CSV columns. */
async function maxLikelihoodMain(values: Values): Promise<number> {
  if (typeof values.data !== 'string' || typeof values.columns !== 'string') {
    throw new InputError('--data FILE.csv and --columns a,b go together');
  }
  const file = values.data;
  const columns = values.columns
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (columns.length < 2) throw new InputError(`--columns needs at least 2 columns, got "${values.columns}"`);
  input(() => checkDistinct('--columns', columns));
  const str = (v: string | boolean | undefined, d: unknown): string => (typeof v === 'string' ? v : String(d));
  const flowName = input(() => checkOneOf('--flow (with --data)', str(values.flow, 'coupling'), DENSITY_FLOW_NAMES));
  const own = MLE_FLOW_DEFAULTS[flowName];
  const K = input(() => checkPositiveInt('--K', num('K', str(values.K, own?.K ?? MLE_DEFAULTS.K))));
  const steps = input(() => checkPositiveInt('--steps', num('steps', str(values.steps, MLE_DEFAULTS.steps))));
  const batch = input(() => checkPositiveInt('--batch', num('batch', str(values.batch, MLE_DEFAULTS.batch))));
  const lr = input(() => checkPositive('--lr', num('lr', str(values.lr, MLE_DEFAULTS.lr))));
  const seed = input(() => checkSeed('--seed', num('seed', str(values.seed, DEFAULTS.seed))));
  const hidden = input(() => checkPositiveInt('--hidden', num('hidden', str(values.hidden, DEFAULT_HIDDEN))));
  const bins = parseBins(values.bins) ?? own?.bins;
  const bound = parseBound(values.bound);
  if (typeof values.json === 'string') checkWritable('--json', values.json);
  const notHere = 'not used with --data: maximum likelihood on CSV columns';
  reportIgnored(
    values,
    [
      'target',
      'M',
      'variant',
      'path',
      'plot',
      'interactive',
      'eval-samples',
      'kl-split',
      'lr-schedule',
      'sampling',
      'anneal',
      'no-anneal',
      'anneal-steps',
      'envelope',
      'no-envelope',
      'domain',
    ]
      .map((o) => [o, notHere] as [string, string])
      .concat(mlpIgnored(flowName)),
  );
  slowDirectionNote(flowName, 'density');

  // The file, read and checked in full before any compute: every message names the file.
  if (!existsSync(file)) throw new InputError(`--data "${file}" does not exist`);
  if (statSync(file).isDirectory()) throw new InputError(`--data "${file}" is a directory, not a CSV file`);
  const table = input(() => readCSVColumns(file, columns));
  input(() => checkColumnsForFitting(table.matrix, columns, file, MIN_DATA_ROWS));
  const D = columns.length;
  const split = trainTestSplit(table.rows, { testFraction: TEST_FRACTION, seed });
  const trainRaw = takeRows(table.matrix, D, split.train);
  const testRaw = takeRows(table.matrix, D, split.test);
  input(() =>
    checkColumnsForFitting(
      trainRaw,
      columns,
      `${file} (its ${split.train.length} training rows, seed ${seed})`,
      MIN_DATA_ROWS - 1,
    ),
  );

  const backend = await initBackend(values.backend as 'auto' | 'cpu' | 'wasm' | 'tensorflow' | undefined).catch(
    (err: unknown) => {
      throw new InputError(`--backend: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
  const std = standardize(trainRaw, D);
  const train = std.x;
  const test = standardize(testRaw, D, std).x;
  // The baseline first: collinear columns (a singular covariance) are bad input, found before training.
  const gauss = input(() => {
    try {
      return gaussianBaseline(train, test, D);
    } catch (err) {
      throw new Error(`${file}: columns ${columns.join(', ')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  // The other yardstick: the Gaussian mixture the training rows support (K by BIC)
  const gmm = gaussianMixtureBaseline(train, test, D, {
    seed,
    restarts: Math.max(2, Math.min(GMM_RESTARTS, Math.floor(GMM_ROW_BUDGET / split.train.length))),
  });
  const flow = makeFlow({ flow: flowName, dim: D, K, hidden, seed, bins, bound });
  console.error(
    `Maximum likelihood: ${flow.name} flow on ${file} [${columns.join(', ')}]: ` +
      `${split.train.length} training rows, ${split.test.length} held out; ${steps} steps, batch ${batch}, lr ${lr}, seed ${seed}, backend ${backend}`,
  );
  const stop = stopOnInterrupt();
  let history;
  try {
    history = await trainMaxLikelihood(flow, train, {
      steps,
      batch,
      lr,
      seed,
      stop,
      onChunk: ({ step, history: h }) => {
        if (!values.quiet) console.error(progressLine(step, steps, mean(h.loss.slice(-100)), h.msPerStep));
      },
    });
  } finally {
    stop.dispose();
  }
  const summary = {
    backend,
    mode: 'maximum-likelihood',
    data: values.data,
    columns,
    flow: flowName,
    K,
    hidden,
    ...splineSummary(flow),
    steps,
    stepsDone: history.stepsDone,
    seed,
    batch,
    lr,
    msPerStep: history.msPerStep,
    wallSeconds: history.wallMs / 1000,
    trainRows: split.train.length,
    testRows: split.test.length,
    trainLogLik: logLikelihood(flow, train, 'mean'),
    testLogLik: logLikelihood(flow, test, 'mean'),
    gaussianTrainLogLik: gauss.trainLogLik,
    gaussianTestLogLik: gauss.testLogLik,
    mixtureComponents: gmm.components,
    mixtureTrainLogLik: gmm.trainLogLik,
    mixtureTestLogLik: gmm.testLogLik,
    stoppedReason: history.stoppedReason,
  };
  const rows: [string, string][] = [
    ['backend', backend],
    ['flow', `${flow.name}, ${numParams(flow)} parameters`],
    ['steps', `${history.stepsDone} of ${steps}`],
    ['ms per step', fmt(history.msPerStep, 2)],
    ['train log-lik / row', `${fmt(summary.trainLogLik)} (Gaussian ${fmt(gauss.trainLogLik)})`],
    ['held-out log-lik / row', `${fmt(summary.testLogLik)} (Gaussian ${fmt(gauss.testLogLik)})`],
    ['flow beats Gaussian by', `${fmt(summary.testLogLik - gauss.testLogLik)} nats per held-out row`],
    [
      `Gaussian mixture, K = ${gmm.components}`,
      `held-out ${fmt(gmm.testLogLik)} (K by BIC on the training rows; EM): the flow is ` +
        `${fmt(Math.abs(summary.testLogLik - gmm.testLogLik))} nats per row ${summary.testLogLik >= gmm.testLogLik ? 'ahead' : 'behind'}`,
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
  if (typeof values.json === 'string') writeJson(values.json, summary);
  flow.dispose();
  if (history.stoppedReason?.startsWith('loss became')) {
    console.error(`error: the run failed: training diverged (${history.stoppedReason})`);
    return EXIT_RUN_FAILED;
  }
  if (!Number.isFinite(summary.trainLogLik) || !Number.isFinite(summary.testLogLik)) {
    console.error('error: the run failed: the fitted flow gives a non-finite log-likelihood');
    return EXIT_RUN_FAILED;
  }
  return EXIT_OK;
}

/** Exit with EXIT_BAD_INPUT for bad input, EXIT_RUN_FAILED for anything else; never a stack trace. */
main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const bad = err instanceof InputError;
    console.error(`error: ${bad ? '' : 'the run failed: '}${err instanceof Error ? err.message : String(err)}`);
    process.exit(bad ? EXIT_BAD_INPUT : EXIT_RUN_FAILED);
  },
);
