#!/usr/bin/env node
// node scripts/slides-check.mjs [deck.slides.html ...] [--width 1280] [--height 720] [--shots DIR]
//                               [--shot-slides 0,5,12] [--json FILE]
// (also run by `npm run slides -- --check` after it builds the decks)
//
// Opens every deck (default: out/slides/*.slides.html) in Debian's Chromium through
// playwright-core at a 1280×720 viewport, waits for reveal.js and MathJax, then walks the deck
// through the Reveal API (Reveal.getSlides, Reveal.slide) and measures, on every slide:
//   - height:  the section's scrollHeight against the configured slide height (no vertical scroll);
//   - width:   the section's scrollWidth against the configured slide width;
//   - code:    every <pre>: scrollWidth > clientWidth means a clipped line; an input code block over
//              MAX_CODE_LINES lines or MAX_CODE_COLUMNS columns breaks the one-idea rule;
//   - fonts:   every visible text element (and each MathJax formula as a whole): computed font size
//              × Reveal.getScale() must be ≥ MIN_TEXT_PX on screen (code included);
//   - figures: every <img> must be at least half the slide's width or half its height on screen.
// Each problem is printed as "deck #index (h.v) title: problem"; the exit status is 1 when any is
// found. The summary gives slide counts per deck and the tallest slide. Every request that is not
// file: or data: is aborted, so a deck that needs the web fails its figures/fonts visibly.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ROOT, parseArgs } from './kernel.mjs';
import { CHROMIUM, chromiumArgs } from './browser-common.mjs';

