#!/usr/bin/env node
// npm run notebooks [-- options] [notebook ...]
//
// Executes notebooks/*.ipynb (sorted; or the ones named: a path, a file name or a prefix like
// "03") top to bottom, headless, with the project-local tslab kernel, through nbclient (driven by
// a small Python snippet below). tslab sends no `error` message, so after each notebook the saved
// outputs are inspected: an `error` output, a stderr stream that holds a stack trace or a
// TypeScript diagnostic, or a cell whose execute_reply had status "error" is a failure. On a
// failure the notebook stops at that cell, the cell's index, source and stdout/stderr are printed,
// and the script exits 1 after the remaining notebooks.
//
// Options:
//   --check            execute into out/notebooks/ instead of in place (sources untouched)
//   --timeout S        per-cell timeout in seconds (default 600)
//   --startup-timeout S  kernel start timeout (default 120)
//   --seed N           exported to the kernel as NF_SEED (default 0; notebooks read it)
//   --strip            only strip volatile metadata from the notebooks, execute nothing
//   --verbose          print the time of every cell (default: cells over 5 s)
//
// Every mode fails on a text output longer than MAX_OUTPUT_LINES lines (an object dump: end the
// cell with a statement, not a bare expression), naming the notebook and the cell.
//
// In place mode writes the executed notebook back only when it succeeded (volatile metadata
// stripped: timings, execution counts); a failed run is saved to out/notebooks/failed/ instead.
// The kernel's working directory is the notebook's own folder, so `import ... from '../dist/index'`
// resolves from notebooks/ in every mode.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import {
  ROOT,
  KERNEL_NAME,
  jupyterEnv,
  registerKernel,
  requirePython,
  findFailures,
  formatFailure,
  stripVolatile,
  serializeNotebook,
  parseArgs,
  text as joinText,
} from './kernel.mjs';

/** Longest text output a cell may print: more is a dump nobody reads (and a 5000-px slide). */
export const MAX_OUTPUT_LINES = 40;

/**
 * Text outputs (streams and text/plain results) over `maxLines` lines:
 * [{index, lines, first}] sorted by cell index. Figures and HTML tables are not text.
 */
export function findLongOutputs(nb, maxLines = MAX_OUTPUT_LINES) {
  const long = [];
  (nb.cells ?? []).forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    for (const o of cell.outputs ?? []) {
      let t = null;
      if (o.output_type === 'stream') t = joinText(o.text);
      else if (o.data && !o.data['image/png'] && !o.data['image/svg+xml'] && !o.data['text/html'])
        t = joinText(o.data['text/plain']);
      if (t === null) continue;
      const lines = t.replace(/\n$/, '').split('\n').length;
      if (lines > maxLines) {
        long.push({ index, lines, first: t.split('\n')[0].slice(0, 60) });
        break;
      }
    }
  });
  return long;
}

const RUNNER = String.raw`
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
src, dst, cwd, kernel, timeout, startup, verbose = sys.argv[1:8]
nb = nbformat.read(src, as_version=4)
errors = []
def on_error(cell, cell_index, execute_reply):
    errors.append(cell_index)
client = NotebookClient(nb, timeout=int(timeout), startup_timeout=int(startup), kernel_name=kernel,
                        resources={'metadata': {'path': cwd}}, allow_errors=True, record_timing=False,
                        on_cell_error=on_error)
result = {'failedIndex': None, 'reason': None, 'kernelStart': None, 'cells': 0}
t0 = time.time()
try:
    with client.setup_kernel():
        result['kernelStart'] = time.time() - t0
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code' or not cell.source.strip():
                continue
            t = time.time()
            try:
                client.execute_cell(cell, i)
            except CellTimeoutError:
                result.update(failedIndex=i, reason='timed out after %s s' % timeout)
                break
            except DeadKernelError:
                result.update(failedIndex=i, reason='kernel died')
                break
            dt = time.time() - t
            result['cells'] += 1
            if verbose == '1' or dt >= 5:
                print('    cell %d: %.1f s' % (i, dt), file=sys.stderr, flush=True)
            if i in errors and 'raises-exception' not in cell.metadata.get('tags', []):
                result.update(failedIndex=i, reason='kernel reported an error')
                break
except Exception as e:
    if result['failedIndex'] is None:
        result['reason'] = 'kernel failed: %s: %s' % (type(e).__name__, e)
nbformat.write(nb, dst)
with open(dst + '.result.json', 'w') as f:
    json.dump(result, f)
`;

/**
 * notebooks/*.ipynb (and, with `withSolutions`, the worked solutions notebooks/solutions/*.ipynb after
 * them), filtered by the positional args (paths, names or prefixes; `solutions/03` picks 03's
 * solutions).
 */
export function selectNotebooks(picks, dir = join(ROOT, 'notebooks'), { withSolutions = false } = {}) {
  const list = (d) =>
    existsSync(d)
      ? readdirSync(d)
          .filter((f) => f.endsWith('.ipynb'))
          .sort()
          .map((f) => join(d, f))
      : [];
  const all = [...list(dir), ...(withSolutions ? list(join(dir, 'solutions')) : [])];
  if (picks.length === 0) return all;
  return picks.flatMap((p) => {
    if (p.endsWith('.ipynb') && existsSync(resolve(p))) return [resolve(p)];
    const inSolutions = p.startsWith('solutions/');
    const stem = inSolutions ? p.slice('solutions/'.length) : p;
    const pool = all.filter((f) => (basename(dirname(f)) === 'solutions') === inSolutions);
    const hits = pool.filter((f) => basename(f).startsWith(stem) || basename(f) === `${stem}.ipynb`);
    if (hits.length === 0) throw new Error(`no notebook matches "${p}" in ${relative(ROOT, dir)}/`);
    return hits;
  });
}

