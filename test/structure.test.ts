// The layout of src/ (issue 9), checked on the import graph that scripts/import-graph.mjs builds
// with TypeScript's pre-processor (every `import`/`export ... from`, `import type`, `import('...')`
// and `require('...')`, multi-line or not; comments and strings are skipped):
//   (a) no import cycle between files of src/;
//   (b) folders form the DAG core <- flows <- targets <- train <- diagnostics <- viz; src/kernels may
//       import core/flows/targets/train; only src/kernels, src/viz and src/index.ts import src/kernels;
//       only src/viz imports src/viz; every relative import names a file inside src/;
//   (c) no file of src/ over MAX_LINES lines;
//   (d) no file tracked by git contains the path of the old shared folder.
// Each check is also run on a small synthetic case that must fail, so none of them passes vacuously.
// No tfjs; well under a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

type Graph = Map<string, Iterable<string>>;
interface SourceGraph {
  files: string[];
  edges: Map<string, string[]>;
  lines: Map<string, number>;
  outside: { file: string; spec: string; target: string }[];
  unresolved: { file: string; spec: string }[];
}
interface ImportGraphModule {
  importSpecifiers(text: string): string[];
  lineCount(text: string): number;
  resolveImport(fromFile: string, spec: string, isFile?: (p: string) => boolean): string | null;
  sourceGraph(dir?: string, root?: string): SourceGraph;
  folderOf(file: string, dir?: string): string;
  findCycle(graph: Graph): string[] | null;
}

const root = join(__dirname, '..');
// A variable specifier keeps tsc (CommonJS, strict) from resolving the untyped .mjs file.
const importGraphPath = join(root, 'scripts', 'import-graph.mjs');
const load = (): Promise<ImportGraphModule> => import(importGraphPath) as Promise<ImportGraphModule>;

/** The longest a file of src/ may be: small readable files, one idea each. */
const MAX_LINES = 400;

/** Folders in dependency order: each may import the folders before it (and itself), never after. */
const LAYERS = ['core', 'flows', 'targets', 'train', 'diagnostics', 'viz'];

/**
 * The folders each folder of src/ may import. The fast path (kernels) sits beside the layers: it
 * may use core/flows/targets/train and attaches by registration, so only the barrels (src/index.ts,
 * src/viz) import it. Figures have their own entry (src/viz/index.ts), so nothing outside viz
 * imports viz. 'index.ts' is the barrel src/index.ts.
 */
const ALLOWED: Record<string, readonly string[]> = {
  ...Object.fromEntries(LAYERS.map((f, i) => [f, LAYERS.slice(0, i)])),
  viz: [...LAYERS.slice(0, LAYERS.indexOf('viz')), 'kernels'],
  kernels: ['core', 'flows', 'targets', 'train'],
  'index.ts': ['core', 'flows', 'targets', 'train', 'diagnostics', 'kernels'],
};

/** Every import between folders that ALLOWED does not allow, as 'src/a/x.ts -> src/b/y.ts (why)'. */
function layoutViolations(edges: Map<string, string[]>, folderOf: (f: string) => string): string[] {
  const out: string[] = [];
  for (const [file, targets] of edges) {
    const a = folderOf(file);
    const allowed = ALLOWED[a];
    if (allowed === undefined) {
      out.push(`${file}: folder '${a}' is not in the layout rules of test/structure.test.ts`);
      continue;
    }
    for (const t of targets) {
      const b = folderOf(t);
      if (b !== a && !allowed.includes(b))
        out.push(`${file} -> ${t} (${a} may import ${allowed.join(', ') || 'nothing else'})`);
    }
  }
  return out;
}