/** Smallest on-screen font size (px at 1280×720) for text and code: readable from the back row. */
export const MIN_TEXT_PX = 14;
/** A figure must span at least this fraction of the slide's width or of its height. */
export const MIN_FIGURE_FRACTION = 0.5;
/** One idea per slide: a code block on a slide has at most this many lines and columns. */
export const MAX_CODE_LINES = 12;
export const MAX_CODE_COLUMNS = 80;
/** Tick-label size of the library's figures at their CSS size: the built library's own constant. */
const PLOT_FONT_PX = createRequire(import.meta.url)('../dist/viz/figure.js').PLOT_FONT_SIZE;
/** Rounding slack in px (layout is fractional). */
const SLACK = 1;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs in the page: measure the current slide. Returns {title, height, problems[]}. */
function measureSlide(limits) {
  const R = window.Reveal;
  const cfg = R.getConfig();
  const scale = R.getScale();
  const slide = R.getCurrentSlide();
  const problems = [];
  const visible = (el) => {
    if (el.closest('aside.notes')) return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const heading = slide.querySelector('h1, h2, h3, h4');
  // The title as written: TeX source for formulas ($U_1$), not MathJax's rendering.
  let title = '';
  if (heading) {
    const h = heading.cloneNode(true);
    for (const sc of h.querySelectorAll('script[type^="math/tex"]')) sc.replaceWith(`$${sc.textContent}$`);
    for (const x of h.querySelectorAll(
      '.MathJax, .MathJax_Preview, .MJX_Assistive_MathML, .MathJax_CHTML, a.anchor-link',
    ))
      x.remove();
    title = h.textContent.replace(/¶/g, '').replace(/\s+/g, ' ').trim().slice(0, 60);
  }
  // The content's height: the lowest child's bottom edge below the section's top, in slide px
  // (sections have a min-height, so scrollHeight alone never reports a short slide).
  const top = slide.getBoundingClientRect().top;
  let bottom = top;
  for (const c of slide.children)
    if (!c.matches('aside.notes')) bottom = Math.max(bottom, c.getBoundingClientRect().bottom);
  const height = Math.max(
    Math.round((bottom - top) / scale),
    slide.scrollHeight > cfg.height + limits.slack ? slide.scrollHeight : 0,
  );
  if (height > cfg.height + limits.slack) problems.push(`taller than the screen: ${height} px > ${cfg.height} px`);
  if (slide.scrollWidth > cfg.width + limits.slack)
    problems.push(`wider than the screen: ${slide.scrollWidth} px > ${cfg.width} px`);
  // Content beyond the right edge (a long formula, a wide table or figure)
  const right = slide.getBoundingClientRect().right;
  for (const el of slide.querySelectorAll('.MathJax, .MathJax_CHTML, p, li, table, img, h1, h2, h3, h4, pre')) {
    if (!visible(el) || (el.closest('pre') !== el && el.closest('pre'))) continue;
    const over = el.getBoundingClientRect().right - right;
    if (over > limits.slack * scale) {
      problems.push(
        `<${el.tagName.toLowerCase()}> runs ${Math.round(over / scale)} px past the right edge: "${el.textContent.trim().slice(0, 40)}"`,
      );
      break;
    }
  }
  // Code blocks
  let codeBlocks = 0;
  for (const pre of slide.querySelectorAll('pre')) {
    if (!visible(pre)) continue;
    codeBlocks++;
    const isInput = Boolean(pre.closest('.jp-InputArea, .jp-Editor, .highlight')) && !pre.closest('.jp-OutputArea');
    const kind = isInput ? 'code' : 'output';
    const first = (pre.textContent.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 40);
    if (pre.scrollWidth > pre.clientWidth + limits.slack) {
      problems.push(`${kind} block clipped on the right (${pre.scrollWidth} > ${pre.clientWidth} px): "${first}"`);
    }
    const lines = pre.textContent.replace(/\n$/, '').split('\n');
    if (isInput && lines.length > limits.maxCodeLines)
      problems.push(`code block of ${lines.length} lines > ${limits.maxCodeLines}: "${first}"`);
    const wide = Math.max(...lines.map((l) => l.length));
    if (isInput && wide > limits.maxCodeColumns)
      problems.push(`code line of ${wide} columns > ${limits.maxCodeColumns}: "${first}"`);
  }
  // Fonts: elements with their own text, and MathJax formulas as a whole.
  const small = new Map();
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.nodeValue.trim()) continue;
    let el = n.parentElement;
    if (!el || el.closest('script, style, aside.notes, .MathJax_Preview, .MJX_Assistive_MathML')) continue;
    const mj = el.closest('.MathJax, .MathJax_CHTML, .MathJax_SVG');
    if (mj) el = mj;
    if (!visible(el)) continue;
    const px = parseFloat(getComputedStyle(el).fontSize) * scale;
    if (px < limits.minTextPx - 0.05) {
      const key = `${el.tagName.toLowerCase()}${mj ? ' (formula)' : ''}`;
      const prev = small.get(key);
      if (!prev || px < prev.px) small.set(key, { px, text: (mj ? '' : n.nodeValue.trim()).slice(0, 30) });
    }
  }
  // Markdown or TeX that did not render: a table row split at a | inside $…$, a formula shown raw.
  const rawWalker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  for (let n = rawWalker.nextNode(); n; n = rawWalker.nextNode()) {
    const el = n.parentElement;
    if (
      !el ||
      el.closest(
        'pre, code, script, style, aside.notes, .MathJax, .MathJax_Preview, .MJX_Assistive_MathML, .jp-OutputArea',
      )
    )
      continue;
    const t = n.nodeValue;
    const raw = /\|\s*:?-{3,}/.test(t)
      ? 'markdown table'
      : /\$[^$\s][^$]*\$|\\(mathrm|frac|det|log|sum|hat|tilde|lvert|Vert)\b/.test(t)
        ? 'TeX'
        : null;
    if (raw && visible(el)) {
      problems.push(`raw ${raw} on the slide: "${t.trim().slice(0, 50)}"`);
      break;
    }
  }
  for (const [key, { px, text }] of small)
    problems.push(`text ${px.toFixed(1)} px < ${limits.minTextPx} px in <${key}>${text ? `: "${text}"` : ''}`);
  // Figures
  const figures = [];
  for (const img of slide.querySelectorAll('img')) {
    if (!visible(img)) continue;
    const r = img.getBoundingClientRect();
    const fw = r.width / (cfg.width * scale);
    const fh = r.height / (cfg.height * scale);
    // The figure's own text: Plot draws ticks at PLOT_FONT_SIZE px of the figure's CSS width (the
    // width attribute from the PNG's metadata), so on screen it is that × displayed / CSS width.
    const cssW = parseFloat(img.getAttribute('width')) || img.naturalWidth / 1.5;
    const tickPx = (limits.plotFontPx * r.width) / cssW;
    figures.push({ w: Math.round(r.width), h: Math.round(r.height), tickPx });
    if (fw < limits.minFigure && fh < limits.minFigure) {
      problems.push(
        `figure ${Math.round(r.width)}×${Math.round(r.height)} px is under half the slide's width and height`,
      );
    }
  }
  return { title, height, codeBlocks, figures, problems, scale, width: cfg.width, cfgHeight: cfg.height };
}

/**
 * Check decks; returns {decks: [{deck, slides, tallest, problems}], problems: string[]}.
 * `shots`: folder for screenshots; `shotSlides`: (deck, index, info) => boolean.
 */
