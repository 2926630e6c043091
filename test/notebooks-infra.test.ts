// Pure parts of the notebook tooling (scripts/kernel.mjs): failure detection on saved notebook
// JSON, metadata stripping, the slides command line, option parsing. No Jupyter needed; < 1 s.
// test/fixtures/failing.executed.ipynb is a real nbclient+tslab run of test/fixtures/failing.ipynb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Cell, Notebook, Output } from './notebook-types';
interface Failure {
  index: number;
  source: string;
  outputs: { name: string; text: string }[];
}
interface KernelModule {
  ROOT: string;
  JUPYTER_DIR: string;
  KERNEL_NAME: string;
  DISPLAY_PRIORITY: string[];
  isErrorOutput(o: Output): boolean;
  findFailures(nb: Notebook, kernelFailedIndex?: number | null): Failure[];
  formatFailure(file: string, f: Failure, reason?: string): string;
  stripVolatile(nb: Notebook): Notebook;
  serializeNotebook(nb: Notebook): string;
  slidesArgs(notebook: string, outputDir: string, opts?: { templatesDir?: string }): string[];
  parseArgs(
    argv: string[],
    spec: { booleans?: string[]; strings?: string[] },
  ): { opts: Record<string, string | boolean>; positional: string[] };
  jupyterEnv(extra?: Record<string, string>): Record<string, string | undefined>;
}

const root = join(__dirname, '..');
const fixtures = join(__dirname, 'fixtures');
// A variable specifier keeps tsc (CommonJS, strict) from resolving the untyped .mjs.
const kernelPath = join(root, 'scripts', 'kernel.mjs');
const load = (): Promise<KernelModule> => import(kernelPath) as Promise<KernelModule>;
const readNb = (name: string): Notebook => JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as Notebook;

const code = (source: string, outputs: Output[], metadata: Record<string, unknown> = {}): Cell => ({
  cell_type: 'code',
  source,
  metadata,
  outputs,
  execution_count: null,
});
const nbOf = (cells: Cell[]): Notebook => ({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });
const stderr = (text: string): Output => ({ output_type: 'stream', name: 'stderr', text });

test('a real failed tslab run: the failing cell, its source and its stderr are found', async () => {
  const k = await load();
  const nb = readNb('failing.executed.ipynb');
  const failures = k.findFailures(nb);
  assert.equal(failures.length, 1, 'exactly one failing cell (the console.warn in cell 0 is not an error)');
  const f = failures[0]!;
  assert.equal(f.index, 1);
  assert.match(f.source, /nf\.getTarget\('nope'\)/);
  assert.equal(f.outputs[0]!.name, 'stderr');
  assert.match(f.outputs[0]!.text, /RangeError: target must be one of U1, U2, U3, U4; got "nope"/);
  const report = k.formatFailure('test/fixtures/failing.ipynb', f, 'kernel reported an error');
  assert.match(report, /FAILED test\/fixtures\/failing\.ipynb: cell 1 \(kernel reported an error\)/);
  assert.match(report, /^ {2}2 \| nf\.getTarget\('nope'\);$/m);
  assert.match(report, /--- stderr ---\n[\s\S]*RangeError/);
});

test('error detection: TS diagnostics, stacks and error outputs count; warnings and stdout do not', async () => {
  const k = await load();
  assert.equal(k.isErrorOutput(stderr("1:7 - Type 'string' is not assignable to type 'number'.\n")), true);
  assert.equal(k.isErrorOutput(stderr('src/x.ts(3,1): error TS2304: Cannot find name "foo".\n')), true);
  assert.equal(k.isErrorOutput(stderr('TypeError: x is not a function\n    at evalmachine.<anonymous>:3:1\n')), true);
  assert.equal(k.isErrorOutput(stderr('Error: boom\n')), true);
  assert.equal(k.isErrorOutput({ output_type: 'error', ename: 'Error', evalue: 'x', traceback: [] }), true);
  assert.equal(k.isErrorOutput(stderr('a warning is not an error\n')), false);
  assert.equal(k.isErrorOutput(stderr('training 40% (loss 1.23)\n')), false);
  assert.equal(k.isErrorOutput({ output_type: 'stream', name: 'stdout', text: 'RangeError: only printed\n' }), false);
  assert.equal(k.isErrorOutput({ output_type: 'display_data', data: { 'text/plain': 'Error' } }), false);
});

test('findFailures: kernel-reported index, raises-exception tag, markdown cells', async () => {
  const k = await load();
  const nb = nbOf([
    { cell_type: 'markdown', source: 'Error: in prose', metadata: {} },
    code('ok()', [{ output_type: 'stream', name: 'stdout', text: 'fine\n' }]),
    code("const x: number = 'a';", [stderr("1:7 - Type 'string' is not assignable to type 'number'.\n")]),
    code('throw new Error("expected")', [stderr('Error: expected\n')], { tags: ['raises-exception'] }),
    code('silent()', []),
  ]);
  assert.deepEqual(
    k.findFailures(nb).map((f) => f.index),
    [2],
  );
  // A cell whose execute_reply said "error" fails even with no output at all.
  assert.deepEqual(
    k.findFailures(nb, 4).map((f) => f.index),
    [2, 4],
  );
  assert.deepEqual(k.findFailures(nb, 4)[1]!.outputs, []);
  assert.deepEqual(k.findFailures(nbOf([code('1', [])])), []);
});

