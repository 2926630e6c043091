// The notebook as a lecture deck (used by scripts/slides.mjs; pure functions, unit-tested in
// test/deck.test.ts without Jupyter).
//
// A copy of each executed notebook is rebuilt cell by cell into figure-first slides before
// nbconvert sees it. A slide carries a title and one idea:
//   - markdown: headings, display equations, short lists, small tables and short sentences stay on
//     the slide; long prose paragraphs (and the CHECK sentences) go to the speaker notes;
//   - code: a cell of at most MAX_CODE_LINES lines and MAX_CODE_COLUMNS columns stays on a slide;
//     a longer one is left out of the deck (it is in the notebook) and its text output goes to the
//     speaker notes;
//   - figures: each figure output gets a slide of its own with the section's title and the short
//     sentence that introduced it as caption (the template sizes it to fill the slide);
//   - HTML tables (diagnostics) get a slide of their own;
//   - `skip` cells are left out; `notes` cells are notes; a `slide` marker starts a new horizontal
//     slide, everything else is packed into vertical sub-slides by an estimate of their height.
// Tags: a cell tagged `deck-skip` is left out of decks, `deck-keep` stays on a slide whatever its
// size, `talk` selects cells for the talk deck (talkNotebook).

/** One idea per slide: code on a slide has at most this many lines and columns. */
export const MAX_CODE_LINES = 12;
export const MAX_CODE_COLUMNS = 80;
/** Prose longer than this (characters) is narrative: it goes to the speaker notes. */
export const MAX_SLIDE_PARAGRAPH = 200;
/** A list stays on the slide with at most this many items of at most ITEM characters. */
export const MAX_LIST_ITEMS = 6;
export const MAX_LIST_ITEM = 140;
/** Estimated content height (px of the 1280×720 slide) at which a new sub-slide starts. */
export const SLIDE_BUDGET = 640;

const text = (v) => (Array.isArray(v) ? v.join('') : (v ?? ''));
const srcOf = (item) => text(item.cell.source);
const toLines = (s) => {
  const parts = s.split('\n');
  return parts.map((p, i) => (i < parts.length - 1 ? p + '\n' : p)).filter((p) => p !== '');
};

/** Split markdown into blocks {kind: heading|math|list|table|code|paragraph, text}. */
export function splitBlocks(md) {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const blocks = [];
  let cur = [];
  const flush = () => {
    while (cur.length && !cur[cur.length - 1].trim()) cur.pop();
    if (cur.length) blocks.push(cur.join('\n'));
    cur = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const t = line.trim();
    if (/^\$\$/.test(t) && !(t.length > 2 && /\$\$$/.test(t.slice(2)))) {
      // a display equation over several lines: up to the closing $$
      flush();
      const eq = [line];
      while (++i < lines.length) {
        eq.push(lines[i]);
        if (/\$\$\s*$/.test(lines[i])) break;
      }
      blocks.push(eq.join('\n'));
      continue;
    }
    if (/^```/.test(t)) {
      flush();
      const code = [line];
      while (++i < lines.length) {
        code.push(lines[i]);
        if (/^```\s*$/.test(lines[i].trim())) break;
      }
      blocks.push(code.join('\n'));
      continue;
    }
    if (/^#{1,6}\s/.test(t)) {
      flush();
      blocks.push(line);
      continue;
    }
    if (!t) {
      flush();
      continue;
    }
    cur.push(line);
  }
  flush();
  return blocks.map((b) => ({ kind: blockKind(b), text: b }));
}

function blockKind(b) {
  const t = b.trim();
  if (/^#{1,6}\s/.test(t)) return 'heading';
  if (/^\$\$/.test(t)) return 'math';
  if (/^```/.test(t)) return 'code';
  if (/^\|/.test(t)) return 'table';
  if (/^([-*+]|\d+\.)\s/.test(t)) return 'list';
  return 'paragraph';
}

/** List items of a list block (continuation lines joined). */
function listItems(b) {
  const items = [];
  for (const line of b.split('\n')) {
    if (/^\s*([-*+]|\d+\.)\s/.test(line)) items.push(line.trim());
    else if (items.length) items[items.length - 1] += ' ' + line.trim();
  }
  return items;
}

/** Cut a line of markdown at `max` characters, on a space outside $…$ and `…`, adding "…". */
function cut(line, max) {
  if (line.length <= max) return line;
  let inMath = false;
  let inCode = false;
  let last = -1;
  for (let i = 0; i < Math.min(line.length, max); i++) {
    const ch = line[i];
    if (ch === '$') inMath = !inMath;
    else if (ch === '`') inCode = !inCode;
    else if (ch === ' ' && !inMath && !inCode) last = i;
  }
  return last > 0 ? `${line.slice(0, last).replace(/[,;:—-]+$/, '')} …` : line;
}

/** The first sentence (or clause) of a list item, outside $…$, `…` and (…). */
export function firstSentence(item) {
  let inMath = false;
  let inCode = false;
  let depth = 0; // open parentheses: never end a clause inside one
  for (let i = 0; i < item.length - 1; i++) {
    const ch = item[i];
    if (ch === '$') inMath = !inMath;
    else if (ch === '`') inCode = !inCode;
    else if (inMath || inCode) continue;
    else if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && /[.?:;]/.test(ch) && item[i + 1] === ' ' && i > 20) {
      return item.slice(0, ch === '.' || ch === '?' ? i + 1 : i);
    }
  }
  return item;
}

