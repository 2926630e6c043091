/**
 * Training-step benchmark: fused vs reference path (and optionally PyTorch).
 *
 *   npm run bench -- [--steps 300] [--ref-steps 60] [--warmup 50] [--repeats 3]
 *                    [--backend cpu|wasm] [--json FILE] [--scaling] [--scaling-coupling] [--peer]
 *                    [--cases KEY,...]
 *
 * Eleven cases, each on both paths of the library, median ms/step after the warm-up steps (median
 * over repeats of the per-run medians; --cases keeps those whose key contains one of the given
 * strings, e.g. --cases mafMLE,iafKL,couplingKL):
 *
 *   planar K=32, orthogonal Sylvester K=16 M=2   reverse KL on U1, batch 512, Adam lr 1e-3
 *   coupling MLE K=4 H=32                         CouplingFlow + trainMaxLikelihood on the CLI's
 *                                                 --data rows (penguin bill length × depth,
 *                                                 standardised), batch 128, lr 5e-3
 *   posterior planar K=16                         reverse KL on the penguins-species posterior
 *                                                 (the CLI's batch 512, lr 1e-3)
 *   MAF MLE K=4 H=32                              as coupling MLE, with MaskedAutoregressiveFlow
 *   IAF / coupling reverse KL K=4 H=32            reverse KL on U1, batch 128, lr 1e-3
 *   NSF MLE K=4 H=32 bins 8 batch 128             SplineCouplingFlow, the coupling MLE row's data,
 *                                                 batch and lr (PyTorch: torch_nsf_mle.py)
 *   NSF reverse KL on U1                          SplineCouplingFlow K=4 H=32 bins 8, batch 512, lr 1e-3
 *   NSF-AR MLE, NSF-IAF reverse KL on U1          SplineAutoregressiveFlow ('data' / 'base'), as the
 *                                                 two NSF rows
 *
 * The reference path is 10-100x slower, so it runs --ref-steps timed steps after 10 warm-up steps
 * (its median is steady long before that); so does coupling MLE while trainMaxLikelihood has no
 * `path` option (one tape path, detected at run time). --scaling adds fused ms/step vs K and vs
 * batch; --scaling-coupling prints, instead of the main table, coupling-MLE ms/step vs batch and
 * vs hidden width, library vs PyTorch (with --peer). --peer also times the same steps in PyTorch (1 thread) with the project's yardsticks
 * in scripts/peer/ (Debian's python3-torch; skipped without it) and checks that the library and
 * PyTorch give the same losses on the first steps where the yardstick starts from the library's
 * own draws.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs as utilParseArgs } from 'node:util';
import { initBackend, type BackendName } from '../src/core/backend';
import { median } from '../src/core/numerics';
// The fast path registers itself on import (as the package root does).
import '../src/kernels';
import type { Flow, FlowPath } from '../src/flows/flow';
import { hasFusedOp } from '../src/flows/compose';
import { CouplingFlow, type InvertibleFlow } from '../src/flows/coupling';
import { InverseAutoregressiveFlow } from '../src/flows/iaf';
import { MaskedAutoregressiveFlow } from '../src/flows/maf';
import { PlanarFlow } from '../src/flows/planar';
import { SylvesterFlow } from '../src/flows/sylvester';
import { SplineCouplingFlow } from '../src/flows/spline-coupling';
import { SplineAutoregressiveFlow } from '../src/flows/spline-autoregressive';
import { readCSVColumns, standardize, takeRows, trainTestSplit } from '../src/targets/data';
import { getTarget } from '../src/targets/energies';
import { penguinsCSVPath, penguinsSpeciesModel } from '../src/targets/penguins';
import type { Target } from '../src/targets/target';
import { trainMaxLikelihood, type MaxLikelihoodOptions } from '../src/train/mle';
import { train } from '../src/train/train';
import { maxRelDiff, runPeer, type PeerResult } from './peer/peer';

interface Args {
  steps: number;
  refSteps: number;
  warmup: number;
  repeats: number;
  backend: BackendName | 'auto';
  json: string | null;
  scaling: boolean;
  scalingCoupling: boolean;
  peer: boolean;
  /** Only the main-table cases whose key contains one of these (comma-separated --cases), or all. */
  cases: string[] | null;
}

