#!/usr/bin/env node
/**
 * The flow families side by side, through the CLI with its defaults (what a user gets from
 * `npm run train`): the measurements behind notebook 07 and docs/compare-families.md.
 *
 *   node --import tsx scripts/compare-families.ts                       # both comparisons
 *   node --import tsx scripts/compare-families.ts --only penguins --seeds 0,1,2
 *   node --import tsx scripts/compare-families.ts --only targets --targets U3,U4 --target-seeds 0,1,2
 *   node --import tsx scripts/compare-families.ts --only targets --flows nsf-iaf --sampling rqmc
 *
 * 1. Density (use case 1): `--data data/penguins.csv --columns bill_length_mm,bill_depth_mm` for
 *    each density flow and seed, nothing else set: the held-out mean log-likelihood per row, mean
 *    and standard deviation over the seeds, and each flow's margin over the coupling flow; the
 *    Gaussian and the Gaussian mixture (K by BIC) of the CLI's baselines are rows too.
 * 2. Sampling (use case 2): reverse KL on each target in the default domain. The baseline is
 *    planar K = 32 at the CLI's defaults for that target; its training wall time T is the budget.
 *    Every other flow is timed for a short calibration run, then given the steps that fill T at
 *    its measured ms/step (its own CLI defaults: sizes, batch, lr, annealing). The table shows the KL gap
 *    and the wall time each run really took, so the budgets can be compared; with several
 *    --target-seeds, a first table has each flow's mean KL gap and on how many seeds it was below
 *    the baseline's. `--flows` picks the flows timed against the baseline; `--sampling rqmc` passes
 *    `--sampling rqmc` to every run, the baseline's too.
 *
 * Every run is a child process (`node --import tsx scripts/train.ts ... --json F`), one at a time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const PENGUIN_ARGS = ['--data', 'data/penguins.csv', '--columns', 'bill_length_mm,bill_depth_mm'];
/** Flows compared on the density side: the coupling flow is the one to beat. */
const DENSITY_FLOWS = ['coupling', 'maf', 'nsf', 'nsf-ar'];
/** The sampling side: the baseline first, then the flows given its wall time. */
const SAMPLING_BASELINE = { flow: 'planar', args: ['--K', '32'] };
const SAMPLING_FLOWS = ['sylvester', 'iaf', 'nsf', 'nsf-iaf'];
/**
 * Steps of the calibration run that measures a flow's ms/step before its timed run. With 100 the
 * first steps' JIT warm-up weighed in: at batch 128 the ms/step came out about 25% high and the
 * timed runs used 2.5 s of a 3.2 s budget; with 500 they use 3.1-3.4 s.
 */
const CALIBRATION_STEPS = 500;

const dir = mkdtempSync(join(tmpdir(), 'nf-families-'));
let runs = 0;

/** One CLI run with `args`; its --json summary. */
function cli(args: string[]): Record<string, unknown> {
  const out = join(dir, `run-${runs++}.json`);
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', ...args, '--quiet', '--json', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
}

const num = (r: Record<string, unknown>, k: string): number => Number(r[k]);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

interface DensityRow {
  flow: string;
  testLogLik: number[];
  msPerStep: number;
}

function densityComparison(seeds: number[]): { rows: DensityRow[]; gaussian: number[]; md: string } {
  const rows: DensityRow[] = [];
  let gaussian: number[] = [];
  let mixture: number[] = [];
  for (const flow of DENSITY_FLOWS) {
    const rs = seeds.map((s) => cli(['--flow', flow, ...PENGUIN_ARGS, '--seed', String(s)]));
    rows.push({
      flow,
      testLogLik: rs.map((r) => num(r, 'testLogLik')),
      msPerStep: mean(rs.map((r) => num(r, 'msPerStep'))),
    });
    gaussian = rs.map((r) => num(r, 'gaussianTestLogLik'));
    mixture = rs.map((r) => num(r, 'mixtureTestLogLik'));
    console.error(
      `  ${flow}: ${rows
        .at(-1)!
        .testLogLik.map((v) => v.toFixed(3))
        .join(' ')}`,
    );
  }
  const coupling = rows[0]!.testLogLik;
  /** Paired with the coupling flow on the same split: mean difference ± its standard error, and wins. */
  const vsCoupling = (xs: number[]): string => {
    const d = xs.map((v, i) => v - coupling[i]!);
    const wins = d.filter((v) => v > 0).length;
    return `${mean(d) >= 0 ? '+' : ''}${mean(d).toFixed(3)} ± ${(sd(d) / Math.sqrt(d.length)).toFixed(3)} (${wins}/${d.length})`;
  };
  const perSeed = seeds.length <= 5; // one column per seed only for a few seeds
  const head = `| flow | ${perSeed ? seeds.map((s) => `seed ${s} | `).join('') : ''}mean ± sd | vs coupling: mean ± se (wins) | ms/step |`;
  const line = `|---|${perSeed ? seeds.map(() => '---|').join('') : ''}---|---|---|`;
  const cells = (xs: number[]): string =>
    `${perSeed ? xs.map((v) => `${v.toFixed(3)} | `).join('') : ''}${mean(xs).toFixed(3)} ± ${sd(xs).toFixed(3)}`;
  const body = [
    `| Gaussian | ${cells(gaussian)} | ${vsCoupling(gaussian)} | – |`,
    `| Gaussian mixture (K by BIC, EM) | ${cells(mixture)} | ${vsCoupling(mixture)} | – |`,
    ...rows.map(
      (r) => `| ${r.flow} | ${cells(r.testLogLik)} | ${vsCoupling(r.testLogLik)} | ${r.msPerStep.toFixed(2)} |`,
    ),
  ];
  return { rows, gaussian, md: [head, line, ...body].join('\n') };
}

