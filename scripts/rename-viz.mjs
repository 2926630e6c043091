#!/usr/bin/env node
// node scripts/rename-viz.mjs [--dry-run]
//
// Issue 9's one-off rename, kept so it can be re-run after a merge: figures, tables and display
// left the maths barrel (dist/index) for their own entry point dist/viz. In every notebook source
// (notebooks/src/*.md, notebooks/src/solutions/*.md) `nf.X` becomes `viz.X` for each name X that
// src/viz/index.ts exports (values and types), and `import * as viz from '../dist/viz';`
// ('../../dist/viz' in solutions) goes right under the `import * as nf` line. Prints the renamed
// names with their counts, and lists any test/ or scripts/ file that still imports a viz name
// from '../src' (those are edited by hand). Idempotent.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dryRun = process.argv.includes('--dry-run');

/** Every name src/viz/index.ts exports, types included. */
function vizNames() {
  const entry = join(ROOT, 'src', 'viz', 'index.ts');
  const program = ts.createProgram([entry], { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(entry));
  return new Set(checker.getExportsOfModule(symbol).map((s) => s.name));
}

const names = vizNames();
const NF_IMPORT = /^import \* as nf from '((?:\.\.\/)+)dist(?:\/index)?';$/m;
const counts = new Map();
const dirs = [join(ROOT, 'notebooks', 'src'), join(ROOT, 'notebooks', 'src', 'solutions')];
for (const dir of dirs) {
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.md'))
    .sort()) {
    const file = join(dir, f);
    const before = readFileSync(file, 'utf8');
    let text = before.replace(/\bnf\.([A-Za-z_$][\w$]*)\b/g, (all, name) => {
      if (!names.has(name)) return all;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return `viz.${name}`;
    });
    if (/\bviz\.[A-Za-z_$]/.test(text) && !/^import \* as viz from /m.test(text)) {
      const m = NF_IMPORT.exec(text);
      if (m === null) throw new Error(`${file}: uses viz.* but has no \`import * as nf from '../dist'\` line`);
      const at = m.index + m[0].length;
      text = `${text.slice(0, at)}\nimport * as viz from '${m[1]}dist/viz';${text.slice(at)}`;
    }
    if (text !== before) {
      console.log(`${dryRun ? 'would edit' : 'edited'} ${file.slice(ROOT.length + 1)}`);
      if (!dryRun) writeFileSync(file, text);
    }
  }
}
console.log(
  `renamed nf.X -> viz.X: ${
    [...counts]
      .sort()
      .map(([n, c]) => `${n} (${c})`)
      .join(', ') || 'none'
  }`,
);

// Named imports of viz names from the maths barrel in tests and scripts.
for (const dir of ['test', 'scripts']) {
  for (const f of readdirSync(join(ROOT, dir)).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(join(ROOT, dir, f), 'utf8');
    for (const m of src.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'\.\.\/src(?:\/index)?'/g)) {
      const bad = m[1]
        .split(',')
        .map(
          (s) =>
            s
              .trim()
              .replace(/^type\s+/, '')
              .split(/\s+as\s+/)[0],
        )
        .filter((n) => names.has(n));
      if (bad.length) console.log(`${dir}/${f}: imports viz names from '../src': ${bad.join(', ')}`);
    }
  }
}
