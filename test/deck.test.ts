// The deck builder (scripts/deck.mjs), the notebook output-length check (scripts/notebooks.mjs)
// and the source format's tags (scripts/nbgen.mjs) on small synthetic notebooks. No Jupyter,
// no browser; < 1 s. The decks themselves are measured in Chromium by scripts/slides-check.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Cell, Notebook, Output } from './notebook-types';
interface DeckModule {
  MAX_CODE_LINES: number;
  MAX_CODE_COLUMNS: number;
  deckNotebook(nb: Notebook, opts?: { talk?: boolean }): Notebook;
  talkNotebook(nbs: Notebook[], frame?: { titleMd?: string; closingMd?: string }): Notebook;
  splitBlocks(md: string): { kind: string; text: string }[];
  codeFits(source: string): boolean;
  firstSentence(item: string): string;
}
interface NotebooksModule {
  MAX_OUTPUT_LINES: number;
  findLongOutputs(nb: Notebook, maxLines?: number): { index: number; lines: number; first: string }[];
}
type SourceCell = { type: string; source: string; slide: string | null; tags: string[] };
interface NbgenModule {
  MAX_CODE_COLUMNS: number;
  parseSource(text: string): SourceCell[];
  longCodeLines(cells: SourceCell[], max?: number): { cell: number; line: number; columns: number }[];
}

const root = join(__dirname, '..');
// Variable specifiers keep tsc (CommonJS, strict) from resolving the untyped .mjs files.
const deckPath = join(root, 'scripts', 'deck.mjs');
const notebooksPath = join(root, 'scripts', 'notebooks.mjs');
const nbgenPath = join(root, 'scripts', 'nbgen.mjs');
const deck = (): Promise<DeckModule> => import(deckPath) as Promise<DeckModule>;

const src = (c: Cell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);
const type = (c: Cell): string => c.metadata.slideshow?.slide_type ?? '-';
const png = (w: number, h: number): Output => ({
  output_type: 'display_data',
  data: { 'image/png': 'iVBORw0KGgo=', 'text/plain': '<figure>' },
  metadata: { 'image/png': { width: w, height: h } },
});
const stdout = (lines: number): Output => ({
  output_type: 'stream',
  name: 'stdout',
  text: Array.from({ length: lines }, (_, i) => `line ${i}\n`).join(''),
});
const nbOf = (cells: Cell[]): Notebook => ({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });
const md = (s: string, slide?: string, tags?: string[]): Cell => ({
  cell_type: 'markdown',
  source: s,
  metadata: { ...(slide ? { slideshow: { slide_type: slide } } : {}), ...(tags ? { tags } : {}) },
});
const code = (s: string, outputs: Output[] = [], slide?: string, tags?: string[]): Cell => ({
  cell_type: 'code',
  source: s,
  metadata: { ...(slide ? { slideshow: { slide_type: slide } } : {}), ...(tags ? { tags } : {}) },
  outputs,
});
/** The deck's slides: the cells from one slide/subslide cell to the next, notes separate. */
function slides(nb: Notebook): { cells: Cell[]; notes: Cell[] }[] {
  const out: { cells: Cell[]; notes: Cell[] }[] = [];
  for (const c of nb.cells) {
    if (type(c) === 'slide' || type(c) === 'subslide') out.push({ cells: [c], notes: [] });
    else if (type(c) === 'notes') out[out.length - 1]!.notes.push(c);
    else out[out.length - 1]!.cells.push(c);
  }
  return out;
}

const LONG_PROSE = 'A long paragraph of narrative. '.repeat(12).trim();