const USAGE =
  'usage: npm run bench -- [--steps N] [--ref-steps N] [--warmup N] [--repeats N] [--backend cpu|wasm] [--json FILE] [--scaling] [--scaling-coupling] [--peer] [--cases KEY,...]';

/** Command line through Node's own `util.parseArgs` (unknown options and missing values throw). */
function parseArgs(argv: string[]): Args {
  const { values } = utilParseArgs({
    args: argv,
    strict: true,
    options: {
      steps: { type: 'string', default: '300' },
      'ref-steps': { type: 'string', default: '60' },
      warmup: { type: 'string', default: '50' },
      repeats: { type: 'string', default: '3' },
      backend: { type: 'string', default: 'auto' },
      json: { type: 'string' },
      scaling: { type: 'boolean', default: false },
      'scaling-coupling': { type: 'boolean', default: false },
      peer: { type: 'boolean', default: false },
      cases: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const a: Args = {
    steps: Number(values.steps),
    refSteps: Number(values['ref-steps']),
    warmup: Number(values.warmup),
    repeats: Number(values.repeats),
    backend: values.backend as BackendName | 'auto',
    json: values.json ?? null,
    scaling: values.scaling,
    scalingCoupling: values['scaling-coupling'],
    peer: values.peer,
    cases: values.cases ? values.cases.split(',').map((k) => k.trim()) : null,
  };
  for (const key of ['steps', 'refSteps', 'warmup', 'repeats'] as const) {
    const min = key === 'warmup' ? 0 : 1;
    const flag = key === 'refSteps' ? 'ref-steps' : key;
    if (!Number.isInteger(a[key]) || a[key] < min)
      throw new RangeError(`--${flag} must be an integer >= ${min}, got ${String(a[key])}`);
  }
  return a;
}

/** Warm-up steps of the slow runs (reference path, tape-only coupling MLE). */
const SLOW_WARMUP = 10;
/** Coupling MLE as the CLI's --data mode (scripts/train.ts MLE_DEFAULTS, TEST_FRACTION). */
const MLE = { K: 4, hidden: 32, batch: 128, lr: 5e-3, testFraction: 0.25 } as const;
/** The penguins-species posterior as the CLI trains it (its default batch and lr). */
const POSTERIOR = { K: 16, batch: 512, lr: 1e-3 } as const;
/** --scaling-coupling: library runs are 5 + 20 steps (a step at batch 4096 or H 256 is ~0.4 s). */
const COUPLING_SCALING = { warmup: 5, steps: 20, peerWarmup: 20, peerSteps: 100 } as const;

/** One training run: `steps` steps on `path`, calling `onStep` after each. */
type Run = (path: FlowPath, steps: number, onStep: (step: number, loss: number, ms: number) => void) => Promise<void>;

type FlowFactory = () => Flow;
const planar =
  (K: number): FlowFactory =>
  () =>
    new PlanarFlow({ K, seed: 0 });
const sylvester =
  (K: number, M = 2): FlowFactory =>
  () =>
    new SylvesterFlow({ K, M, variant: 'orthogonal', seed: 0 });

/** Reverse KL with train(): a fresh flow on `target`, seed 0, constant lr, no annealing. */
const reverseKL =
  (make: FlowFactory, target: Target, batch = 512, lr = 1e-3): Run =>
  async (path, steps, onStep) => {
    const flow = make();
    try {
      await train(flow, target, {
        steps,
        batch,
        lr,
        seed: 0,
        path,
        chunkSize: 1000,
        onStep: (s) => onStep(s.step, s.loss, s.ms),
      });
    } finally {
      flow.dispose();
    }
  };

/** trainMaxLikelihood's options with the `path` option being added to it (issue 11). */
type MleOptions = MaxLikelihoodOptions & { path?: FlowPath };

/**
 * Whether trainMaxLikelihood takes `path`: it rejects a bad one (a RangeError naming `path`),
 * reports the path taken in its history, or a kernel is registered for CouplingFlow.
 */
async function mleHasPathOption(data: Float32Array): Promise<boolean> {
  const flow = new CouplingFlow({ dim: 2, K: 2, hidden: 2, seed: 0 });
  try {
    if (hasFusedOp(flow)) return true;
    const probe: MleOptions = { steps: 1, batch: 2, path: 'no-such-path' as unknown as FlowPath };
    const history = await trainMaxLikelihood(flow, data, probe);
    return 'path' in history;
  } catch (err) {
    return err instanceof RangeError && /path/.test(err.message);
  } finally {
    flow.dispose();
  }
}

/** Coupling MLE with trainMaxLikelihood on `data` ([N, 2]); `path` is passed when it exists. */
const couplingMLE =
  (data: Float32Array, withPath: boolean, hidden: number = MLE.hidden, batch: number = MLE.batch): Run =>
  async (path, steps, onStep) => {
    const flow = new CouplingFlow({ dim: 2, K: MLE.K, hidden, seed: 0 });
    const options: MleOptions = {
      steps,
      batch,
      lr: MLE.lr,
      seed: 0,
      chunkSize: 1000,
      onStep: (s) => onStep(s.step, s.loss, s.ms),
    };
    if (withPath) options.path = path;
    try {
      await trainMaxLikelihood(flow, data, options);
    } finally {
      flow.dispose();
    }
  };

/** The CLI's --data rows: penguin bill length × depth, training split standardised: [N, 2]. */
function penguinBills(): Float32Array {
  const table = readCSVColumns(penguinsCSVPath(), ['bill_length_mm', 'bill_depth_mm']);
  const split = trainTestSplit(table.rows, { testFraction: MLE.testFraction, seed: 0 });
  return standardize(takeRows(table.matrix, 2, split.train), 2).x;
}

/** 10th percentile: on a shared, busy machine the fastest steps are the least disturbed ones. */
function p10(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(0.1 * (s.length - 1))]!;
}

// ---- Neural spline flow (SplineCouplingFlow, src/kernels/spline-coupling.ts) rows ----

/** NSF as the coupling MLE row (same K, H, batch, lr, data), 8 bins on [-3, 3]. */
const NSF = { K: MLE.K, hidden: MLE.hidden, bins: 8, batch: MLE.batch, lr: MLE.lr } as const;

const nsf = (): SplineCouplingFlow =>
  new SplineCouplingFlow({ dim: 2, K: NSF.K, hidden: NSF.hidden, bins: NSF.bins, seed: 0 });

/**
 * Maximum likelihood with trainMaxLikelihood on `data` ([N, 2]): a fresh flow from `make`, seed 0,
 * on `path` (the rows whose trainMaxLikelihood has `path`; see couplingMLE for the others).
 */
const maxLikelihood =
  (data: Float32Array, make: () => InvertibleFlow, batch: number, lr: number): Run =>
  async (path, steps, onStep) => {
    const flow = make();
    try {
      await trainMaxLikelihood(flow, data, {
        steps,
        batch,
        lr,
        seed: 0,
        chunkSize: 1000,
        path,
        onStep: (s) => onStep(s.step, s.loss, s.ms),
      });
    } finally {
      flow.dispose();
    }
  };

/** NSF maximum likelihood on `data` ([N, 2]), as `couplingMLE` (`make`: the flow). */
const nsfMLE = (data: Float32Array, make: () => InvertibleFlow = nsf): Run =>
  maxLikelihood(data, make, NSF.batch, NSF.lr);

/** The NSF rows of the main table: MLE on the penguin bills, reverse KL on U1 (batch 512, lr 1e-3). */
function nsfCases(a: Args): Case[] {
  return [
    {
      key: 'nsfMLE',
      name: `NSF MLE K=${NSF.K} H=${NSF.hidden} bins ${NSF.bins} batch ${NSF.batch} (penguins bills)`,
      run: nsfMLE(penguinBills()),
      twoPaths: true,
      peer: {
        script: 'torch_nsf_mle.py',
        args: ['--threads', '1', '--seed', '0', '--steps', String(a.steps), '--warmup', String(a.warmup)].concat(
          ['--K', `${NSF.K}`, '--hidden', `${NSF.hidden}`, '--bins', `${NSF.bins}`],
          ['--batch', `${NSF.batch}`, '--lr', `${NSF.lr}`],
        ),
      },
    },
    {
      key: 'nsfU1',
      name: `NSF reverse KL on U1 K=${NSF.K} H=${NSF.hidden} bins ${NSF.bins}`,
      run: reverseKL(nsf, getTarget('U1')),
      twoPaths: true,
    },
  ];
}

// ---- end of the NSF rows ----

// ---- Autoregressive spline flow (SplineAutoregressiveFlow, src/kernels/spline-autoregressive.ts) rows ----

/** nsf-ar / nsf-iaf with the NSF rows' K, H and bins (so the two compare at equal size). */
const nsfAr =
  (conditionedOn: 'data' | 'base'): (() => SplineAutoregressiveFlow) =>
  () =>
    new SplineAutoregressiveFlow({ dim: 2, K: NSF.K, hidden: NSF.hidden, bins: NSF.bins, seed: 0, conditionedOn });

/** nsf-ar MLE on the penguin bills (as nsfMLE) and nsf-iaf reverse KL on U1 (as nsfU1). */
function nsfArCases(): Case[] {
  return [
    {
      key: 'nsfArMLE',
      name: `NSF-AR MLE K=${NSF.K} H=${NSF.hidden} bins ${NSF.bins} batch ${NSF.batch} (penguins bills)`,
      run: nsfMLE(penguinBills(), nsfAr('data')),
      twoPaths: true,
    },
    {
      key: 'nsfIafU1',
      name: `NSF-IAF reverse KL on U1 K=${NSF.K} H=${NSF.hidden} bins ${NSF.bins}`,
      run: reverseKL(nsfAr('base'), getTarget('U1')),
      twoPaths: true,
    },
  ];
}

// ---- end of the autoregressive spline rows ----

/** Losses of the first steps kept for the agreement check with PyTorch. */
const FIRST_LOSSES = 5;

/**
 * Per-step wall ms of one run after `warmup` steps, the process CPU ms per timed step (less
 * sensitive than wall time to other processes on a shared machine), and the first losses.
 */
async function stepTimes(
  run: Run,
  path: FlowPath,
  steps: number,
  warmup: number,
): Promise<{ times: number[]; cpuMs: number; firstLosses: number[] }> {
  const times: number[] = [];
  const firstLosses: number[] = [];
  const cpuStart = process.cpuUsage();
  let cpu0: NodeJS.CpuUsage | null = null;
  await run(path, warmup + steps, (step, loss, ms) => {
    if (step < FIRST_LOSSES) firstLosses.push(loss);
    if (step === warmup - 1) cpu0 = process.cpuUsage();
    if (step >= warmup) times.push(ms);
  });
  const cpu = process.cpuUsage(cpu0 ?? cpuStart);
  // With warmup 0 the CPU clock starts before the first step (the whole run is counted).
  return { times, cpuMs: (cpu.user + cpu.system) / 1000 / (cpu0 ? steps : steps + warmup), firstLosses };
}

/** One configuration to time: a run, its path and its step plan. */
interface Config {
  run: Run;
  path: FlowPath;
  steps: number;
  warmup: number;
}

interface Stats {
  median: number;
  p10: number;
  cpu: number;
  firstLosses: number[];
}

/** The default plan: fused runs --warmup + --steps, slow ones (reference, tape) 10 + --ref-steps. */
const plan = (a: Args, run: Run, path: FlowPath, slow = path === 'reference'): Config =>
  slow ? { run, path, steps: a.refSteps, warmup: SLOW_WARMUP } : { run, path, steps: a.steps, warmup: a.warmup };

/** Median of per-run medians, the 10th percentile of all timed steps, per configuration (interleaved). */
async function repeatedStats(configs: Config[], repeats: number): Promise<Stats[]> {
  const runs: number[][] = configs.map(() => []);
  const pooled: number[][] = configs.map(() => []);
  const cpu: number[][] = configs.map(() => []);
  const first: number[][] = configs.map(() => []);
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < configs.length; i++) {
      const { run, path, steps, warmup } = configs[i]!;
      const { times, cpuMs, firstLosses } = await stepTimes(run, path, steps, warmup);
      runs[i]!.push(median(times));
      pooled[i]!.push(...times);
      cpu[i]!.push(cpuMs);
      if (r === 0) first[i] = firstLosses;
    }
  }
  return runs.map((r, i) => ({
    median: median(r),
    p10: p10(pooled[i]!),
    cpu: median(cpu[i]!),
    firstLosses: first[i]!,
  }));
}