function executeOne(py, file, opts) {
  const name = basename(file);
  // Solutions execute into out/notebooks/solutions/, so decks and the browser check never pick them up.
  const isSolution = basename(dirname(file)) === 'solutions';
  const outDir = join(ROOT, 'out', 'notebooks', ...(isSolution ? ['solutions'] : []));
  mkdirSync(join(outDir, 'failed'), { recursive: true });
  const raw = join(outDir, `.${name}.${process.pid}.raw`);
  const t0 = performance.now();
  const r = spawnSync(
    py,
    [
      '-c',
      RUNNER,
      file,
      raw,
      dirname(file),
      KERNEL_NAME,
      String(opts.timeout),
      String(opts.startupTimeout),
      opts.verbose ? '1' : '0',
    ],
    { cwd: dirname(file), env: jupyterEnv({ NF_SEED: String(opts.seed) }), stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0 || !existsSync(`${raw}.result.json`)) {
    return { name, wall, ok: false, message: `FAILED ${name}: the runner exited with ${r.status ?? r.signal}` };
  }
  const result = JSON.parse(readFileSync(`${raw}.result.json`, 'utf8'));
  const nb = stripVolatile(JSON.parse(readFileSync(raw, 'utf8')));
  rmSync(raw, { force: true });
  rmSync(`${raw}.result.json`, { force: true });
  const failures = findFailures(nb, result.failedIndex);
  const long = findLongOutputs(nb);
  const ok = failures.length === 0 && long.length === 0 && !result.reason;
  const text = serializeNotebook(nb);
  let savedTo;
  if (!ok) savedTo = join(outDir, 'failed', name);
  else if (opts.check) savedTo = join(outDir, name);
  else savedTo = file;
  writeFileSync(savedTo, text);
  const lines = failures.map((f) =>
    formatFailure(relative(ROOT, file), f, f.index === result.failedIndex ? result.reason : 'error output'),
  );
  for (const l of long) {
    lines.push(`FAILED ${name}: cell ${l.index} prints ${l.lines} lines of text (> ${MAX_OUTPUT_LINES}): "${l.first}"`);
  }
  if (!ok && failures.length === 0 && long.length === 0) lines.push(`FAILED ${name}: ${result.reason}`);
  return { name, wall, ok, kernelStart: result.kernelStart, cells: result.cells, savedTo, message: lines.join('\n') };
}

function main() {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), {
      booleans: ['check', 'strip', 'verbose'],
      strings: ['timeout', 'startup-timeout', 'seed'],
    });
  } catch (e) {
    console.error(String(e.message));
    process.exit(2);
  }
  const { opts: o, positional } = parsed;
  const opts = {
    check: Boolean(o.check),
    verbose: Boolean(o.verbose),
    timeout: Number(o.timeout ?? 600),
    startupTimeout: Number(o['startup-timeout'] ?? 120),
    seed: Number(o.seed ?? process.env.NF_SEED ?? 0),
  };
  let files;
  try {
    files = selectNotebooks(positional, undefined, { withSolutions: true });
  } catch (e) {
    console.error(String(e.message));
    process.exit(2);
  }
  if (files.length === 0) {
    console.log('No notebooks to run.');
    return;
  }
  if (o.strip) {
    for (const f of files) {
      const before = readFileSync(f, 'utf8');
      const after = serializeNotebook(stripVolatile(JSON.parse(before)));
      if (after !== before) writeFileSync(f, after);
      console.log(`${after === before ? 'clean   ' : 'stripped'} ${relative(ROOT, f)}`);
    }
    return;
  }
  const py = requirePython();
  registerKernel({ quiet: true });
  console.log(
    `Executing ${files.length} notebook(s) with kernel "${KERNEL_NAME}" (${opts.check ? 'check: into out/notebooks/' : 'in place'}, seed ${opts.seed}, cell timeout ${opts.timeout} s)`,
  );
  const results = [];
  for (const f of files) {
    console.log(`  ${relative(ROOT, f)} ...`);
    const res = executeOne(py, f, opts);
    results.push(res);
    const where = res.savedTo ? ` -> ${relative(ROOT, res.savedTo)}` : '';
    const ks = res.kernelStart != null ? `, kernel start ${res.kernelStart.toFixed(1)} s` : '';
    console.log(
      `  ${res.ok ? 'ok    ' : 'FAILED'} ${res.name} ${res.wall.toFixed(1)} s (${res.cells ?? 0} code cells${ks})${where}`,
    );
    if (!res.ok) console.log(res.message.replace(/^/gm, '    '));
  }
  const failed = results.filter((r) => !r.ok);
  const total = results.reduce((s, r) => s + r.wall, 0);
  console.log(`${results.length - failed.length}/${results.length} notebooks ok in ${total.toFixed(1)} s`);
  if (failed.length > 0) {
    console.log(`Failed: ${failed.map((r) => r.name).join(', ')}`);
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