test('prose goes to the notes; headings, equations and short lists stay on the slide', async () => {
  const d = await deck();
  const nb = nbOf([
    md(`# Title\n\n${LONG_PROSE}\n\n$$\nf(z) = z + u\\,h(w^\\top z + b)\n$$\n\n- one\n- two`, 'slide'),
    code('const x = 1;'),
  ]);
  const s = slides(d.deckNotebook(nb));
  assert.equal(s.length, 1);
  const onSlide = s[0]!.cells.map(src).join('\n');
  assert.match(onSlide, /# Title/);
  assert.match(onSlide, /f\(z\) = z/);
  assert.match(onSlide, /- one\n- two/);
  assert.match(onSlide, /const x = 1;/, 'short code stays on the slide');
  assert.doesNotMatch(onSlide, /narrative/);
  assert.match(s[0]!.notes.map(src).join('\n'), /narrative/);
});

test('each figure gets its own slide with the title and its caption; long code is left out', async () => {
  const d = await deck();
  const longCode = Array.from({ length: d.MAX_CODE_LINES + 3 }, (_, i) => `const a${i} = ${i};`).join('\n');
  const nb = nbOf([
    md('## 3.1 One layer\n\n$$\nx = 1\n$$', 'slide'),
    md('The picture: before and after.', 'subslide'),
    code(`${longCode}\nnf.show(a); nf.show(b);`, [stdout(2), png(900, 300), png(600, 400)]),
  ]);
  const out = d.deckNotebook(nb);
  const s = slides(out);
  const figureSlides = s.filter((x) => x.cells.some((c) => (c.metadata.tags ?? []).includes('deck-figure')));
  assert.equal(figureSlides.length, 2, 'two figures, two slides');
  for (const f of figureSlides) {
    const figs = f.cells.filter((c) => (c.metadata.tags ?? []).includes('deck-figure'));
    assert.equal(figs.length, 1);
    assert.equal(figs[0]!.outputs?.length, 1, 'one figure output per slide');
    assert.ok(figs[0]!.metadata.tags?.includes('remove-input'), 'the figure without its code');
    assert.match(src(f.cells[0]!), /3\.1 One layer/, 'the figure slide carries the section title');
  }
  assert.match(
    figureSlides[0]!.cells.map(src).join('\n'),
    /The picture: before and after\./,
    'caption on the figure slide',
  );
  // the text output goes to the notes, the long code is on no slide
  const all = s.flatMap((x) => x.cells);
  assert.ok(!all.some((c) => c.cell_type === 'code' && !(c.metadata.tags ?? []).includes('remove-input')));
  assert.ok(s.some((x) => x.notes.some((n) => n.outputs?.some((o) => o.name === 'stdout'))));
  // ids stay unique (nbformat 4.5)
  const ids = out.cells.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('code on a slide: at most 12 lines of at most 80 columns', async () => {
  const d = await deck();
  assert.equal(d.codeFits(Array.from({ length: d.MAX_CODE_LINES }, () => 'x;').join('\n')), true);
  assert.equal(d.codeFits(Array.from({ length: d.MAX_CODE_LINES + 1 }, () => 'x;').join('\n')), false);
  assert.equal(d.codeFits('y'.repeat(d.MAX_CODE_COLUMNS)), true);
  assert.equal(d.codeFits('y'.repeat(d.MAX_CODE_COLUMNS + 1)), false);
});

test('skip cells are left out; a display equation is one block; a long list shows its first sentences', async () => {
  const d = await deck();
  const blocks = d.splitBlocks('Text before\n\n$$\na = b\n\nc = d\n$$\n\n| a | b |\n|---|---|\n| 1 | 2 |');
  assert.deepEqual(
    blocks.map((b) => b.kind),
    ['paragraph', 'math', 'table'],
  );
  const items = Array.from(
    { length: 3 },
    (_, i) => `${i + 1}. Item ${i} has a first sentence here. ${LONG_PROSE}`,
  ).join('\n');
  const s = slides(
    d.deckNotebook(
      nbOf([md('## Setup', 'skip'), code('secret();', [], 'skip'), md(`## Exercises\n\n${items}`, 'slide')]),
    ),
  );
  const text = s
    .flatMap((x) => x.cells)
    .map(src)
    .join('\n');
  assert.doesNotMatch(text, /Setup|secret/);
  assert.match(text, /Item 0 has a first sentence here\./);
  assert.doesNotMatch(text, /narrative/);
  assert.match(
    s
      .flatMap((x) => x.notes)
      .map(src)
      .join('\n'),
    /narrative/,
    'the whole list in the notes',
  );
});

test('the talk deck takes only the cells tagged talk, with its title and closing slides', async () => {
  const d = await deck();
  const a = nbOf([md('# A\n\nnot in the talk', 'slide'), md('## The theorem\n\n$$\np = q\n$$', 'slide', ['talk'])]);
  const b = nbOf([code('plot();', [png(800, 400)], undefined, ['talk']), md('## Other', 'slide')]);
  const talk = d.deckNotebook(d.talkNotebook([a, b], { titleMd: '# Talk', closingMd: '## Where to read on' }), {
    talk: true,
  });
  const text = talk.cells.map(src).join('\n');
  assert.match(text, /# Talk/);
  assert.match(text, /The theorem/);
  assert.match(text, /Where to read on/);
  assert.doesNotMatch(text, /not in the talk|Other/);
  assert.equal(talk.cells.filter((c) => (c.metadata.tags ?? []).includes('deck-figure')).length, 1);
});

test('the notebook check finds text outputs over 40 lines (an object dump), not figures', async () => {
  const m = (await import(notebooksPath)) as NotebooksModule;
  assert.equal(m.MAX_OUTPUT_LINES, 40);
  const nb = nbOf([
    code('ok();', [stdout(40), png(100, 100)]),
    code('dump();', [stdout(2), stdout(167)]),
    code('await x;', [{ output_type: 'execute_result', data: { 'text/plain': 'x\n'.repeat(55) } }]),
  ]);
  const long = m.findLongOutputs(nb);
  assert.deepEqual(
    long.map((l) => [l.index, l.lines]),
    [
      [1, 167],
      [2, 55],
    ],
  );
});

test('source markers tag markdown cells: <!-- slide tags=talk --> and <!-- tags=a,b -->', async () => {
  const m = (await import(nbgenPath)) as NbgenModule;
  const cells = m.parseSource(
    '<!-- slide tags=talk -->\n# A\n\ntext\n<!-- tags=talk,x -->\nmore\n<!-- skip -->\n```ts tags=talk\nx\n```\n<!-- notes -->\nn',
  );
  assert.deepEqual(
    cells.map((c) => [c.type, c.slide, c.tags]),
    [
      ['markdown', 'slide', ['talk']],
      ['markdown', null, ['talk', 'x']],
      ['code', 'skip', ['talk']],
      ['markdown', 'notes', []],
    ],
  );
});

test('notebook code stays within 100 columns (notebooks/src/*.md; slides show at most 80)', async () => {
  const m = (await import(nbgenPath)) as NbgenModule;
  assert.equal(m.MAX_CODE_COLUMNS, 100);
  // the check itself: a 101-column line is found, a 100-column one is not
  const probe = m.parseSource(`\`\`\`ts\n${'x'.repeat(100)}\n${'é'.repeat(101)}\n\`\`\``);
  assert.deepEqual(m.longCodeLines(probe), [{ cell: 0, line: 2, columns: 101 }]);
  const dir = join(root, 'notebooks', 'src');
  const long = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) =>
      m
        .longCodeLines(m.parseSource(readFileSync(join(dir, f), 'utf8')))
        .map((l) => `${f} cell ${l.cell} line ${l.line}: ${l.columns}`),
    );
  assert.deepEqual(long, [], 'wrap them: node scripts/wrap-code.mjs notebooks/src/NN-name.md');
});

test('a list item on a slide keeps its first clause, never one cut inside (…), $…$ or `…`', async () => {
  const { firstSentence } = await deck();
  const item = '* The Householder variants end higher ($M = 1$: about 0.08; $M = 2$: 0.12), and more.';
  assert.equal(
    firstSentence(item),
    '* The Householder variants end higher ($M = 1$: about 0.08; $M = 2$: 0.12), and more.',
  );
  assert.equal(
    firstSentence('* Planar is the cheapest per step (`a: b`). Sylvester is not.'),
    '* Planar is the cheapest per step (`a: b`).',
  );
  assert.equal(
    firstSentence('* Four families end close together: planar and the rest.'),
    '* Four families end close together',
  );
});