/** Median over `repeats` runs of a yardstick (of their medians and 10th percentiles). */
function peerRuns(script: string, args: string[], repeats: number): PeerResult | null {
  const ms: number[] = [];
  const p: number[] = [];
  let firstLosses: number[] | null = null;
  for (let r = 0; r < repeats; r++) {
    const m = runPeer(script, args);
    if (m === null) return null;
    ms.push(m.median);
    p.push(m.p10);
    firstLosses ??= m.firstLosses;
  }
  return { median: median(ms), p10: median(p), firstLosses };
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');
const cell = (m: number, p: number): string => `${fmt(m)} (${fmt(p)})`;
const ratio = (x: number, y: number, digits = 2): string =>
  Number.isFinite(x) && Number.isFinite(y) && y > 0 ? (x / y).toFixed(digits) : '—';

/** One row of the main table: a bench case, what it runs, and its PyTorch yardstick. */
interface Case {
  key: string;
  name: string;
  run: Run;
  /** false: one path only (coupling MLE before trainMaxLikelihood has `path`), shown as fused. */
  twoPaths: boolean;
  /** Its PyTorch yardstick, if there is one. */
  peer?: { script: string; args: string[] };
}

function cases(a: Args, bills: Float32Array, mlePath: boolean, posterior: Target): Case[] {
  const common = ['--threads', '1', '--seed', '0'];
  const timed = ['--steps', String(a.steps), '--warmup', String(a.warmup)];
  // torch_yardstick.py times the last 90% of --iters steps; no evaluation (it is not timed).
  const u1 = [...common, '--target', 'U1', '--iters', '600', '--batch', '512', '--lr', '1e-3', '--eval-samples', '0'];
  return [
    {
      key: 'planarK32',
      name: 'planar K=32',
      run: reverseKL(planar(32), getTarget('U1')),
      twoPaths: true,
      peer: { script: 'torch_yardstick.py', args: [...u1, '--flow', 'planar', '--K', '32'] },
    },
    {
      key: 'sylvesterK16',
      name: 'orthogonal Sylvester K=16 M=2',
      run: reverseKL(sylvester(16), getTarget('U1')),
      twoPaths: true,
      peer: { script: 'torch_yardstick.py', args: [...u1, '--flow', 'sylvester', '--K', '16', '--M', '2'] },
    },
    {
      key: 'couplingMLE',
      name: `coupling MLE K=${MLE.K} H=${MLE.hidden}${mlePath ? '' : ' †'}`,
      run: couplingMLE(bills, mlePath),
      twoPaths: mlePath,
      peer: {
        script: 'torch_coupling_mle.py',
        args: [...common, ...timed, '--K', `${MLE.K}`, '--hidden', `${MLE.hidden}`, '--batch', `${MLE.batch}`].concat([
          '--lr',
          `${MLE.lr}`,
        ]),
      },
    },
    {
      key: 'posteriorPlanarK16',
      name: `posterior planar K=${POSTERIOR.K}`,
      run: reverseKL(planar(POSTERIOR.K), posterior, POSTERIOR.batch, POSTERIOR.lr),
      twoPaths: true,
      peer: {
        script: 'torch_posterior.py',
        args: [
          ...common,
          ...timed,
          '--K',
          `${POSTERIOR.K}`,
          '--batch',
          `${POSTERIOR.batch}`,
          '--lr',
          `${POSTERIOR.lr}`,
        ],
      },
    },
  ];
}

// ---- The autoregressive flows (src/kernels/autoregressive.ts): MAF by maximum likelihood, IAF by
// reverse KL, each next to the coupling flow at the same K, H and batch (the speed target: within
// ~2x of the coupling flow's fused step).

/** MAF and IAF as the coupling MLE row: K = 4, H = 32, batch 128 (reverse KL on U1 with lr 1e-3). */
const AR = { K: MLE.K, hidden: MLE.hidden, batch: MLE.batch, klLr: 1e-3 } as const;

/** MAF MLE with trainMaxLikelihood on `data` ([N, 2]), on `path`. */
const mafMLE = (data: Float32Array): Run =>
  maxLikelihood(
    data,
    () => new MaskedAutoregressiveFlow({ dim: 2, K: AR.K, hidden: AR.hidden, seed: 0 }),
    AR.batch,
    MLE.lr,
  );

function autoregressiveCases(a: Args, bills: Float32Array): Case[] {
  const flowOptions = { K: AR.K, hidden: AR.hidden, seed: 0 };
  const u1 = getTarget('U1');
  return [
    {
      key: 'mafMLE',
      name: `MAF MLE K=${AR.K} H=${AR.hidden}`,
      run: mafMLE(bills),
      twoPaths: true,
      peer: {
        script: 'torch_maf_mle.py',
        args: ['--threads', '1', '--seed', '0', '--steps', String(a.steps), '--warmup', String(a.warmup)]
          .concat(['--K', `${AR.K}`, '--hidden', `${AR.hidden}`, '--batch', `${AR.batch}`])
          .concat(['--lr', `${MLE.lr}`]),
      },
    },
    {
      key: 'iafKL',
      name: `IAF reverse KL K=${AR.K} H=${AR.hidden} on U1, batch ${AR.batch}`,
      run: reverseKL(() => new InverseAutoregressiveFlow(flowOptions), u1, AR.batch, AR.klLr),
      twoPaths: true,
    },
    {
      key: 'couplingKL',
      name: `coupling reverse KL K=${AR.K} H=${AR.hidden} on U1, batch ${AR.batch}`,
      run: reverseKL(() => new CouplingFlow(flowOptions), u1, AR.batch, AR.klLr),
      twoPaths: true,
    },
  ];
}

/** --scaling: fused ms/step vs K and vs batch for planar and Sylvester on U1. */
async function scalingTables(a: Args): Promise<Record<string, unknown>> {
  const u1 = getTarget('U1');
  const steps = Math.max(50, Math.floor(a.steps / 2));
  const fused = (run: Run): Config => ({ run, path: 'fused', steps, warmup: a.warmup });
  const Ks = [1, 2, 4, 8, 16, 32, 64];
  const kp = await repeatedStats(
    Ks.map((K) => fused(reverseKL(planar(K), u1))),
    a.repeats,
  );
  const ks = await repeatedStats(
    Ks.map((K) => fused(reverseKL(sylvester(K), u1))),
    a.repeats,
  );
  const c = (x: { median: number; cpu: number }): string => `${fmt(x.median)} (${fmt(x.cpu)})`;
  console.log(
    '\nFused ms/step vs K (batch 512), wall median (CPU ms/step):\n\n| K | planar | orthogonal Sylvester M=2 |\n|---|---|---|',
  );
  Ks.forEach((K, i) => console.log(`| ${K} | ${c(kp[i]!)} | ${c(ks[i]!)} |`));
  const Ns = [64, 128, 256, 512, 1024, 2048, 4096, 8192];
  const np = await repeatedStats(
    Ns.map((N) => fused(reverseKL(planar(32), u1, N))),
    a.repeats,
  );
  const ns = await repeatedStats(
    Ns.map((N) => fused(reverseKL(sylvester(16), u1, N))),
    a.repeats,
  );
  console.log(
    '\nFused ms/step vs batch, wall median (CPU ms/step):\n\n| batch | planar K=32 | orthogonal Sylvester K=16 M=2 |\n|---|---|---|',
  );
  Ns.forEach((N, i) => console.log(`| ${N} | ${c(np[i]!)} | ${c(ns[i]!)} |`));
  return { K: Ks, planarByK: kp, sylvesterByK: ks, batch: Ns, planarByBatch: np, sylvesterByBatch: ns };
}

/** --scaling-coupling: coupling MLE ms/step vs batch (H 32) and vs hidden width (batch 128). */
async function couplingScalingTables(a: Args, bills: Float32Array, mlePath: boolean): Promise<Record<string, unknown>> {
  const sweeps = [
    {
      key: 'byBatch',
      label: 'batch',
      values: [64, 256, 1024, 4096],
      H: (_: number) => MLE.hidden,
      B: (n: number) => n,
    },
    {
      key: 'byHidden',
      label: 'hidden H',
      values: [16, 64, 128, 256],
      H: (h: number) => h,
      B: (_: number) => MLE.batch,
    },
  ];
  const out: Record<string, unknown> = {};
  const lib = mlePath ? 'library fused' : 'library (tape)';
  for (const s of sweeps) {
    const stats = await repeatedStats(
      s.values.map((v) => ({
        run: couplingMLE(bills, mlePath, s.H(v), s.B(v)),
        path: 'fused' as FlowPath,
        steps: COUPLING_SCALING.steps,
        warmup: COUPLING_SCALING.warmup,
      })),
      a.repeats,
    );
    const peers = s.values.map((v) =>
      a.peer
        ? peerRuns(
            'torch_coupling_mle.py',
            ['--threads', '1', '--seed', '0', '--K', `${MLE.K}`, '--lr', `${MLE.lr}`]
              .concat(['--hidden', `${s.H(v)}`, '--batch', `${s.B(v)}`])
              .concat(['--steps', `${COUPLING_SCALING.peerSteps}`, '--warmup', `${COUPLING_SCALING.peerWarmup}`]),
            a.repeats,
          )
        : null,
    );
    const fixed = s.key === 'byBatch' ? `hidden ${MLE.hidden}` : `batch ${MLE.batch}`;
    console.log(
      `\nCoupling MLE K=${MLE.K} ms/step vs ${s.label} (${fixed}), wall median (10th percentile); library CPU ms/step:\n`,
    );
    console.log(`| ${s.label} | ${lib} | library CPU |` + (a.peer ? ' PyTorch 1 thread | library/PyTorch |' : ''));
    console.log('|---|---|---|' + (a.peer ? '---|---|' : ''));
    s.values.forEach((v, i) => {
      const l = stats[i]!;
      const t = peers[i];
      const extra = a.peer ? ` ${t ? cell(t.median, t.p10) : '—'} | ${t ? ratio(l.median, t.median) : '—'} |` : '';
      console.log(`| ${v} | ${cell(l.median, l.p10)} | ${fmt(l.cpu)} |${extra}`);
    });
    out[s.key] = { [s.label]: s.values, library: stats, torch: peers };
  }
  return out;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const backend = await initBackend(a.backend);
  const bills = penguinBills();
  const mlePath = await mleHasPathOption(bills);
  const loads = (): string =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(', ');
  if (a.scalingCoupling) {
    // Only the coupling sweeps: the main table is `npm run bench` without this flag.
    console.log(`backend: ${backend}; load average at the start: ${loads()}`);
    const result = {
      backend,
      couplingPathOption: mlePath,
      scalingCoupling: await couplingScalingTables(a, bills, mlePath),
    };
    console.log(`\nload average at the end: ${loads()} (${cpus().length} cores)`);
    if (a.json) writeFileSync(a.json, JSON.stringify({ ...result, loadavg: loadavg() }, null, 2) + '\n');
    return;
  }
  const species = penguinsSpeciesModel().target;
  console.log(
    `backend: ${backend}; fused: ${a.warmup} warm-up + ${a.steps} timed steps, reference: ${SLOW_WARMUP} + ${a.refSteps}; ` +
      `median of ${a.repeats} runs; load average at the start: ${loads()}`,
  );
  const all = [
    ...cases(a, bills, mlePath, species),
    ...autoregressiveCases(a, bills),
    ...nsfCases(a),
    ...nsfArCases(),
  ].filter((c) => !a.cases || a.cases.some((key) => c.key.includes(key)));
  // fused and reference of every case, interleaved within each repeat
  const configs = all.flatMap((c) =>
    c.twoPaths ? [plan(a, c.run, 'fused'), plan(a, c.run, 'reference')] : [plan(a, c.run, 'fused', true)],
  );
  const stats = await repeatedStats(configs, a.repeats);
  const result: Record<string, unknown> = { backend, couplingPathOption: mlePath };
  const rows: { c: Case; f: Stats; r: Stats | null; t: PeerResult | null }[] = [];
  let at = 0;
  for (const c of all) {
    const f = stats[at++]!;
    const r = c.twoPaths ? stats[at++]! : null;
    // As many PyTorch runs as ours, median of their medians.
    const t = a.peer && c.peer ? peerRuns(c.peer.script, c.peer.args, a.repeats) : null;
    rows.push({ c, f, r, t });
    result[c.key] = {
      fusedMs: f.median,
      referenceMs: r?.median ?? null,
      fusedP10Ms: f.p10,
      referenceP10Ms: r?.p10 ?? null,
      fusedCpuMs: f.cpu,
      libraryFirstLosses: f.firstLosses,
      ...(a.peer
        ? { torchMs: t?.median ?? null, torchP10Ms: t?.p10 ?? null, torchFirstLosses: t?.firstLosses ?? null }
        : {}),
    };
  }
  result.loadavg = loadavg();

  console.log('\nms/step, median (10th percentile):\n');
  console.log('| flow | fused | reference | reference/fused |' + (a.peer ? ' PyTorch 1 thread | fused/PyTorch |' : ''));
  console.log('|---|---|---|---|' + (a.peer ? '---|---|' : ''));
  for (const { c, f, r, t } of rows) {
    const extra = a.peer
      ? ` ${t ? cell(t.median, t.p10) : '—'} | ${t ? `${ratio(f.median, t.median)} (${ratio(f.p10, t.p10)})` : '—'} |`
      : '';
    const ref = r ? `${cell(r.median, r.p10)} | ${ratio(r.median, f.median, 1)}x` : '— | —';
    console.log(`| ${c.name} | ${cell(f.median, f.p10)} | ${ref} |${extra}`);
  }
  console.log(
    `\nU1: batch 512, lr 1e-3. coupling MLE: penguin bill length × depth (the CLI's --data rows), batch ${MLE.batch}, ` +
      `lr ${MLE.lr}. posterior: penguins-species, batch ${POSTERIOR.batch}, lr ${POSTERIOR.lr}. ` +
      `MAF MLE: as coupling MLE. IAF and coupling reverse KL: U1, batch ${AR.batch}, lr ${AR.klLr}. ` +
      `NSF MLE: the coupling MLE rows, batch and lr; NSF on U1: batch 512, lr 1e-3. ` +
      `NSF-AR MLE and NSF-IAF on U1: as the NSF rows.`,
  );
  if (!mlePath)
    console.log(
      `† trainMaxLikelihood has no \`path\` option yet: its one (tape) path is in the fused column, ${SLOW_WARMUP} + ${a.refSteps} steps.`,
    );

  const checked = rows.filter((x) => x.t?.firstLosses && x.f.firstLosses.length > 0);
  if (checked.length > 0) {
    console.log(
      "\nSame start, same batches (the yardstick draws the library's Rng): loss at the initial parameters\n\n" +
        `| case | library, step 0 | PyTorch, step 0 | max rel. diff, steps 0-${FIRST_LOSSES - 1} |\n|---|---|---|---|`,
    );
    for (const { c, f, t } of checked) {
      const d = maxRelDiff(f.firstLosses, t!.firstLosses!);
      console.log(
        `| ${c.name} | ${f.firstLosses[0]!.toPrecision(8)} | ${t!.firstLosses![0]!.toPrecision(8)} | ${d.toExponential(1)} |`,
      );
    }
  }
  console.log(`\nload average at the end: ${loads()} (${cpus().length} cores)`);

  if (a.scaling) result.scaling = await scalingTables(a);
  species.dispose();
  if (a.json) {
    writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwrote ${a.json}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