interface SamplingRow {
  target: string;
  seed: number;
  flow: string;
  steps: number;
  wallSeconds: number;
  msPerStep: number;
  klGap: number;
}

function samplingComparison(
  targets: string[],
  seeds: number[],
  flows: string[],
  sampling: string,
): { rows: SamplingRow[]; md: string } {
  const rows: SamplingRow[] = [];
  const row = (target: string, seed: number, flow: string, r: Record<string, unknown>): SamplingRow => ({
    target,
    seed,
    flow,
    steps: num(r, 'stepsDone'),
    wallSeconds: num(r, 'wallSeconds'),
    msPerStep: num(r, 'msPerStep'),
    klGap: num(r, 'klGap'),
  });
  const baseline = `${SAMPLING_BASELINE.flow} ${SAMPLING_BASELINE.args.join(' ')}`;
  for (const seed of seeds)
    for (const target of targets) {
      const base = ['--target', target, '--seed', String(seed), '--sampling', sampling];
      const b = cli([...base, '--flow', SAMPLING_BASELINE.flow, ...SAMPLING_BASELINE.args]);
      rows.push(row(target, seed, baseline, b));
      const budgetMs = num(b, 'wallSeconds') * 1000;
      for (const flow of flows) {
        const cal = cli([...base, '--flow', flow, '--steps', String(CALIBRATION_STEPS), '--eval-samples', '1000']);
        const steps = Math.max(CALIBRATION_STEPS, Math.floor(budgetMs / num(cal, 'msPerStep')));
        rows.push(row(target, seed, flow, cli([...base, '--flow', flow, '--steps', String(steps)])));
        console.error(`  ${target} ${flow}: ${JSON.stringify(rows.at(-1))}`);
      }
    }
  const md = [
    '| seed | target | flow | steps | wall s | ms/step | KL gap |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.seed} | ${r.target} | ${r.flow} | ${r.steps} | ${r.wallSeconds.toFixed(1)} | ${r.msPerStep.toFixed(2)} | ${r.klGap.toFixed(4)} |`,
    ),
  ].join('\n');
  if (seeds.length < 2) return { rows, md };
  // Over the seeds: each flow's mean KL gap and on how many seeds it was below the baseline's.
  const columns = [baseline, ...flows];
  const gap = (t: string, f: string, s: number): number =>
    rows.find((r) => r.target === t && r.flow === f && r.seed === s)!.klGap;
  const summary = [
    `| target | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---|').join('')}`,
    ...targets.map((t) => {
      const cells = columns.map((f) => {
        const m = mean(seeds.map((s) => gap(t, f, s))).toFixed(4);
        if (f === baseline) return m;
        const below = seeds.filter((s) => gap(t, f, s) < gap(t, baseline, s)).length;
        return `${m} (${below}/${seeds.length})`;
      });
      return `| ${t} | ${cells.join(' | ')} |`;
    }),
  ].join('\n');
  return { rows, md: `${summary}\n\nEvery run:\n\n${md}` };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      seeds: { type: 'string', default: '0,1,2' },
      targets: { type: 'string', default: 'U1,U2,U3,U4' },
      'target-seeds': { type: 'string', default: '0' },
      flows: { type: 'string', default: SAMPLING_FLOWS.join(',') },
      sampling: { type: 'string', default: 'mc' },
      md: { type: 'string' },
    },
  });
  const only = values.only;
  if (only !== undefined && only !== 'penguins' && only !== 'targets') {
    throw new Error(`--only must be penguins or targets, got "${only}"`);
  }
  const seeds = values.seeds.split(',').map(Number);
  const sections: string[] = [
    `Measured ${new Date().toISOString().slice(0, 16)} UTC on ${cpus().length} cores (load ${loadavg()[0]!.toFixed(1)}).`,
  ];
  if (only !== 'targets') {
    console.error('density: penguins bill length × depth, CLI defaults');
    const d = densityComparison(seeds);
    sections.push('## Held-out log-likelihood per row, penguins (CLI defaults)', d.md);
  }
  if (only !== 'penguins') {
    console.error('sampling: reverse KL at the wall time of planar K=32');
    const targetSeeds = values['target-seeds'].split(',').map(Number);
    const s = samplingComparison(values.targets.split(','), targetSeeds, values.flows.split(','), values.sampling);
    sections.push(
      `## Reverse KL at equal wall time (seeds ${targetSeeds.join(', ')}, --sampling ${values.sampling})`,
      s.md,
    );
  }
  const text = sections.join('\n\n') + '\n';
  console.log(text);
  if (values.md) {
    mkdirSync(dirname(values.md), { recursive: true });
    writeFileSync(values.md, text);
  }
}

main();
