/**
 * ms per maximum-likelihood step of a coupling flow (K = 4) on the fused path (the registered
 * plain-array inverse kernel, src/kernels/coupling.ts) against the reference path (the tfjs
 * tape through `inverseWithLogDet`), on the CLI's --data default data: penguins bill length ×
 * depth, standardised. Two sweeps: batch 64..4096 at hidden 32, and hidden 16..256 at batch 128.
 *
 *   node --import tsx scripts/coupling-scaling.ts [--repeats 2] [--budget-ms 1500]
 *
 * Each cell is the median over repeats of `history.msPerStep` (itself the median step time
 * after the first 10% of steps) of a fresh flow trained for about budget-ms (10..300 steps,
 * sized from a 3-step probe). Prints a markdown table. No assertions: speed is reported, not
 * tested (README "Standards").
 */
import { parseArgs } from 'node:util';
import '../src/kernels';
import { CouplingFlow } from '../src/flows/coupling';
import type { FlowPath } from '../src/flows/flow';
import { trainMaxLikelihood } from '../src/train/mle';
import { readCSVColumns, standardize } from '../src/targets/data';
import { median } from '../src/core/numerics';

/** Steps per measurement: enough for a stable median, few enough for a loaded 2-core machine. */
const MIN_STEPS = 10;
const MAX_STEPS = 300;
/** Steps of the probe run that sizes the measured run. */
const PROBE_STEPS = 3;

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '2' },
    'budget-ms': { type: 'string', default: '1500' },
  },
});
const repeats = Number(values.repeats);
const budgetMs = Number(values['budget-ms']);
if (!(Number.isInteger(repeats) && repeats >= 1))
  throw new RangeError(`--repeats must be an integer >= 1, got ${values.repeats}`);
if (!(budgetMs > 0)) throw new RangeError(`--budget-ms must be > 0, got ${values['budget-ms']}`);

const table = readCSVColumns('data/penguins.csv', ['bill_length_mm', 'bill_depth_mm']);
const data = standardize(table.matrix, 2).x; // [N, 2]

/** One training run's median ms per step (the probe: its mean, warm-up included). */
async function msPerStep(batch: number, hidden: number, path: FlowPath, steps: number, probe = false): Promise<number> {
  const flow = new CouplingFlow({ dim: 2, K: 4, hidden, seed: 0 });
  try {
    const h = await trainMaxLikelihood(flow, data, { steps, batch, lr: 5e-3, seed: 0, path, chunkSize: steps });
    if (h.path !== path) throw new Error(`asked for the ${path} path, ran ${h.path}`);
    return probe ? h.wallMs / steps : h.msPerStep;
  } finally {
    flow.dispose();
  }
}

async function cell(batch: number, hidden: number, path: FlowPath): Promise<number> {
  const probe = await msPerStep(batch, hidden, path, PROBE_STEPS, true);
  const steps = Math.min(MAX_STEPS, Math.max(MIN_STEPS, Math.ceil(budgetMs / probe)));
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) runs.push(await msPerStep(batch, hidden, path, steps));
  return median(runs);
}

async function main(): Promise<void> {
  const configs = [
    ...[64, 128, 256, 1024, 4096].map((batch) => ({ batch, hidden: 32 })),
    ...[16, 64, 128, 256].map((hidden) => ({ batch: 128, hidden })),
  ];
  console.log(
    `coupling flow K=4, maximum likelihood on penguins (2-D), median of ${repeats} runs of ~${budgetMs} ms\n`,
  );
  // Warm-up, not reported: the first runs of a process also time V8's compilation of the loops.
  for (const path of ['fused', 'reference'] as const) await msPerStep(128, 32, path, 2 * MIN_STEPS);
  console.log('| batch | hidden | fused ms/step | reference ms/step | reference / fused |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const { batch, hidden } of configs) {
    const fused = await cell(batch, hidden, 'fused');
    const reference = await cell(batch, hidden, 'reference');
    const ratio = reference / fused;
    console.log(`| ${batch} | ${hidden} | ${fused.toFixed(2)} | ${reference.toFixed(2)} | ${ratio.toFixed(1)}x |`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
