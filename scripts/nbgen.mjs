#!/usr/bin/env node
// Build notebooks/NN-name.ipynb from its readable source notebooks/src/NN-name.md.
//
// Source format (renders on GitHub as an ordinary document):
// - every fenced ```ts block is one code cell; the text between them is markdown;
// - a line `<!-- slide -->`, `<!-- subslide -->`, `<!-- fragment -->`, `<!-- skip -->` or
//   `<!-- notes -->` starts a new cell and gives it that slideshow type (the deck's structure);
//   `<!-- slide tags=talk -->` also gives the markdown cell tags, `<!-- tags=talk -->` only tags;
//   (the tag `talk` puts a cell into the talk deck, `npm run slides -- --talk`);
// - a fenced block opened with ```ts tags=a,b gets those cell tags.
// Outputs are not kept: `npm run notebooks` executes the generated notebooks in place.
//
// Worked solutions to the exercises live in notebooks/src/solutions/NN-name-solutions.md and build
// into notebooks/solutions/ (they import '../../dist'); `npm run notebooks` executes them too.
//
// Usage: node scripts/nbgen.mjs [NAME ...]   (default: every notebooks/src/*.md and
//        notebooks/src/solutions/*.md; a NAME may be `solutions/03-planar-flows-solutions`)
//        node scripts/nbgen.mjs --check-width [NAME ...]   list code lines over MAX_CODE_COLUMNS
//        columns (exit 1 when there are any); builds nothing
import { existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'notebooks', 'src');
const SLIDE_TYPES = new Set(['slide', 'subslide', 'fragment', 'skip', 'notes']);
const MARKER = /^<!--\s*(slide|subslide|fragment|skip|notes)?\s*(?:tags=([\w,-]+))?\s*-->\s*$/;

/** Notebook code stays readable in a 100-column editor (slides show ≤ 80, see scripts/deck.mjs). */
export const MAX_CODE_COLUMNS = 100;

/** Code lines over `max` columns: [{cell, line, columns}] (cell = index among all cells, line 1-based). */
export function longCodeLines(cells, max = MAX_CODE_COLUMNS) {
  const out = [];
  cells.forEach((c, cell) => {
    if (c.type !== 'code') return;
    c.source.split('\n').forEach((l, i) => {
      if ([...l].length > max) out.push({ cell, line: i + 1, columns: [...l].length });
    });
  });
  return out;
}

/** Parse the source text into cells {type, source, slide, tags}. */
export function parseSource(text) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const cells = [];
  let md = [];
  let pendingSlide = null;
  let pendingTags = [];
  const flushMd = () => {
    while (md.length && md[0].trim() === '') md.shift();
    while (md.length && md[md.length - 1].trim() === '') md.pop();
    if (md.length) {
      cells.push({ type: 'markdown', source: md.join('\n'), slide: pendingSlide, tags: pendingTags });
      pendingSlide = null;
      pendingTags = [];
    }
    md = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const marker = line.match(MARKER);
    if (marker && (marker[1] || marker[2])) {
      flushMd();
      if (marker[1] && !SLIDE_TYPES.has(marker[1])) throw new Error(`line ${i + 1}: unknown slide type ${marker[1]}`);
      pendingSlide = marker[1] ?? null;
      pendingTags = marker[2] ? marker[2].split(',') : [];
      continue;
    }
    const fence = line.match(/^```ts(?:\s+tags=([\w,-]+))?\s*$/);
    if (fence) {
      flushMd();
      const code = [];
      i++;
      while (i < lines.length && !/^```\s*$/.test(lines[i])) code.push(lines[i++]);
      if (i >= lines.length) throw new Error(`unclosed code block starting at line ${i + 1}`);
      cells.push({
        type: 'code',
        source: code.join('\n'),
        slide: pendingSlide,
        tags: fence[1] ? fence[1].split(',') : [],
      });
      pendingSlide = null;
      pendingTags = [];
      continue;
    }
    md.push(line);
  }
  flushMd();
  return cells;
}

function toLines(s) {
  const parts = s.split('\n');
  return parts.map((p, i) => (i < parts.length - 1 ? p + '\n' : p)).filter((p) => p !== '');
}

/** A notebook (nbformat 4.5) for the tslab TypeScript kernel. */
export function toNotebook(cells) {
  return {
    cells: cells.map((c, i) => {
      const metadata = {};
      if (c.slide) metadata.slideshow = { slide_type: c.slide };
      if (c.tags.length) metadata.tags = c.tags;
      const base = { cell_type: c.type, id: `c${String(i).padStart(3, '0')}`, metadata, source: toLines(c.source) };
      return c.type === 'code' ? { ...base, execution_count: null, outputs: [] } : base;
    }),
    metadata: {
      kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
      language_info: {
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
        file_extension: '.ts',
        mimetype: 'text/typescript',
        name: 'typescript',
        version: '3.7.2',
      },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Every source: notebooks/src/*.md, then notebooks/src/solutions/*.md (paths relative to srcDir). */
function allSources() {
  const md = (dir) =>
    (existsSync(join(srcDir, dir)) ? readdirSync(join(srcDir, dir)) : []).filter((f) => f.endsWith('.md')).sort();
  return [...md(''), ...md('solutions').map((f) => `solutions/${f}`)];
}

/** A source's path relative to srcDir: `solutions/X.md` stays in solutions/, anything else by base name. */
const relSource = (f) => (f.startsWith('solutions/') ? `solutions/${basename(f)}` : basename(f));

function main(args) {
  const checkWidth = args.includes('--check-width');
  const names = args.filter((a) => a !== '--check-width');
  const files = names.length ? names.map((n) => (n.endsWith('.md') ? n : `${n}.md`)) : allSources();
  if (checkWidth) {
    let n = 0;
    for (const f of files) {
      const long = longCodeLines(parseSource(readFileSync(join(srcDir, relSource(f)), 'utf8')));
      for (const l of long)
        console.log(`${f}: cell ${l.cell} line ${l.line}: ${l.columns} columns > ${MAX_CODE_COLUMNS}`);
      n += long.length;
    }
    console.log(`${n} code line(s) over ${MAX_CODE_COLUMNS} columns`);
    process.exit(n ? 1 : 0);
  }
  for (const f of files) {
    const rel = relSource(f);
    const cells = parseSource(readFileSync(join(srcDir, rel), 'utf8'));
    const out = join(root, 'notebooks', rel.replace(/\.md$/, '.ipynb'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(toNotebook(cells), null, 1) + '\n');
    console.log(`${out}: ${cells.length} cells (${cells.filter((c) => c.type === 'code').length} code)`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