test('stripVolatile removes timings and counts, keeps outputs, and serialises like nbformat', async () => {
  const k = await load();
  const nb = nbOf([
    code('1', [{ output_type: 'execute_result', execution_count: 3, data: { 'text/plain': '1' } }], {
      execution: { 'iopub.status.busy': '2026-01-01T00:00:00Z' },
      ExecuteTime: { start_time: 'x' },
      scrolled: true,
      slideshow: { slide_type: 'slide' },
    }),
  ]);
  nb.cells[0]!.execution_count = 3;
  nb.metadata = { widgets: {}, kernelspec: { name: 'tslab' } };
  const s = k.stripVolatile(nb);
  assert.deepEqual(s.cells[0]!.metadata, { slideshow: { slide_type: 'slide' } });
  assert.equal(s.cells[0]!.execution_count, null);
  assert.equal(s.cells[0]!.outputs?.[0]?.execution_count, null);
  assert.deepEqual(s.cells[0]!.outputs?.[0]?.data, { 'text/plain': '1' });
  assert.deepEqual(s.metadata, { kernelspec: { name: 'tslab' } });
  assert.equal(nb.cells[0]!.execution_count, 3, 'input not mutated');
  const text = k.serializeNotebook(s);
  assert.ok(text.endsWith('}\n'));
  assert.ok(
    text.indexOf('"cells"') < text.indexOf('"metadata"') && text.indexOf('"metadata"') < text.indexOf('"nbformat"'),
  );
  assert.match(text, /^\{\n "cells": \[\n {2}\{\n/);
  assert.equal(k.serializeNotebook(k.stripVolatile(JSON.parse(text) as Notebook)), text, 'idempotent');
});

test('the executed fixture is already clean (what `npm run notebooks` writes diffs cleanly)', async () => {
  const k = await load();
  const raw = readFileSync(join(fixtures, 'failing.executed.ipynb'), 'utf8');
  assert.equal(k.serializeNotebook(k.stripVolatile(JSON.parse(raw) as Notebook)), raw);
});

test('slides command line: offline relative assets, white theme, no prompts, PNG before SVG', async () => {
  const k = await load();
  const args = k.slidesArgs('notebooks/03-planar-flows.ipynb', 'out/slides');
  assert.deepEqual(args.slice(0, 4), ['-m', 'nbconvert', '--to', 'slides']);
  assert.equal(args[args.length - 1], 'notebooks/03-planar-flows.ipynb');
  assert.ok(args.includes('--no-prompt'));
  assert.ok(args.includes('--SlidesExporter.reveal_theme=white'));
  assert.ok(args.includes('--output-dir=out/slides'));
  const urlArgs = args.filter((a) =>
    /^--SlidesExporter\.(reveal_url_prefix|jquery_url|require_js_url|mathjax_url)=/.test(a),
  );
  assert.equal(urlArgs.length, 4);
  for (const a of urlArgs) {
    const url = a.split('=').slice(1).join('=');
    assert.match(url, /^lib\//, `${a} is relative to out/slides/`);
    assert.doesNotMatch(url, /https?:/);
  }
  const prio = args.filter((a) => a.startsWith('--NbConvertBase.display_data_priority=')).map((a) => a.split('=')[1]);
  assert.ok(prio.indexOf('image/png') >= 0 && prio.indexOf('image/png') < prio.indexOf('image/svg+xml'));
  assert.equal(args[args.indexOf('--template') + 1], 'nf-reveal');
  assert.ok(args.includes('--TagRemovePreprocessor.remove_input_tags=remove-input'));
  assert.ok(args.includes('--TagRemovePreprocessor.remove_cell_tags=remove-cell'));
  assert.ok(
    readFileSync(join(root, 'scripts', 'nbconvert', 'templates', 'nf-reveal', 'index.html.j2'), 'utf8').includes(
      'block data_svg',
    ),
  );
});

test('parseArgs and the project-local Jupyter environment', async () => {
  const k = await load();
  const { opts, positional } = k.parseArgs(['--check', '--timeout', '30', '--seed=7', '03'], {
    booleans: ['check'],
    strings: ['timeout', 'seed'],
  });
  assert.deepEqual(opts, { check: true, timeout: '30', seed: '7' });
  assert.deepEqual(positional, ['03']);
  assert.throws(() => k.parseArgs(['--nope'], {}), /unknown option --nope/);
  const env = k.jupyterEnv();
  for (const v of ['JUPYTER_PATH', 'JUPYTER_CONFIG_DIR', 'JUPYTER_DATA_DIR', 'JUPYTER_RUNTIME_DIR', 'IPYTHONDIR']) {
    assert.ok(env[v]?.startsWith(k.JUPYTER_DIR), `${v} stays inside .jupyter/`);
  }
  assert.equal(env.JUPYTER_PATH, join(root, '.jupyter', 'share', 'jupyter'));
});

test('fixtures are tslab notebooks that import the tsc build relative to their folder', async () => {
  const k = await load();
  for (const name of ['smoke.ipynb', 'failing.ipynb']) {
    const nb = readNb(name);
    assert.equal((nb.metadata.kernelspec as { name: string }).name, k.KERNEL_NAME);
    const src = nb.cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source)).join('\n');
    assert.match(src, /from '\.\.\/\.\.\/dist\/index'/);
  }
});