export async function checkDecks(
  files,
  { width = 1280, height = 720, shots = null, shotSlides = null, log = console.log } = {},
) {
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'nf-slides-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width, height },
    args: chromiumArgs({ extra: ['--allow-file-access-from-files'] }),
  });
  const limits = {
    slack: SLACK,
    minTextPx: MIN_TEXT_PX,
    minFigure: MIN_FIGURE_FRACTION,
    maxCodeLines: MAX_CODE_LINES,
    maxCodeColumns: MAX_CODE_COLUMNS,
    plotFontPx: PLOT_FONT_PX,
  };
  const report = { decks: [], problems: [] };
  try {
    await context.route('**/*', (route) =>
      /^(file|data|blob):/.test(route.request().url()) ? route.continue() : route.abort(),
    );
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    if (shots) mkdirSync(shots, { recursive: true });
    for (const file of files) {
      const deck = basename(file).replace(/\.slides\.html$/, '');
      const t0 = performance.now();
      pageErrors.length = 0;
      await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load', timeout: 60_000 });
      // Decks made by older templates load Reveal through requirejs only: fetch the module.
      await page.waitForFunction(
        () => {
          if (!window.Reveal && window.require?.defined?.('lib/reveal.js/dist/reveal.js')) {
            window.Reveal = window.require('lib/reveal.js/dist/reveal.js');
          }
          return window.Reveal?.isReady?.();
        },
        null,
        { timeout: 60_000 },
      );
      // MathJax 2 typesets after load: wait until its queue has drained.
      await page.evaluate(
        () =>
          new Promise((res) => {
            if (!window.MathJax?.Hub) return res();
            window.MathJax.Hub.Queue(() => res());
          }),
      );
      // The template typesets again once Reveal shows the slides, then sizes the figures.
      const fitted = await page
        .waitForFunction(() => window.deckFitted === true, null, { timeout: 60_000 })
        .then(() => true)
        .catch(() => false);
      if (!fitted) report.problems.push(`${deck}: the deck never finished its layout (window.deckFitted)`);
      const n = await page.evaluate(() => window.Reveal.getSlides().length);
      // The speaker view (key s) needs the notes plugin, loaded from lib/ (offline).
      const notes = await page.evaluate(() => ({
        plugin: window.Reveal.hasPlugin('notes'),
        asides: document.querySelectorAll('.reveal aside.notes').length,
      }));
      if (!notes.plugin) report.problems.push(`${deck}: the notes plugin is not loaded (no speaker view)`);
      const info = {
        deck,
        slides: n,
        notes: notes.asides,
        tallest: { index: -1, height: 0, title: '' },
        figures: 0,
        smallestTick: null,
        problems: [],
      };
      for (let i = 0; i < n; i++) {
        await page.evaluate((i) => {
          const s = window.Reveal.getSlides()[i];
          const { h, v } = window.Reveal.getIndices(s);
          window.Reveal.slide(h, v ?? 0);
        }, i);
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        const m = await page.evaluate(measureSlide, limits);
        const idx = await page.evaluate(() => window.Reveal.getIndices());
        const where = `${deck} #${i} (${idx.h}.${idx.v ?? 0})${m.title ? ` "${m.title}"` : ''}`;
        if (m.height > info.tallest.height) info.tallest = { index: i, height: m.height, title: m.title };
        // figure slides fill the screen by design; the tallest slide without one shows the headroom
        if (!m.figures.length && m.height > (info.tallestText?.height ?? 0))
          info.tallestText = { index: i, height: m.height };
        for (const f of m.figures) {
          info.figures++;
          if (!info.smallestTick || f.tickPx < info.smallestTick.px) info.smallestTick = { index: i, px: f.tickPx };
        }
        for (const p of m.problems) {
          info.problems.push(`${where}: ${p}`);
          report.problems.push(`${where}: ${p}`);
        }
        if (shots && (!shotSlides || shotSlides(deck, i, m))) {
          await page.screenshot({ path: join(shots, `${deck}-${String(i).padStart(2, '0')}.png`) });
        }
      }
      for (const e of pageErrors) report.problems.push(`${deck}: page error: ${e}`);
      info.seconds = (performance.now() - t0) / 1000;
      report.decks.push(info);
      log(
        `  ${deck}: ${n} slides, tallest #${info.tallest.index} ${info.tallest.height} px` +
          `${info.tallest.title ? ` "${info.tallest.title}"` : ''}` +
          `${info.tallestText ? ` (without a figure: #${info.tallestText.index} ${info.tallestText.height} px)` : ''}` +
          `, ${info.figures} figures, ${info.notes} notes` +
          `${info.smallestTick ? ` (smallest tick labels ≈ ${info.smallestTick.px.toFixed(1)} px on #${info.smallestTick.index})` : ''}` +
          `, ${info.problems.length} problem(s) (${info.seconds.toFixed(1)} s)`,
      );
    }
  } finally {
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    rmSync(profileDir, { recursive: true, force: true });
  }
  return report;
}

/**
 * A deck with one clean slide and one slide per kind of problem, written next to the decks (it
 * loads lib/reveal.js): the check must find exactly the planted problems, or it cannot be trusted.
 * Returns a list of mismatches (empty when the check sees what it should).
 */
export async function selfTest(dir = join(ROOT, 'out', 'slides')) {
  const dot =
    'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  const slides = [
    '<h2>A clean slide</h2><p>One idea.</p><img src="' +
      dot +
      '" width="800" height="400" style="width:800px;height:400px">',
    '<h2>Too tall</h2><div style="height:1500px">tall</div>',
    '<h2>Clipped code</h2><div class="jp-InputArea"><pre style="overflow-x:auto">' + 'x'.repeat(200) + '</pre></div>',
    '<h2>Tiny text</h2><p style="font-size:8px">tiny</p>',
    '<h2>Small figure</h2><img src="' + dot + '" width="100" height="100" style="width:100px;height:100px">',
    '<h2>Raw TeX</h2><p>the loss $\\mathrm{KL}(q|p)$ shown raw</p>',
  ];
  const expected = [
    null,
    /taller than the screen/,
    /clipped on the right/,
    /text .* px < /,
    /figure .* under half/,
    /raw TeX/,
  ];
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="../lib/reveal.js/dist/reveal.css"></head><body>
<div class="reveal"><div class="slides">${slides.map((x) => `<section>${x}</section>`).join('\n')}</div></div>
<script src="../lib/reveal.js/dist/reveal.js"></script>
<script>Reveal.initialize({ width: 1280, height: 720, margin: 0.02, center: true, viewDistance: 1000, plugins: [] })
  .then(function () { window.deckFitted = true; });</script></body></html>`;
  mkdirSync(join(dir, '.decks'), { recursive: true });
  const file = join(dir, '.decks', 'selftest.slides.html');
  writeFileSync(file, html);
  const report = await checkDecks([file], { log: () => {} });
  const mismatches = [];
  expected.forEach((re, i) => {
    const mine = report.problems.filter((p) => new RegExp(`#${i} `).test(p));
    if (re === null && mine.length) mismatches.push(`slide ${i} should pass: ${mine.join('; ')}`);
    if (re !== null && !mine.some((p) => re.test(p)))
      mismatches.push(`slide ${i}: expected ${re}, got ${mine.join('; ') || 'nothing'}`);
  });
  for (const p of report.problems) if (!/#\d+ /.test(p) && !/notes plugin/.test(p)) mismatches.push(`unexpected: ${p}`);
  return mismatches;
}

