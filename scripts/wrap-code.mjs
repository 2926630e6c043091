#!/usr/bin/env node
// node scripts/wrap-code.mjs notebooks/src/NN-name.md ...
//
// A mechanical line wrap for the notebook sources: every ```ts block with a line over 100 columns
// (MAX_CODE_COLUMNS of scripts/nbgen.mjs, checked by test/deck.test.ts) gets
//   1. long // and /** */ comments re-flowed;
//   2. prettier (printWidth 100, single quotes) on the innermost statement holding a long line,
//      and only on that statement, so the rest of the cell keeps its hand-made layout;
//   3. template literals still too long split at a space outside ${...} into `a ` + `b`
//      (check the diff where a split template is followed by a method call);
// then prettier again. Lines it cannot shorten are left for a hand edit
// (`node scripts/nbgen.mjs --check-width` lists them).
// prettier is not a dependency: `npm install --no-save prettier@3` before running this.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ts = require('typescript');
let prettier;
try {
  prettier = await import('prettier');
} catch {
  console.error('prettier is missing: npm install --no-save prettier@3');
  process.exit(2);
}
const MAX = 100;

const SIMPLE = (n) =>
  ts.isVariableStatement(n) || ts.isExpressionStatement(n) || ts.isReturnStatement(n) || ts.isThrowStatement(n);

function lineStarts(text) {
  const s = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') s.push(i + 1);
  return s;
}

async function fmtSnippet(snippet, indent) {
  const body = snippet
    .split('\n')
    .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
    .join('\n');
  const src = `async function __w__() {\n${body}\n}\n`;
  const out = await prettier.format(src, {
    parser: 'typescript',
    printWidth: MAX - indent.length + 2,
    singleQuote: true,
    trailingComma: 'all',
    arrowParens: 'always',
  });
  const lines = out.trimEnd().split('\n');
  if (!lines[0].startsWith('async function __w__()') || lines[lines.length - 1] !== '}')
    throw new Error('unexpected wrapper');
  return lines
    .slice(1, -1)
    .map((l) => (l.startsWith('  ') ? l.slice(2) : l))
    .map((l) => (l ? indent + l : l))
    .join('\n');
}

async function prettierPass(code) {
  for (let guard = 0; guard < 50; guard++) {
    const lines = code.split('\n');
    const longIdx = lines.map((l, i) => (l.length > MAX ? i : -1)).filter((i) => i >= 0);
    if (!longIdx.length) return code;
    const sf = ts.createSourceFile('c.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const starts = lineStarts(code);
    let done = false;
    for (const li of longIdx) {
      const ls = starts[li];
      const le = ls + lines[li].length;
      // innermost simple statement covering the whole line; else innermost statement
      let best = null;
      let bestAny = null;
      const visit = (n) => {
        const s = n.getStart(sf);
        const e = n.getEnd();
        if (s <= ls + lines[li].search(/\S/) && e >= le - (lines[li].match(/\s*(\/\/.*)?$/)?.[0].length ?? 0)) {
          if (SIMPLE(n)) best = n;
          if (ts.isStatement(n) || ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n)) bestAny = n;
          ts.forEachChild(n, visit);
        }
      };
      ts.forEachChild(sf, visit);
      const node = best ?? bestAny;
      if (!node) continue;
      const s = node.getStart(sf);
      const firstLine = starts.findLastIndex((x) => x <= s);
      const e = node.getEnd();
      const lastLine = starts.findLastIndex((x) => x <= e - 1);
      const from = starts[firstLine];
      const to = starts[lastLine] + lines[lastLine].length;
      const indent = lines[firstLine].match(/^\s*/)[0];
      // the snippet must start at the node (nothing before it on its first line)
      if (code.slice(from, s).trim() !== '') continue;
      let formatted;
      try {
        formatted = await fmtSnippet(code.slice(from, to), indent);
      } catch {
        continue;
      }
      if (formatted === code.slice(from, to)) continue;
      code = code.slice(0, from) + formatted + code.slice(to);
      done = true;
      break;
    }
    if (!done) return code;
  }
  return code;
}

