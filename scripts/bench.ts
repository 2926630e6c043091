/**
 * Training-step benchmark: fused vs reference path (and optionally PyTorch).
 *
 *   npm run bench -- [--steps 300] [--ref-steps 60] [--warmup 50] [--repeats 3]
 *                    [--backend cpu|wasm] [--json FILE] [--scaling] [--peer]
 *
 * Trains planar K=32 and orthogonal Sylvester K=16 M=2 on U1 (batch 512, Adam lr 1e-3) on both
 * paths and prints the median ms/step after the warm-up steps (median over repeats of the
 * per-run medians). The reference path is 20-100x slower, so it runs --ref-steps timed steps
 * after 10 warm-up steps (its median is steady long before that). --scaling adds fused ms/step vs K and vs batch as markdown tables.
 * --peer also times the same step in PyTorch (1 thread) with scripts/peer/torch_yardstick.py; it
 * needs Debian's python3-torch (apt-get install python3-torch) and is skipped without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs as utilParseArgs } from 'node:util';
import { initBackend, type BackendName } from '../src/core/backend';
import { median } from '../src/core/numerics';
// The fast path registers itself on import (as the package root does).
import '../src/kernels';
import type { Flow, FlowPath } from '../src/flows/flow';
import { PlanarFlow } from '../src/flows/planar';
import { SylvesterFlow } from '../src/flows/sylvester';
import { getTarget } from '../src/targets/energies';
import { train } from '../src/train/train';

interface Args {
  steps: number;
  refSteps: number;
  warmup: number;
  repeats: number;
  backend: BackendName | 'auto';
  json: string | null;
  scaling: boolean;
  peer: boolean;
}

const USAGE =
  'usage: npm run bench -- [--steps N] [--ref-steps N] [--warmup N] [--repeats N] [--backend cpu|wasm] [--json FILE] [--scaling] [--peer]';

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
      peer: { type: 'boolean', default: false },
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
    peer: values.peer,
  };
  for (const key of ['steps', 'refSteps', 'warmup', 'repeats'] as const) {
    const min = key === 'warmup' ? 0 : 1;
    const flag = key === 'refSteps' ? 'ref-steps' : key;
    if (!Number.isInteger(a[key]) || a[key] < min)
      throw new RangeError(`--${flag} must be an integer >= ${min}, got ${String(a[key])}`);
  }
  return a;
}

type FlowFactory = () => Flow;
const planar =
  (K: number): FlowFactory =>
  () =>
    new PlanarFlow({ K, seed: 0 });
const sylvester =
  (K: number, M = 2): FlowFactory =>
  () =>
    new SylvesterFlow({ K, M, variant: 'orthogonal', seed: 0 });

/** 10th percentile: on a shared, busy machine the fastest steps are the least disturbed ones. */
function p10(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(0.1 * (s.length - 1))]!;
}

/**
 * Per-step wall ms of one training run after `warmup` steps, and the process CPU ms per timed
 * step (less sensitive than wall time to other processes on a shared machine).
 */
async function stepTimes(
  make: FlowFactory,
  path: FlowPath,
  steps: number,
  warmup: number,
  batch = 512,
): Promise<{ times: number[]; cpuMs: number }> {
  const flow = make();
  const times: number[] = [];
  const cpuStart = process.cpuUsage();
  let cpu0: NodeJS.CpuUsage | null = null;
  await train(flow, getTarget('U1'), {
    steps: warmup + steps,
    batch,
    lr: 1e-3,
    seed: 0,
    path,
    chunkSize: 1000,
    onStep: (s) => {
      if (s.step === warmup - 1) cpu0 = process.cpuUsage();
      if (s.step >= warmup) times.push(s.ms);
    },
  });
  const cpu = process.cpuUsage(cpu0 ?? cpuStart);
  flow.dispose();
  // With warmup 0 the CPU clock starts before the first step (the whole run is counted).
  return { times, cpuMs: (cpu.user + cpu.system) / 1000 / (cpu0 ? steps : steps + warmup) };
}