/** A long list on a slide: the first sentence of each item (the whole list goes to the notes). */
export function listHeads(block) {
  const heads = listItems(block.text).map((i) => cut(firstSentence(i), MAX_LIST_ITEM - 20));
  return { kind: 'list', text: heads.join('\n') };
}

/** Does this markdown block belong on the slide (else: speaker notes)? */
export function onSlide(block) {
  switch (block.kind) {
    case 'heading':
    case 'math':
      return true;
    case 'list': {
      const items = listItems(block.text);
      return items.length <= MAX_LIST_ITEMS && items.every((i) => i.length <= MAX_LIST_ITEM);
    }
    case 'table':
      return block.text.split('\n').length <= 10;
    case 'code': {
      const lines = block.text.split('\n').slice(1, -1);
      return lines.length <= MAX_CODE_LINES && lines.every((l) => l.length <= MAX_CODE_COLUMNS);
    }
    default: {
      const t = block.text.trim();
      if (/^\*\*(CHECK|Check)\b/.test(t)) return false;
      return t.length <= MAX_SLIDE_PARAGRAPH;
    }
  }
}

/** Rough height (px on the 1280×720 slide) of a markdown block; see the template's CSS. */
export function blockHeight(block) {
  const t = block.text.trim();
  const CHARS_PER_LINE = 80; // 26 px text over ~1200 px
  const LINE = 36;
  switch (block.kind) {
    case 'heading':
      return t.startsWith('# ') ? 90 : 70;
    case 'math': {
      // one row per line (\\), taller with fractions, big operators and braces under/over terms
      const rows = 1 + (t.match(/\\\\/g) ?? []).length;
      const tall = /\\(frac|dfrac|sum|prod|int|Big|bigg)/.test(t) ? 24 : 0;
      const braces = 44 * (t.match(/\\(underbrace|overbrace)/g) ?? []).length;
      return 40 + (52 + tall) * rows + braces;
    }
    case 'list':
      return 16 + listItems(t).reduce((s, i) => s + LINE * Math.ceil(i.length / (CHARS_PER_LINE - 4)), 0);
    case 'table':
      return 20 + 42 * t.split('\n').length;
    case 'code':
      return 30 + 24 * t.split('\n').length;
    default:
      return 16 + LINE * Math.ceil(t.length / CHARS_PER_LINE);
  }
}

const isImage = (o) => Boolean(o.data && (o.data['image/png'] || o.data['image/svg+xml']));
const isHtml = (o) => Boolean(o.data && o.data['text/html'] && !isImage(o));
const outputLines = (o) =>
  o.output_type === 'stream'
    ? text(o.text).replace(/\n$/, '').split('\n').length
    : text(o.data?.['text/plain']).split('\n').length;

/** Does a code cell's source fit on a slide? */
export function codeFits(source) {
  const lines = source.replace(/\n+$/, '').split('\n');
  return lines.length <= MAX_CODE_LINES && lines.every((l) => l.length <= MAX_CODE_COLUMNS);
}