/** out/slides/*.slides.html */
export function defaultDecks(dir = join(ROOT, 'out', 'slides')) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.slides.html'))
    .sort()
    .map((f) => join(dir, f));
}

/** Print the problems; return the exit status. */
export function reportProblems(report, t0) {
  const total = report.decks.reduce((s, d) => s + d.slides, 0);
  for (const p of report.problems) console.log(`  FAIL ${p}`);
  const sec = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `slide check: ${report.decks.length} decks, ${total} slides, ${report.problems.length} problem(s) at 1280×720 in ${sec} s`,
  );
  return report.problems.length ? 1 : 0;
}

async function main() {
  const { opts, positional } = parseArgs(process.argv.slice(2), {
    booleans: ['self-test'],
    strings: ['width', 'height', 'shots', 'shot-slides', 'json'],
  });
  if (opts['self-test']) {
    const bad = await selfTest();
    for (const b of bad) console.log(`  SELF-TEST ${b}`);
    console.log(`slide check self-test: ${bad.length ? 'FAILED' : 'ok'} (six planted slides)`);
    process.exit(bad.length ? 1 : 0);
  }
  const files = positional.length ? positional : defaultDecks();
  const t0 = performance.now();
  const pick = opts['shot-slides'] ? new Set(opts['shot-slides'].split(',')) : null;
  const report = await checkDecks(files, {
    width: Number(opts.width ?? 1280),
    height: Number(opts.height ?? 720),
    shots: opts.shots ? resolve(opts.shots) : null,
    shotSlides: pick ? (deck, i) => pick.has(String(i)) || pick.has(`${deck}:${i}`) : null,
  });
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 1));
  console.log(`decks: ${files.map((f) => relative(ROOT, f)).join(', ')}`);
  process.exit(reportProblems(report, t0));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