/** Median over `repeats` runs of each run's median ms/step (configurations interleave). */

/** Median of per-run medians, and the 10th percentile of all timed steps, per configuration. */
async function repeatedStats(
  configs: [FlowFactory, FlowPath, number?][],
  a: Args,
  steps = a.steps,
): Promise<{ median: number; p10: number; cpu: number }[]> {
  const runs: number[][] = configs.map(() => []);
  const pooled: number[][] = configs.map(() => []);
  const cpu: number[][] = configs.map(() => []);
  for (let r = 0; r < a.repeats; r++) {
    for (let i = 0; i < configs.length; i++) {
      const [make, path, batch] = configs[i]!;
      const ref = path === 'reference';
      const { times, cpuMs } = await stepTimes(make, path, ref ? a.refSteps : steps, ref ? 10 : a.warmup, batch);
      runs[i]!.push(median(times));
      pooled[i]!.push(...times);
      cpu[i]!.push(cpuMs);
    }
  }
  return runs.map((r, i) => ({ median: median(r), p10: p10(pooled[i]!), cpu: median(cpu[i]!) }));
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');

/** PyTorch's median ms/step (time_per_iter_ms.median_last90pct), or null when unavailable. */
function peerMs(flowArgs: string[]): { median: number; p10: number } | null {
  const script = resolve(__dirname, 'peer', 'torch_yardstick.py');
  if (!existsSync(script)) {
    console.log(`peer: ${script} not found, skipped`);
    return null;
  }
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.log(
      "peer: /usr/bin/python3 cannot import torch; --peer needs Debian's python3-torch: apt-get install python3-torch. Skipped",
    );
    return null;
  }
  const out = join(mkdtempSync(join(tmpdir(), 'nf-peer-')), 'peer.json');
  const args = [
    script,
    '--target',
    'U1',
    ...flowArgs,
    '--iters',
    '600',
    '--batch',
    '512',
    '--lr',
    '1e-3',
    '--threads',
    '1',
    '--seed',
    '0',
    '--eval-samples',
    '1000',
    '--json',
    out,
  ];
  const r = spawnSync('/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    console.log(`peer: exited with ${r.status}, skipped`);
    return null;
  }
  const j = JSON.parse(readFileSync(out, 'utf8')) as {
    time_per_iter_ms?: { median_last90pct?: number; p10_last90pct?: number };
  };
  const t = j.time_per_iter_ms;
  return t?.median_last90pct != null && t.p10_last90pct != null
    ? { median: t.median_last90pct, p10: t.p10_last90pct }
    : null;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const backend = await initBackend(a.backend);
  console.log(
    `backend: ${backend}; U1, batch 512, Adam lr 1e-3; fused: ${a.warmup} warm-up + ${a.steps} timed steps, ` +
      `reference: 10 + ${a.refSteps}; median of ${a.repeats} runs`,
  );
  const [pfs, prs, sfs, srs] = await repeatedStats(
    [
      [planar(32), 'fused'],
      [planar(32), 'reference'],
      [sylvester(16), 'fused'],
      [sylvester(16), 'reference'],
    ],
    a,
  );
  const [pf, pr, sf, sr] = [pfs!.median, prs!.median, sfs!.median, srs!.median];
  const result: Record<string, unknown> = {
    planarK32: { fusedMs: pf, referenceMs: pr, fusedP10Ms: pfs!.p10, referenceP10Ms: prs!.p10, fusedCpuMs: pfs!.cpu },
    sylvesterK16: {
      fusedMs: sf,
      referenceMs: sr,
      fusedP10Ms: sfs!.p10,
      referenceP10Ms: srs!.p10,
      fusedCpuMs: sfs!.cpu,
    },
    backend,
    loadavg: loadavg(),
  };
  type Peer = { median: number; p10: number } | null;
  let peer: { planar: Peer; sylvester: Peer } | null = null;
  if (a.peer) {
    // As many PyTorch runs as ours, median of their medians.
    const runs = (flowArgs: string[]): Peer => {
      const ms: number[] = [];
      const p: number[] = [];
      for (let r = 0; r < a.repeats; r++) {
        const m = peerMs(flowArgs);
        if (m === null) return null;
        ms.push(m.median);
        p.push(m.p10);
      }
      return { median: median(ms), p10: median(p) };
    };
    peer = {
      planar: runs(['--flow', 'planar', '--K', '32']),
      sylvester: runs(['--flow', 'sylvester', '--K', '16', '--M', '2']),
    };
    Object.assign(result.planarK32 as object, {
      torchMs: peer.planar?.median ?? null,
      torchP10Ms: peer.planar?.p10 ?? null,
    });
    Object.assign(result.sylvesterK16 as object, {
      torchMs: peer.sylvester?.median ?? null,
      torchP10Ms: peer.sylvester?.p10 ?? null,
    });
  }
  console.log('\nms/step, median (10th percentile):\n');
  console.log('| flow | fused | reference | reference/fused |' + (peer ? ' PyTorch 1 thread | fused/PyTorch |' : ''));
  console.log('|---|---|---|---|' + (peer ? '---|---|' : ''));
  const cell = (m: number, p: number): string => `${fmt(m)} (${fmt(p)})`;
  const row = (
    name: string,
    f: { median: number; p10: number },
    r: { median: number; p10: number },
    t: Peer | undefined,
  ): void => {
    const extra = peer
      ? ` ${t ? cell(t.median, t.p10) : '—'} | ${t ? `${(f.median / t.median).toFixed(2)} (${(f.p10 / t.p10).toFixed(2)})` : '—'} |`
      : '';
    console.log(
      `| ${name} | ${cell(f.median, f.p10)} | ${cell(r.median, r.p10)} | ${(r.median / f.median).toFixed(1)}x |${extra}`,
    );
  };
  row('planar K=32', pfs!, prs!, peer?.planar);
  row('orthogonal Sylvester K=16 M=2', sfs!, srs!, peer?.sylvester);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')} (${cpus().length} cores)`,
  );

  if (a.scaling) {
    const Ks = [1, 2, 4, 8, 16, 32, 64];
    const steps = Math.max(50, Math.floor(a.steps / 2));
    const kp = await repeatedStats(
      Ks.map((K) => [planar(K), 'fused'] as [FlowFactory, FlowPath]),
      a,
      steps,
    );
    const ks = await repeatedStats(
      Ks.map((K) => [sylvester(K), 'fused'] as [FlowFactory, FlowPath]),
      a,
      steps,
    );
    const c = (x: { median: number; cpu: number }): string => `${fmt(x.median)} (${fmt(x.cpu)})`;
    console.log(
      '\nFused ms/step vs K (batch 512), wall median (CPU ms/step):\n\n| K | planar | orthogonal Sylvester M=2 |\n|---|---|---|',
    );
    Ks.forEach((K, i) => console.log(`| ${K} | ${c(kp[i]!)} | ${c(ks[i]!)} |`));
    const Ns = [64, 128, 256, 512, 1024, 2048, 4096, 8192];
    const np = await repeatedStats(
      Ns.map((N) => [planar(32), 'fused', N] as [FlowFactory, FlowPath, number]),
      a,
      steps,
    );
    const ns = await repeatedStats(
      Ns.map((N) => [sylvester(16), 'fused', N] as [FlowFactory, FlowPath, number]),
      a,
      steps,
    );
    console.log(
      '\nFused ms/step vs batch, wall median (CPU ms/step):\n\n| batch | planar K=32 | orthogonal Sylvester K=16 M=2 |\n|---|---|---|',
    );
    Ns.forEach((N, i) => console.log(`| ${N} | ${c(np[i]!)} | ${c(ns[i]!)} |`));
    result.scaling = {
      K: Ks,
      planarByK: kp,
      sylvesterByK: ks,
      batch: Ns,
      planarByBatch: np,
      sylvesterByBatch: ns,
    };
  }
  if (a.json) {
    writeFileSync(a.json, JSON.stringify(result, null, 2) + '\n');
    console.log(`\nwrote ${a.json}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
