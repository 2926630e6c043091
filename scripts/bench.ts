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
 * --peer runs ../shared/peer/peer_torch.py (PyTorch, 1 thread) when it and torch are present.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend, type BackendName } from '../src/backend';
import type { Flow, FlowPath } from '../src/flow';
import { PlanarFlow } from '../src/planar';
import { SylvesterFlow } from '../src/sylvester';
import { getTarget } from '../src/targets';
import { train } from '../src/train';

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

function parseArgs(argv: string[]): Args {
  const a: Args = { steps: 300, refSteps: 60, warmup: 50, repeats: 3, backend: 'auto', json: null, scaling: false, peer: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${k} needs a value`);
      return v;
    };
    if (k === '--steps') a.steps = Number(next());
    else if (k === '--ref-steps') a.refSteps = Number(next());
    else if (k === '--warmup') a.warmup = Number(next());
    else if (k === '--repeats') a.repeats = Number(next());
    else if (k === '--backend') a.backend = next() as BackendName;
    else if (k === '--json') a.json = next();
    else if (k === '--scaling') a.scaling = true;
    else if (k === '--peer') a.peer = true;
    else if (k === '--help' || k === '-h') {
      console.log('usage: npm run bench -- [--steps N] [--ref-steps N] [--warmup N] [--repeats N] [--backend cpu|wasm] [--json FILE] [--scaling] [--peer]');
      process.exit(0);
    } else throw new RangeError(`unknown option ${k}`);
  }
  for (const key of ['steps', 'refSteps', 'warmup', 'repeats'] as const) {
    if (!Number.isInteger(a[key]) || a[key] < (key === 'warmup' ? 0 : 1)) throw new RangeError(`--${key === 'refSteps' ? 'ref-steps' : key} must be an integer >= ${key === 'warmup' ? 0 : 1}`);
  }
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}

type FlowFactory = () => Flow;
const planar = (K: number): FlowFactory => () => new PlanarFlow({ K, seed: 0 });
const sylvester = (K: number, M = 2): FlowFactory => () => new SylvesterFlow({ K, M, variant: 'orthogonal', seed: 0 });

/** Median ms/step of one training run after `warmup` steps. */
async function msPerStep(make: FlowFactory, path: FlowPath, steps: number, warmup: number, batch = 512): Promise<number> {
  const flow = make();
  const times: number[] = [];
  await train(flow, getTarget('U1'), {
    steps: warmup + steps, batch, lr: 1e-3, seed: 0, path, chunkSize: 1000,
    onStep: (s) => {
      if (s.step >= warmup) times.push(s.ms);
    },
  });
  flow.dispose();
  return median(times);
}

/** Median over `repeats` runs (runs of different configurations interleave). */
async function repeated(configs: [FlowFactory, FlowPath, number?][], a: Args, steps = a.steps): Promise<number[]> {
  const runs: number[][] = configs.map(() => []);
  for (let r = 0; r < a.repeats; r++) {
    for (let i = 0; i < configs.length; i++) {
      const [make, path, batch] = configs[i]!;
      const ref = path === 'reference';
      runs[i]!.push(await msPerStep(make, path, ref ? a.refSteps : steps, ref ? 10 : a.warmup, batch));
    }
  }
  return runs.map(median);
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');

/** PyTorch's median ms/step (time_per_iter_ms.median_last90pct), or null when unavailable. */
function peerMs(flowArgs: string[]): number | null {
  const script = resolve(__dirname, '..', '..', 'shared', 'peer', 'peer_torch.py');
  if (!existsSync(script)) {
    console.log(`peer: ${script} not found, skipped`);
    return null;
  }
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.log('peer: /usr/bin/python3 cannot import torch (apt-get install -y python3-torch), skipped');
    return null;
  }
  const out = join(mkdtempSync(join(tmpdir(), 'nf-peer-')), 'peer.json');
  const args = [script, '--target', 'U1', ...flowArgs, '--iters', '600', '--batch', '512', '--lr', '1e-3',
    '--threads', '1', '--seed', '0', '--eval-samples', '1000', '--json', out];
  const r = spawnSync('/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    console.log(`peer: exited with ${r.status}, skipped`);
    return null;
  }
  const j = JSON.parse(readFileSync(out, 'utf8')) as { time_per_iter_ms?: { median_last90pct?: number } };
  return j.time_per_iter_ms?.median_last90pct ?? null;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const backend = await initBackend(a.backend);
  console.log(`backend: ${backend}; U1, batch 512, Adam lr 1e-3; fused: ${a.warmup} warm-up + ${a.steps} timed steps, ` +
    `reference: 10 + ${a.refSteps}; median of ${a.repeats} runs`);
  const [pf, pr, sf, sr] = await repeated([
    [planar(32), 'fused'], [planar(32), 'reference'],
    [sylvester(16), 'fused'], [sylvester(16), 'reference'],
  ], a);
  const result: Record<string, unknown> = {
    planarK32: { fusedMs: pf, referenceMs: pr },
    sylvesterK16: { fusedMs: sf, referenceMs: sr },
    backend,
  };
  let peer: { planar: number | null; sylvester: number | null } | null = null;
  if (a.peer) {
    // As many PyTorch runs as ours, median of their medians.
    const runs = (flowArgs: string[]): number | null => {
      const ms: number[] = [];
      for (let r = 0; r < a.repeats; r++) {
        const m = peerMs(flowArgs);
        if (m === null) return null;
        ms.push(m);
      }
      return median(ms);
    };
    peer = { planar: runs(['--flow', 'planar', '--K', '32']), sylvester: runs(['--flow', 'sylvester', '--K', '16', '--M', '2']) };
    (result.planarK32 as Record<string, unknown>).torchMs = peer.planar;
    (result.sylvesterK16 as Record<string, unknown>).torchMs = peer.sylvester;
  }
  console.log('\n| flow | fused ms/step | reference ms/step | reference/fused |' + (peer ? ' PyTorch ms/step | fused/PyTorch |' : ''));
  console.log('|---|---|---|---|' + (peer ? '---|---|' : ''));
  const row = (name: string, f: number, r: number, t: number | null | undefined): void => {
    const extra = peer ? ` ${t == null ? '—' : fmt(t)} | ${t == null ? '—' : (f / t).toFixed(2)} |` : '';
    console.log(`| ${name} | ${fmt(f)} | ${fmt(r)} | ${(r / f).toFixed(1)}x |${extra}`);
  };
  row('planar K=32', pf!, pr!, peer?.planar);
  row('orthogonal Sylvester K=16 M=2', sf!, sr!, peer?.sylvester);

  if (a.scaling) {
    const Ks = [1, 2, 4, 8, 16, 32, 64];
    const steps = Math.max(50, Math.floor(a.steps / 2));
    const kp = await repeated(Ks.map((K) => [planar(K), 'fused'] as [FlowFactory, FlowPath]), a, steps);
    const ks = await repeated(Ks.map((K) => [sylvester(K), 'fused'] as [FlowFactory, FlowPath]), a, steps);
    console.log('\nFused ms/step vs K (batch 512):\n\n| K | planar | orthogonal Sylvester M=2 |\n|---|---|---|');
    Ks.forEach((K, i) => console.log(`| ${K} | ${fmt(kp[i]!)} | ${fmt(ks[i]!)} |`));
    const Ns = [64, 128, 256, 512, 1024, 2048, 4096, 8192];
    const np = await repeated(Ns.map((N) => [planar(32), 'fused', N] as [FlowFactory, FlowPath, number]), a, steps);
    const ns = await repeated(Ns.map((N) => [sylvester(16), 'fused', N] as [FlowFactory, FlowPath, number]), a, steps);
    console.log('\nFused ms/step vs batch:\n\n| batch | planar K=32 | orthogonal Sylvester K=16 M=2 |\n|---|---|---|');
    Ns.forEach((N, i) => console.log(`| ${N} | ${fmt(np[i]!)} | ${fmt(ns[i]!)} |`));
    result.scaling = {
      K: Ks, planarByK: kp, sylvesterByK: ks, batch: Ns, planarByBatch: np, sylvesterByBatch: ns,
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