/** The heading's text without the leading #s. */
const headingText = (h) => h.trim().replace(/^#+\s*/, '');

/**
 * Build the deck notebook from an executed notebook. Returns a new notebook whose cells carry
 * slideshow metadata and tags (remove-input, deck-figure, deck-caption, deck-table) for nbconvert
 * and the nf-reveal template.
 */
export function deckNotebook(nb, { talk = false } = {}) {
  /** slides: [{title, horizontal, items: [{cell, height}], notes: [cell], figure: bool}] */
  const slides = [];
  let title = '';
  let idn = 0;
  const id = () => `d${String(idn++).padStart(4, '0')}`;
  const md = (src, tags = []) => ({
    cell_type: 'markdown',
    id: id(),
    metadata: tags.length ? { tags } : {},
    source: toLines(src),
  });
  const codeCopy = (cell, outputs, tags = []) => ({
    ...cell,
    id: id(),
    metadata: { tags: [...new Set([...(cell.metadata?.tags ?? []).filter((t) => t !== 'talk'), ...tags])] },
    outputs,
  });
  const current = () => slides[slides.length - 1];
  const used = (s) => s.items.reduce((a, i) => a + i.height, 0);
  const newSlide = (horizontal, withTitle = true) => {
    const s = { title, horizontal, items: [], notes: [], figure: false };
    if (withTitle && title) s.items.push({ cell: md(`### ${title}`, ['deck-title']), height: 70, isTitle: true });
    slides.push(s);
    return s;
  };
  const onlyTitle = (s) => s.items.every((i) => i.isTitle || i.isHeading);
  /**
   * Room on the current slide for `height` px more? Else a new sub-slide with the title. A slide
   * holds at most one `heavy` item (a code block or a table): one idea per slide.
   */
  const room = (height, heavy = false) => {
    const s = current();
    if (!s || s.figure || (used(s) + height > SLIDE_BUDGET && !onlyTitle(s))) return newSlide(false);
    if (heavy && s.items.some((i) => i.heavy)) return newSlide(false);
    return s;
  };
  const notesTo = (s, cell) => (s ?? newSlide(false)).notes.push(cell);

  const keepTalk = (c) => !talk || (c.metadata?.tags ?? []).includes('talk');
  for (const cell of nb.cells) {
    const type = cell.metadata?.slideshow?.slide_type;
    const tags = cell.metadata?.tags ?? [];
    if (type === 'skip' || tags.includes('deck-skip') || tags.includes('remove-cell') || !keepTalk(cell)) continue;
    const src = text(cell.source);
    if (!src.trim()) continue;
    if (type === 'notes') {
      notesTo(
        current(),
        cell.cell_type === 'markdown' ? md(src) : codeCopy(cell, cell.outputs ?? [], ['remove-input']),
      );
      continue;
    }
    if (cell.cell_type === 'markdown') {
      const blocks = splitBlocks(src);
      let first = true;
      let prose = [];
      const flushProse = () => {
        if (prose.length) notesTo(current(), md(prose.join('\n\n')));
        prose = [];
      };
      for (const b of blocks) {
        if (b.kind === 'heading') {
          flushProse();
          const level = b.text.trim().match(/^#+/)[0].length;
          title = headingText(b.text);
          // A heading at the start of a `slide` cell (or a level-1/2 heading) opens a slide.
          const horizontal = (first && type === 'slide') || level <= 2;
          const cur = current();
          const fresh = horizontal || !cur || cur.figure || (used(cur) + 200 > SLIDE_BUDGET && !onlyTitle(cur));
          const s = fresh ? newSlide(horizontal, false) : cur;
          s.items.push({ cell: md(b.text), height: blockHeight(b), isHeading: true });
          first = false;
          continue;
        }
        if (first && type === 'slide') newSlide(true);
        first = false;
        if (onSlide(b) || tags.includes('deck-keep')) {
          const h = blockHeight(b);
          const before = current();
          const s = room(h);
          // "… is:" stays with the equation it introduces
          const last = before?.items[before.items.length - 1];
          if (s !== before && last?.caption && /:\s*$/.test(srcOf(last)) && before.items.length > 2) {
            before.items.pop();
            s.items.push(last);
          }
          s.items.push({ cell: md(b.text), height: h, caption: b.kind === 'paragraph' });
        } else if (b.kind === 'list') {
          // the items' first sentences on the slide, a few at a time; the whole list in the notes
          const heads = listHeads(b).text.split('\n');
          for (let i = 0; i < heads.length; i += MAX_LIST_ITEMS) {
            const part = { kind: 'list', text: heads.slice(i, i + MAX_LIST_ITEMS).join('\n') };
            const h = blockHeight(part);
            room(h).items.push({ cell: md(part.text), height: h });
          }
          prose.push(b.text);
        } else prose.push(b.text);
      }
      flushProse();
      continue;
    }
    // code cell
    if (type === 'slide') newSlide(true);
    const outs = cell.outputs ?? [];
    const figures = outs.filter(isImage);
    const tables = outs.filter(isHtml);
    const texts = outs.filter((o) => !isImage(o) && !isHtml(o));
    const fits = codeFits(src) || tags.includes('deck-keep');
    if (figures.length === 0 && fits) {
      const textLines = texts.reduce((s, o) => s + outputLines(o), 0);
      const showText = textLines <= 6;
      const h = 40 + 24 * src.split('\n').length + (showText ? 22 * textLines : 0);
      const s = room(h, true);
      s.items.push({ cell: codeCopy(cell, showText ? texts : []), height: h, heavy: true });
      if (!showText) notesTo(s, codeCopy(cell, texts, ['remove-input']));
    } else if (texts.length) {
      notesTo(current(), codeCopy(cell, texts, ['remove-input']));
    }
    for (const t of tables) {
      const rows = (text(t.data['text/html']).match(/<tr/g) ?? []).length;
      const h = 60 + 40 * rows;
      const s = room(h, true);
      s.items.push({ cell: codeCopy(cell, [t], ['remove-input', 'deck-table']), height: h, heavy: true });
    }
    for (const f of figures) {
      // The figure's slide: the title, the figure, and the short sentence just before it as caption.
      const prev = current();
      let caption = null;
      if (prev && !prev.figure) {
        const last = prev.items[prev.items.length - 1];
        if (last?.caption) {
          prev.items.pop();
          caption = last;
        }
      }
      let s;
      if (prev && !prev.figure && onlyTitle(prev) && prev.items.length) {
        // A slide with only its title: the figure joins it.
        s = prev;
      } else s = newSlide(false);
      s.figure = true;
      s.items.push({ cell: codeCopy(cell, [f], ['remove-input', 'deck-figure']), height: 0 });
      if (caption) {
        caption.cell.metadata = { tags: ['deck-caption'] };
        s.items.push(caption);
      }
    }
  }

  // Notes of a slide without content go to the slide before it; so do those of a slide with
  // only its heading when the next slide starts another section (a heading whose prose all went
  // to the notes and whose code is left out).
  const kept = [];
  for (let i = 0; i < slides.length; i++) {
    const s = slides[i];
    const next = slides[i + 1];
    const empty = s.items.length === 0 || (i > 0 && onlyTitle(s) && (!next || next.title !== s.title));
    // a continuation slide with only a sentence or two under its title: that is narrative too
    const proseOnly = i > 0 && !s.horizontal && !s.figure && s.items.every((it) => it.isTitle || it.caption);
    if (proseOnly && kept.length) {
      kept[kept.length - 1].notes.push(...s.items.filter((it) => it.caption).map((it) => it.cell), ...s.notes);
      continue;
    }
    if (empty && kept.length)
      kept[kept.length - 1].notes.push(...s.items.filter((it) => it.isHeading).map((it) => it.cell), ...s.notes);
    else if (s.items.length > 0 || s.notes.length > 0) kept.push(s);
  }
  // Emit cells: the first cell of each slide carries slide/subslide, its notes follow.
  const cells = [];
  kept.forEach((s, i) => {
    if (s.items.length === 0) s.items.push({ cell: md(`### ${s.title || ' '}`), height: 70 });
    s.items.forEach((it, j) => {
      const type = j > 0 ? '-' : s.horizontal || i === 0 ? 'slide' : 'subslide';
      cells.push({ ...it.cell, metadata: { ...(it.cell.metadata ?? {}), slideshow: { slide_type: type } } });
    });
    for (const n of s.notes)
      cells.push({ ...n, metadata: { ...(n.metadata ?? {}), slideshow: { slide_type: 'notes' } } });
  });
  return { ...nb, cells };
}

/**
 * The talk deck: the cells tagged `talk` of the given notebooks (in order), with a title slide
 * and a closing slide, as one notebook for deckNotebook({talk: true}).
 */
export function talkNotebook(nbs, { titleMd, closingMd } = {}) {
  const cells = [];
  let n = 0;
  const md = (src, slide) => ({
    cell_type: 'markdown',
    id: `t${n++}`,
    metadata: { slideshow: { slide_type: slide }, tags: ['talk'] },
    source: toLines(src),
  });
  if (titleMd) cells.push(md(titleMd, 'slide'));
  for (const nb of nbs)
    for (const c of nb.cells) if ((c.metadata?.tags ?? []).includes('talk')) cells.push({ ...c, id: `t${n++}` });
  if (closingMd) cells.push(md(closingMd, 'slide'));
  return { ...nbs[0], cells, metadata: { ...nbs[0].metadata, title: 'Normalizing flows' } };
}
