#!/usr/bin/env node
// The import graph of src/: which file imports which, folded to folders (core, flows, targets, ...),
// and the lines per folder. test/structure.test.ts checks the layout rules on the same graph.
//
// Every import counts: `import ... from`, `import type`, `export ... from`, `import '...'`,
// `import('...')`, `typeof import('...')` and `require('...')`, however many lines they span.
// TypeScript's own pre-processor finds them (it skips comments and strings), so nothing here is a
// regular expression over source text. Imports of packages (no leading '.') are not edges.
//
// Usage: node scripts/import-graph.mjs           folder edges with counts, lines per folder
//        node scripts/import-graph.mjs --files   also every import that crosses a folder
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The module specifiers a TypeScript source imports, in order of appearance. */
export function importSpecifiers(text) {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Lines of a text as `wc -l` counts them for a file that ends in a newline. */
export function lineCount(text) {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

/**
 * The file a relative specifier of `fromFile` names (paths relative to the repo root, '/'-separated),
 * tried as written, then with .ts, then as a folder's index.ts; null when it names nothing.
 * `isFile` is injectable for the tests.
 */
export function resolveImport(
  fromFile,
  spec,
  isFile = (p) => existsSync(join(ROOT, p)) && statSync(join(ROOT, p)).isFile(),
) {
  const base = posix.normalize(posix.join(posix.dirname(fromFile), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) if (isFile(candidate)) return candidate;
  return null;
}

/** Every .ts file under `dir` (repo-relative, '/'-separated, sorted). */
export function tsFiles(dir, root = ROOT) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = `${d}/${entry.name}`;
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The file-level import graph of `dir`: edges file -> imported files (only files inside `dir`, each once),
 * `outside` (relative imports that leave `dir`), `unresolved` (relative imports that name no file)
 * and the line count of every file.
 */
export function sourceGraph(dir = 'src', root = ROOT) {
  const files = tsFiles(dir, root);
  const edges = new Map();
  const lines = new Map();
  const outside = [];
  const unresolved = [];
  const isFile = (p) => existsSync(join(root, p)) && statSync(join(root, p)).isFile();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    lines.set(file, lineCount(text));
    const targets = [];
    for (const spec of importSpecifiers(text)) {
      if (!spec.startsWith('.')) continue; // a package
      const target = resolveImport(file, spec, isFile);
      if (target === null) unresolved.push({ file, spec });
      else if (!target.startsWith(`${dir}/`)) outside.push({ file, spec, target });
      else if (!targets.includes(target)) targets.push(target);
    }
    edges.set(file, targets);
  }
  return { files, edges, lines, outside, unresolved };
}

/**
 * The folder of a file in src/: 'src/core/x.ts' -> 'core', 'src/viz/index.ts' -> 'viz';
 * a file directly in src/ is its own "folder": 'src/index.ts' -> 'index.ts'.
 */
export function folderOf(file, dir = 'src') {
  const parts = relative(dir, file).split(sep).join('/').split('/');
  return parts[0];
}

/** Folder-level edges 'a -> b' with the number of file -> file imports behind each (a !== b). */
export function folderEdges(graph, dir = 'src') {
  const counts = new Map();
  for (const [file, targets] of graph.edges) {
    for (const t of targets) {
      const a = folderOf(file, dir);
      const b = folderOf(t, dir);
      if (a === b) continue;
      const key = `${a} -> ${b}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** The folder graph (folder -> folders it imports) of folderEdges' keys. */
export function folderGraph(edges) {
  const g = new Map();
  for (const key of edges.keys()) {
    const [a, b] = key.split(' -> ');
    g.set(a, [...(g.get(a) ?? []), b]);
  }
  return g;
}

/**
 * One cycle of a directed graph (node -> iterable of successors) as a path that starts and ends at
 * the same node, e.g. ['a', 'b', 'c', 'a']; null when the graph is acyclic. Depth-first search with
 * the nodes and successors visited in sorted order, so the answer is deterministic.
 */
export function findCycle(graph) {
  const succ = (n) => [...(graph.get(n) ?? [])].sort();
  const state = new Map(); // undefined: unvisited, 1: on the current path, 2: done
  const path = [];
  const visit = (n) => {
    state.set(n, 1);
    path.push(n);
    for (const m of succ(n)) {
      if (state.get(m) === 1) return [...path.slice(path.indexOf(m)), m];
      if (state.get(m) === undefined) {
        const cycle = visit(m);
        if (cycle) return cycle;
      }
    }
    path.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    if (state.get(n) === undefined) {
      const cycle = visit(n);
      if (cycle) return cycle;
    }
  }
  return null;
}

/** Lines and files per folder, largest file first within each. */
export function folderLines(graph, dir = 'src') {
  const out = new Map();
  for (const [file, n] of graph.lines) {
    const f = folderOf(file, dir);
    const entry = out.get(f) ?? { files: 0, lines: 0, largest: [] };
    entry.files += 1;
    entry.lines += n;
    entry.largest.push({ file, lines: n });
    out.set(f, entry);
  }
  for (const e of out.values()) e.largest.sort((a, b) => b.lines - a.lines);
  return new Map([...out].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function main() {
  const showFiles = process.argv.includes('--files');
  const graph = sourceGraph('src');
  const edges = folderEdges(graph);
  console.log('Folder import graph of src/ (a -> b  n: n distinct pairs of a file in a importing a file in b):');
  const width = Math.max(...[...edges.keys()].map((k) => k.length));
  for (const [edge, n] of edges) console.log(`  ${edge.padEnd(width)}  ${n}`);
  const cycle = findCycle(folderGraph(edges));
  console.log(cycle ? `  folder cycle: ${cycle.join(' -> ')}` : '  (no folder cycle)');
  const fileCycle = findCycle(graph.edges);
  console.log(fileCycle ? `  file cycle: ${fileCycle.join(' -> ')}` : '  (no file cycle)');

  console.log('\nLines per folder (largest files):');
  let total = 0;
  for (const [folder, e] of folderLines(graph)) {
    total += e.lines;
    const top = e.largest
      .slice(0, 3)
      .map((x) => `${posix.basename(x.file)} ${x.lines}`)
      .join(', ');
    console.log(
      `  ${folder.padEnd(12)} ${String(e.files).padStart(3)} files ${String(e.lines).padStart(6)} lines   ${top}`,
    );
  }
  console.log(
    `  ${'total'.padEnd(12)} ${String(graph.files.length).padStart(3)} files ${String(total).padStart(6)} lines`,
  );

  if (showFiles) {
    console.log('\nImports across folders:');
    for (const [file, targets] of graph.edges) {
      for (const t of targets) if (folderOf(file) !== folderOf(t)) console.log(`  ${file} -> ${t}`);
    }
  }
  for (const u of graph.unresolved) console.log(`unresolved: ${u.file} imports '${u.spec}'`);
  for (const o of graph.outside) console.log(`outside src/: ${o.file} imports '${o.spec}' (${o.target})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