/** Split template literals on long lines: `a ${x} b` -> `a ${x}` +\n `b`. */
function splitTemplates(code) {
  for (let guard = 0; guard < 100; guard++) {
    const lines = code.split('\n');
    const li = lines.findIndex((l) => l.length > MAX && l.includes('`'));
    if (li < 0) return code;
    const starts = lineStarts(code);
    const sf = ts.createSourceFile('c.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    let tpl = null;
    const visit = (n) => {
      if (
        (ts.isTemplateExpression(n) || ts.isNoSubstitutionTemplateLiteral(n)) &&
        !ts.isTaggedTemplateExpression(n.parent)
      ) {
        const s = n.getStart(sf);
        const e = n.getEnd();
        if (s < starts[li] + lines[li].length && e > starts[li] && !code.slice(s, e).includes('\n')) tpl = tpl ?? n;
      }
      ts.forEachChild(n, visit);
    };
    ts.forEachChild(sf, visit);
    if (!tpl) return code;
    const s = tpl.getStart(sf);
    const e = tpl.getEnd();
    const text = code.slice(s, e);
    const col0 = s - starts[li];
    const indent = lines[li].match(/^\s*/)[0];
    // split positions: spaces outside ${...}, the last one keeping the line within MAX
    let depth = 0;
    let cut = -1;
    for (let i = 1; i < text.length - 1; i++) {
      if (text[i] === '$' && text[i + 1] === '{') depth++;
      else if (text[i] === '}' && depth > 0) depth--;
      else if (depth === 0 && text[i] === ' ' && col0 + i + 3 <= MAX && i > 10 && i < text.length - 3) cut = i;
    }
    if (cut < 0) return code;
    const a = text.slice(0, cut + 1) + '`';
    const b = '`' + text.slice(cut + 1);
    // continuation indent: the template's own column if it starts the line, else indent + 2
    const contIndent = lines[li].slice(0, col0).trim() === '' ? ' '.repeat(col0 + 2) : indent + '  ';
    code = code.slice(0, s) + a + ' +\n' + contIndent + b + code.slice(e);
  }
  return code;
}

/** Re-flow long comments. */
function wrapComments(code) {
  const out = [];
  for (const line of code.split('\n')) {
    if (line.length <= MAX) {
      out.push(line);
      continue;
    }
    const m1 = line.match(/^(\s*)\/\/\s?(.*)$/);
    const m2 = line.match(/^(\s*)\/\*\*\s?(.*?)\s*\*\/\s*$/);
    const m4 = line.match(/^(\s*)\*\s?(.*)$/);
    const m3 = !m1 && !m2 && !m4 ? line.match(/^(\s*)(\S.*?;)\s+\/\/\s?(.*)$/) : null;
    const words = (t) => t.split(/\s+/).filter(Boolean);
    const flow = (prefix, t) => {
      const res = [];
      let cur = prefix;
      for (const w of words(t)) {
        if (cur.length + 1 + w.length > MAX && cur.trim() !== prefix.trim()) {
          res.push(cur);
          cur = prefix;
        }
        cur += (cur.endsWith(' ') ? '' : ' ') + w;
      }
      res.push(cur);
      return res;
    };
    if (m1) out.push(...flow(`${m1[1]}// `, m1[2]));
    else if (m2) out.push(`${m2[1]}/**`, ...flow(`${m2[1]} * `, m2[2]), `${m2[1]} */`);
    else if (m4) out.push(...flow(`${m4[1]}* `, m4[2]));
    else if (m3) out.push(...flow(`${m3[1]}// `, m3[3]), `${m3[1]}${m3[2]}`);
    else out.push(line);
  }
  return out.join('\n');
}

for (const f of process.argv.slice(2)) {
  const src = readFileSync(f, 'utf8');
  const parts = src.split(/(^```ts[^\n]*\n[\s\S]*?^```$)/m);
  let changed = 0;
  for (let i = 1; i < parts.length; i += 2) {
    const m = parts[i].match(/^(```ts[^\n]*\n)([\s\S]*?)\n```$/);
    if (!m) continue;
    let code = m[2];
    if (!code.split('\n').some((l) => l.length > MAX)) continue;
    let next = wrapComments(code);
    next = await prettierPass(next);
    next = splitTemplates(next);
    next = await prettierPass(next);
    next = wrapComments(next);
    if (next !== code) {
      parts[i] = m[1] + next + '\n```';
      changed++;
    }
  }
  writeFileSync(f, parts.join(''));
  console.log(f, changed, 'blocks changed');
}
