#!/usr/bin/env node
/**
 * Planar vs Sylvester on U1 at equal parameter counts: the learning-rate sweep behind notebook 04 §4.8.
 *
 *   node --import tsx scripts/compare-flows.ts                  # the sweep -> docs/compare-flows.json
 *   node --import tsx scripts/compare-flows.ts --steps 200 --lrs 1e-2 --seeds 100 --out /tmp/x.json
 *
 * Every family gets the same number of used parameters (about 144: see `honestParams`), the same
 * steps (1000), batch (128) and schedule (cosine lr, no annealing) as the notebook's comparison,
 * and each learning rate in `--lrs` on the sweep seeds 100-104. These are not the notebook's seeds
 * (0, 1, 2), so the notebook's runs are fresh draws, not the runs the learning rate was picked on.
 * A family's chosen lr is the one with the lowest mean KL gap (4000 flow samples) at the last
 * step; the notebook reruns only the chosen lrs, live.
 */
import { parseArgs } from 'node:util';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { execSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import {
  initBackend,
  getTarget,
  train,
  evaluate,
  numParams,
  PlanarFlow,
  SylvesterFlow,
  type Flow,
  type SylvesterVariant,
} from '../src';

/** One family of the comparison: D = 2, K chosen so that the honest count is about 144. */
export interface Config {
  family: string;
  kind: 'planar' | 'sylvester';
  K: number;
  M?: number;
  variant?: SylvesterVariant;
}

export const CONFIGS: Config[] = [
  { family: 'planar', kind: 'planar', K: 29 },
  { family: 'orthogonal M=1', kind: 'sylvester', variant: 'orthogonal', M: 1, K: 36 },
  { family: 'householder M=1', kind: 'sylvester', variant: 'householder', M: 1, K: 36 },
  { family: 'triangular M=1', kind: 'sylvester', variant: 'triangular', M: 1, K: 48 },
  { family: 'orthogonal M=2', kind: 'sylvester', variant: 'orthogonal', M: 2, K: 16 },
  { family: 'householder M=2', kind: 'sylvester', variant: 'householder', M: 2, K: 16 },
  { family: 'triangular M=2', kind: 'sylvester', variant: 'triangular', M: 2, K: 18 },
];

export function makeFlow(c: Config, seed: number): Flow {
  return c.kind === 'planar'
    ? new PlanarFlow({ K: c.K, seed })
    : new SylvesterFlow({ K: c.K, M: c.M, variant: c.variant, seed });
}

/**
 * Parameters a flow really uses (its degrees of freedom), not its raw entries:
 * - planar: u, w ∈ R^D, b: 2D + 1 per layer;
 * - Sylvester: R and R̃ upper triangular, M(M+1)/2 each (the raw matrix's diagonal is unused:
 *   the diagonals have their own tanh-bounded variables); b: M; and Q's degrees of freedom: an
 *   orthonormal D×M frame has DM − M(M+1)/2 (orthogonal, and Householder with H ≥ D reflections,
 *   which reach every such frame); the triangular variant's Q is a fixed permutation: 0.
 */
export function honestParams(f: Flow): number {
  if (f instanceof PlanarFlow) return f.K * (2 * f.dim + 1);
  if (f instanceof SylvesterFlow) {
    const { K, M, dim: D } = f;
    if (f.variant === 'householder' && f.H < D) throw new RangeError(`honestParams: needs H >= D, got H = ${f.H}`);
    const qDof = f.variant === 'triangular' ? 0 : D * M - (M * (M + 1)) / 2;
    return K * (qDof + M * (M + 1) + M);
  }
  throw new TypeError(`honestParams: not a planar or Sylvester flow: ${f.name}`);
}

/** Budget and evaluation of one run. */
interface RunOptions {
  steps: number;
  batch: number;
  every: number;
  evalSamples: number;
  evalSeed: number;
}

/** The KL gap curve of one run, its speed and its parameter counts. */
interface RunResult {
  steps: number[];
  gaps: number[];
  msPerStep: number;
  rawParams: number;
  honestParams: number;
}

/** Train one family at one lr and seed; the KL gap (`evalSamples` flow samples) every `every` steps. */
async function run(c: Config, lr: number, seed: number, o: RunOptions): Promise<RunResult> {
  const flow = makeFlow(c, seed);
  const target = getTarget('U1');
  const gap = (): number => evaluate(flow, target, { samples: o.evalSamples, seed: o.evalSeed }).klGap!;
  const steps: number[] = [0];
  const gaps: number[] = [gap()];
  const hist = await train(flow, target, {
    steps: o.steps,
    batch: o.batch,
    lr,
    seed,
    lrSchedule: 'cosine',
    anneal: false,
    chunkSize: o.every,
    onChunk: (ch) => {
      steps.push(ch.step);
      gaps.push(gap());
    },
  });
  const out = { steps, gaps, msPerStep: hist.msPerStep, rawParams: numParams(flow), honestParams: honestParams(flow) };
  flow.dispose();
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '128' },
      every: { type: 'string', default: '100' },
      lrs: { type: 'string', default: '1e-3,3e-3,1e-2,3e-2,1e-1,3e-1' },
      seeds: { type: 'string', default: '100,101,102,103,104' },
      families: { type: 'string', default: '' },
      'eval-samples': { type: 'string', default: '4000' },
      out: { type: 'string', default: 'docs/compare-flows.json' },
    },
  });
  const o = {
    steps: Number(values.steps),
    batch: Number(values.batch),
    every: Number(values.every),
    evalSamples: Number(values['eval-samples']),
    evalSeed: 12345,
  };
  const lrs = values.lrs!.split(',').map(Number);
  const seeds = values.seeds!.split(',').map(Number);
  const wanted = values.families ? values.families.split(',') : null;
  const configs = CONFIGS.filter((c) => wanted === null || wanted.includes(c.family));
  await initBackend();
  const t0 = Date.now();
  const results: Record<string, unknown>[] = [];
  const chosen: Record<string, number> = {};
  for (const c of configs) {
    let best = { lr: NaN, gap: Infinity };
    for (const lr of lrs) {
      const runs: RunResult[] = [];
      for (const seed of seeds) runs.push(await run(c, lr, seed, o));
      const finals = runs.map((r) => r.gaps[r.gaps.length - 1]!);
      const mean = finals.reduce((s, x) => s + x, 0) / finals.length;
      const row = {
        family: c.family,
        K: c.K,
        rawParams: runs[0]!.rawParams,
        honestParams: runs[0]!.honestParams,
        lr,
        finalKLGap: finals.map((x) => Number(x.toFixed(4))),
        meanFinalKLGap: Number(mean.toFixed(4)),
        msPerStep: Number((runs.reduce((s, r) => s + r.msPerStep, 0) / runs.length).toFixed(3)),
        curveSteps: runs[0]!.steps,
        meanCurve: runs[0]!.gaps.map((_, i) =>
          Number((runs.reduce((s, r) => s + r.gaps[i]!, 0) / runs.length).toFixed(4)),
        ),
      };
      results.push(row);
      console.log(
        `${c.family.padEnd(16)} K=${String(c.K).padStart(2)} params ${row.honestParams} (raw ${row.rawParams}) lr ${lr.toExponential(0)}: ` +
          `KL gap ${finals.map((x) => x.toFixed(3)).join(' ')} mean ${mean.toFixed(3)}, ${row.msPerStep.toFixed(2)} ms/step`,
      );
      if (Number.isFinite(mean) && mean < best.gap) best = { lr, gap: mean };
    }
    chosen[c.family] = best.lr;
    console.log(`  -> ${c.family}: lr ${best.lr} (mean KL gap ${best.gap.toFixed(4)})`);
  }
  const report = {
    command: `node --import tsx scripts/compare-flows.ts ${process.argv.slice(2).join(' ')}`.trim(),
    commit: execSync('git rev-parse --short HEAD').toString().trim(),
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} at the end`,
    target: 'U1',
    settings: {
      ...o,
      lrs,
      seeds,
      lrSchedule: 'cosine',
      anneal: false,
      selection: 'lowest mean KL gap at the last step',
    },
    wallSeconds: Math.round((Date.now() - t0) / 1000),
    chosenLr: chosen,
    results,
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(report, null, 1) + '\n');
  console.log(`wrote ${values.out} (${report.wallSeconds} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
