// README.md's "The library in ten lines" example type-checks (the project's strict options) against
// this checkout's src/ and runs to the end in a child process (node --import tsx).
//
// The test changes the README's code in these ways only, each listed in REWRITES or below:
// - the import path: the package root ('./dist' or 'normalizing-flows-ts', and their sub-entries
//   such as './dist/viz') becomes this checkout's src/ (so no build is needed);
// - `steps: N` becomes `steps: 50` and `samples: N` becomes `samples: 2000`: a short run, because
//   the test checks that the example works, not how well it trains;
// - the code after the imports is wrapped in an async function (the example uses top-level await,
//   which a CommonJS .ts file cannot), and the result of `evaluate` is printed as JSON at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..');
const HEADING = '## The library in ten lines';
/** Training steps and evaluation samples of the test's run (the README's are for real use). */
const TEST_STEPS = 50;
const TEST_SAMPLES = 2000;

const REWRITES: { from: RegExp; to: string; why: string; required: boolean }[] = [
  {
    from: /(['"])(?:\.\/dist|normalizing-flows-ts)(\/[\w/-]+)?\1/g,
    to: `'${join(root, 'src').split('\\').join('/')}$2'`,
    why: "the package root -> this checkout's src/",
    required: true,
  },
  { from: /\bsteps: [\d_]+/g, to: `steps: ${TEST_STEPS}`, why: 'a short training run', required: false },
  { from: /\bsamples: [\d_]+/g, to: `samples: ${TEST_SAMPLES}`, why: 'a small evaluation', required: false },
];

/** The first ```ts block after `heading` in a markdown text. */
function codeAfter(markdown: string, heading: string): string {
  const at = markdown.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README.md has the section '${heading}'`);
  const m = /```ts\n([\s\S]*?)\n```/.exec(markdown.slice(at));
  assert.ok(m, `a \`\`\`ts block follows '${heading}'`);
  return m[1]!;
}

/** The example as a runnable CommonJS .ts program (see the header for every change). */
function runnable(example: string): string {
  let code = example;
  for (const r of REWRITES) {
    const n = (code.match(r.from) ?? []).length;
    if (r.required) assert.ok(n > 0, `the example has something to rewrite for: ${r.why} (${r.from})`);
    code = code.replace(r.from, r.to);
  }
  // the leading import declarations (single- or multi-line) stay at the top level
  const imports = /^(?:\s*import\s[^;]*?from\s*['"][^'"]+['"];?[ \t]*(?:\/\/[^\n]*)?\n)+/.exec(code);
  assert.ok(imports, 'the example starts with its imports');
  const body = code.slice(imports[0].length);
  const result = /\bconst (\w+) = evaluate\(/.exec(body);
  assert.ok(result, 'the example ends by evaluating the flow (const d = evaluate(...))');
  return [
    imports[0],
    'void (async () => {',
    body,
    `console.log('RESULT ' + JSON.stringify(${result[1]}));`,
    '})().catch((e: unknown) => {',
    '  console.error(e);',
    '  process.exit(1);',
    '});',
    '',
  ].join('\n');
}

/** Type errors of `file` under the project's tsconfig (strict), without the unused-name checks. */
function typeErrors(file: string): string[] {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  // an example may name values it does not use again (`const { z, logDetJ } = ...` shows the API)
  const options = { ...parsed.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false };
  const program = ts.createProgram([file], options);
  const source = program.getSourceFile(file)!;
  const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
  return diagnostics.map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    return where ? `line ${where.line + 1}: ${text}` : text;
  });
}

test('the rewrite of the example keeps its code and changes only what the header lists', () => {
  const example = [
    "import { a, train, evaluate } from './dist';",
    'import { plot } from "normalizing-flows-ts/viz";',
    'await a();',
    'await train(f, t, { steps: 10000, lr: 1e-3 });',
    'const d = evaluate(f, t, { samples: 100000 });',
  ].join('\n');
  const code = runnable(example);
  const src = join(root, 'src').split('\\').join('/');
  assert.ok(
    code.startsWith(`import { a, train, evaluate } from '${src}';\nimport { plot } from '${src}/viz';\n`),
    code,
  );
  assert.match(code, /await train\(f, t, \{ steps: 50, lr: 1e-3 \}\);/);
  assert.match(
    code,
    /const d = evaluate\(f, t, \{ samples: 2000 \}\);\nconsole\.log\('RESULT ' \+ JSON\.stringify\(d\)\);/,
  );
  assert.throws(() => runnable("import { a } from 'elsewhere';\nconst d = evaluate();"), /package root/);
});

test("README's 'The library in ten lines' type-checks and runs against src/", () => {
  const example = codeAfter(readFileSync(join(root, 'README.md'), 'utf8'), HEADING);
  const dir = mkdtempSync(join(tmpdir(), 'nf-readme-'));
  try {
    const file = join(dir, 'readme-example.ts');
    writeFileSync(file, runnable(example));
    const errors = typeErrors(file);
    assert.ok(
      errors.length === 0,
      `the example does not type-check:\n${errors.join('\n')}\n--- as run:\n${readFileSync(file, 'utf8')}`,
    );

    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 120000 });
    assert.equal(r.status, 0, `the example failed (status ${r.status}):\n${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `the example printed its evaluation:\n${r.stdout}`);
    const d = JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
    assert.equal(d.n, TEST_SAMPLES, 'evaluate ran with the test sample count');
    for (const k of ['elbo', 'logZ', 'klGap']) assert.ok(Number.isFinite(d[k]), `${k} is finite: ${d[k]}`);
    assert.ok(d.essFraction! > 0 && d.essFraction! <= 1, `ESS/N in (0, 1]: ${d.essFraction}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