/** Files tracked by git (outside node_modules) that contain `needle`; null when not a git checkout. */
function trackedFilesContaining(needle: string): string[] | null {
  const inside = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root, encoding: 'utf8' });
  if (inside.status !== 0) return null;
  // -F: a fixed string; -l: names only; binary files are searched too. Exit 1 means no match.
  const r = spawnSync(
    'git',
    ['grep', '-l', '-F', '-e', needle, '--', '.', ':(exclude)node_modules', ':(exclude)**/node_modules/**'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (r.status === 1) return [];
  if (r.status !== 0) throw new Error(`git grep failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

test('the import parser finds every kind of import and nothing in comments or strings', async () => {
  const { importSpecifiers, resolveImport, lineCount } = await load();
  const text = [
    "// import { no } from './commented';",
    "/* import x from './block-commented'; */",
    'import {',
    '  a,',
    '  b,',
    "} from './multi-line';",
    'import type { T } from "../type-only";',
    "export * from './star';",
    'export {',
    '  c,',
    "} from './named';",
    'const s = "import z from \'./in-string\'";',
    "async function f() { return import('./dynamic'); }",
    "type D = typeof import('./typeof-import');",
    "import './side-effect';",
    "const r = require('./required');",
    "import * as tfjs from '@tensorflow/tfjs';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text), [
    './multi-line',
    '../type-only',
    './star',
    './named',
    './dynamic',
    './typeof-import',
    './side-effect',
    './required',
    '@tensorflow/tfjs',
  ]);
  const files = new Set(['src/flows/planar.ts', 'src/kernels/index.ts', 'src/core/a.ts']);
  const isFile = (p: string): boolean => files.has(p);
  assert.equal(resolveImport('src/flows/flow.ts', './planar', isFile), 'src/flows/planar.ts');
  assert.equal(resolveImport('src/index.ts', './kernels', isFile), 'src/kernels/index.ts');
  assert.equal(resolveImport('src/flows/flow.ts', '../core/a.ts', isFile), 'src/core/a.ts');
  assert.equal(resolveImport('src/flows/flow.ts', '../core/missing', isFile), null);
  assert.equal(lineCount('a\nb\n'), 2);
  assert.equal(lineCount('a\nb'), 2);
  assert.equal(lineCount(''), 0);
});

test('the cycle finder returns the cycle path, and null on a DAG (synthetic graphs)', async () => {
  const { findCycle } = await load();
  const g = (o: Record<string, string[]>): Graph => new Map(Object.entries(o));
  assert.deepEqual(findCycle(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] })), ['a', 'b', 'c', 'a']);
  assert.deepEqual(findCycle(g({ d: ['b'], b: ['c'], c: ['b'] })), ['b', 'c', 'b']);
  assert.deepEqual(findCycle(g({ a: ['a'] })), ['a', 'a']);
  // a diamond is not a cycle
  assert.equal(findCycle(g({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] })), null);
  assert.equal(findCycle(g({})), null);
});

test('the layout rules flag imports against the folder order (synthetic edges)', async () => {
  const { folderOf } = await load();
  const bad = layoutViolations(
    new Map([
      ['src/core/a.ts', ['src/flows/b.ts']], // up the order
      ['src/flows/planar.ts', ['src/kernels/planar.ts', 'src/core/a.ts']], // a layer into kernels
      ['src/index.ts', ['src/viz/plots.ts', 'src/kernels/index.ts']], // the maths barrel into viz
      ['src/kernels/x.ts', ['src/diagnostics/e.ts', 'src/train/t.ts']], // kernels above train
      ['src/viz/index.ts', ['src/kernels/index.ts', 'src/diagnostics/e.ts']], // allowed
      ['src/misc/m.ts', []], // a folder without rules
    ]),
    folderOf,
  );
  assert.deepEqual(
    bad.map((s) => s.split(' (')[0]),
    [
      'src/core/a.ts -> src/flows/b.ts',
      'src/flows/planar.ts -> src/kernels/planar.ts',
      'src/index.ts -> src/viz/plots.ts',
      'src/kernels/x.ts -> src/diagnostics/e.ts',
      "src/misc/m.ts: folder 'misc' is not in the layout rules of test/structure.test.ts",
    ],
  );
  // the rules themselves are a DAG (kernels and the barrel included)
  const { findCycle } = await load();
  assert.equal(findCycle(new Map(Object.entries(ALLOWED))), null);
});

test('(a) no import cycle between the files of src/', async () => {
  const { sourceGraph, findCycle } = await load();
  const graph = sourceGraph('src', root);
  assert.ok(
    graph.files.length > 10 && graph.files.includes('src/index.ts'),
    `src/ was read: ${graph.files.length} files`,
  );
  const cycle = findCycle(graph.edges);
  assert.ok(cycle === null, `import cycle: ${cycle?.join(' -> ')}`);
});

test('(b) the folders of src/ import each other only in the layer order', async () => {
  const { sourceGraph, folderOf } = await load();
  const graph = sourceGraph('src', root);
  const crossFolder = [...graph.edges].flatMap(([f, ts]) => ts.filter((t) => folderOf(t) !== folderOf(f)));
  assert.ok(crossFolder.length > 10, `the graph has imports across folders: ${crossFolder.length}`);
  assert.deepEqual(graph.unresolved, [], 'relative imports that name no file');
  assert.deepEqual(graph.outside, [], 'imports that leave src/ (src/ is built on its own into dist/)');
  const bad = layoutViolations(graph.edges, folderOf);
  assert.ok(
    bad.length === 0,
    `imports against the layout (core <- flows <- targets <- train <- diagnostics <- viz):\n${bad.join('\n')}`,
  );
});

test(`(c) no file of src/ is over ${MAX_LINES} lines`, async () => {
  const { sourceGraph } = await load();
  const { lines } = sourceGraph('src', root);
  assert.ok(
    [...lines.values()].some((n) => n > 100),
    'line counts were read',
  );
  const long = [...lines].filter(([, n]) => n > MAX_LINES).map(([f, n]) => `${f}: ${n} lines`);
  assert.ok(long.length === 0, `split these files:\n${long.join('\n')}`);
});

test('(d) no tracked file points to the old shared folder outside the repo', (t) => {
  // The needle is assembled so that this file does not contain it.
  const needle = ['..', 'shared'].join('/');
  // the search itself works: a string that is in package.json is found there
  const probe = trackedFilesContaining('"name": "normalizing-flows-ts"');
  if (probe === null) {
    t.skip('not a git checkout');
    return;
  }
  assert.ok(probe.includes('package.json'), `git grep finds package.json: ${probe.join(', ')}`);
  assert.deepEqual(trackedFilesContaining(needle), [], `files that mention ${needle}`);
});
