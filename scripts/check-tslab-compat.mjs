#!/usr/bin/env node
// Type-check src/ the way tslab compiles what a notebook imports: TypeScript 5.0.4
// (@tslab/typescript-for-tslab), lib es2022 only (no DOM), NON-strict, Node10 resolution.
// The repo's own tsconfig is strict and uses a newer TypeScript; code must pass both.
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('@tslab/typescript-for-tslab');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = readdirSync(join(root, 'src'), { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(root, 'src', f));

const program = ts.createProgram(files, {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.NodeJs,
  esModuleInterop: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  strict: false,
  noEmit: true,
  resolveJsonModule: true,
  skipLibCheck: true,
  types: ['node'],
});
const diags = ts.getPreEmitDiagnostics(program);
if (diags.length > 0) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diags, host));
  console.error(
    `tslab compatibility: ${diags.length} error(s) under TypeScript ${ts.version} (lib es2022, non-strict)`,
  );
  process.exit(1);
}
console.log(
  `tslab compatibility: src/ (${files.length} files) compiles under TypeScript ${ts.version}, lib es2022, non-strict`,
);
