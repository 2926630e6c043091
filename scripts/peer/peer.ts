/**
 * Running the project's PyTorch yardsticks (scripts/peer/*.py) from `npm run bench -- --peer`.
 *
 * Each yardstick writes a JSON file with its ms/step (time_per_iter_ms) and, for the ones that
 * start from the library's own draws (nf_port.py), the losses of its first steps. PyTorch comes
 * from Debian's python3-torch under /usr/bin/python3; without it the bench skips the column.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Debian's Python, which has python3-torch (not a virtual environment's). */
export const PEER_PYTHON = '/usr/bin/python3';

/** What one yardstick run measured. */
export interface PeerResult {
  /** Median ms per step over the timed steps. */
  median: number;
  /** 10th percentile ms per step over the timed steps. */
  p10: number;
  /** Losses of the first steps (step 0: the initial parameters), when the script reports them. */
  firstLosses: number[] | null;
}

/**
 * A yardstick's JSON -> PeerResult, or null when it has no timing. Two conventions:
 * torch_yardstick.py's time_per_iter_ms.{median,p10}_last90pct and the newer scripts'
 * time_per_iter_ms.{median,p10} (over the steps after --warmup) with first_losses.
 */
export function parsePeerJson(json: unknown): PeerResult | null {
  if (json === null || typeof json !== 'object') return null;
  const j = json as { time_per_iter_ms?: Record<string, unknown>; first_losses?: unknown };
  const t = j.time_per_iter_ms ?? {};
  const median = t.median ?? t.median_last90pct;
  const p10 = t.p10 ?? t.p10_last90pct;
  if (typeof median !== 'number' || typeof p10 !== 'number') return null;
  const fl = j.first_losses;
  const firstLosses = Array.isArray(fl) && fl.every((x) => typeof x === 'number') ? (fl as number[]) : null;
  return { median, p10, firstLosses };
}

/**
 * Largest relative difference |a_i - b_i| / max(|a_i|, |b_i|) over the first min(a, b) entries
 * (0 where both are 0; NaN when either list is empty).
 */
export function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return NaN;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const scale = Math.max(Math.abs(a[i]!), Math.abs(b[i]!));
    if (scale > 0) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  }
  return worst;
}

let torchChecked: boolean | null = null;

/** Whether /usr/bin/python3 imports torch (checked once; says how to get it when not). */
export function peerAvailable(): boolean {
  if (torchChecked === null) {
    torchChecked = spawnSync(PEER_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
    if (!torchChecked)
      console.log(
        `peer: ${PEER_PYTHON} cannot import torch; --peer needs Debian's python3-torch: apt-get install python3-torch. Skipped`,
      );
  }
  return torchChecked;
}

/** Run scripts/peer/<script> with `args` (plus --json) once; null when it is missing or fails. */
export function runPeer(script: string, args: string[]): PeerResult | null {
  const path = resolve(__dirname, script);
  if (!existsSync(path)) {
    console.log(`peer: ${path} not found, skipped`);
    return null;
  }
  if (!peerAvailable()) return null;
  const out = join(mkdtempSync(join(tmpdir(), 'nf-peer-')), 'peer.json');
  const r = spawnSync(PEER_PYTHON, [path, ...args, '--json', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, // no __pycache__ in the checkout
  });
  if (r.status !== 0) {
    console.log(`peer: ${script} exited with ${r.status}, skipped`);
    return null;
  }
  return parsePeerJson(JSON.parse(readFileSync(out, 'utf8')));
}
