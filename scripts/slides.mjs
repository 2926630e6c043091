#!/usr/bin/env node
// npm run slides [-- [--from-out | --dir DIR] [--talk] [--check] [--shots DIR] [notebook ...]]
//
//   --from-out  decks from out/notebooks/ (written by `npm run notebooks -- --check`)
//   --dir DIR   decks from the executed notebooks in DIR
//   --talk   build only the talk deck out/slides/talk.slides.html: the cells tagged `talk` of
//            01-06 (a 45-minute talk), with the title and closing slides of scripts/talk.md
//   --check  after building, walk every deck built (the six and the talk deck) in Chromium at
//            1280×720 and fail on any slide that overflows (scripts/slides-check.mjs; it first
//            runs its self-test on a deck of planted problems)
//   --shots DIR  with --check: a screenshot of every slide into DIR
// Without notebook names and without --talk, the six decks and the talk deck are built.
//
// Builds an offline reveal.js deck out/slides/<name>.slides.html for every executed notebook
// (notebooks/*.ipynb, or out/notebooks/*.ipynb written by `npm run notebooks -- --check` with
// --from-out; or the ones named). Nothing is fetched from the web: reveal.js 4.6.1, jquery,
// requirejs and MathJax 2.7.9 are copied from node_modules into out/slides/lib/ and referenced by
// relative URLs, theme "white" (other themes fetch web fonts), no In/Out prompts.
// Figures: PNG is preferred over SVG (nbconvert 6.5 blanks inline SVG), and an SVG-only output is
// rendered as a data-URI <img> by the template scripts/nbconvert/templates/nf-reveal.
// Which cell starts a slide comes from cell metadata {"slideshow": {"slide_type": ...}}.
// Open a deck: out/slides/<name>.slides.html in a browser (file:// works), arrow keys to move.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { ROOT, jupyterEnv, requirePython, slidesArgs, parseArgs, text } from './kernel.mjs';
import { deckNotebook, talkNotebook } from './deck.mjs';
import { checkDecks, reportProblems, selfTest } from './slides-check.mjs';
import { selectNotebooks } from './notebooks.mjs';

const OUT = join(ROOT, 'out', 'slides');
const LIB = join(OUT, 'lib');
const NM = join(ROOT, 'node_modules');
/** A 45-minute talk: about a slide a minute, with time for the figures. */
const TALK_SLIDES = [30, 40];

function dirSize(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((s, f) => s + dirSize(join(p, f)), 0);
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;

/** Copy the offline assets (once per package version). */
export function copyAssets() {
  const version = (pkg) => JSON.parse(readFileSync(join(NM, pkg, 'package.json'), 'utf8')).version;
  const stamp = ['reveal.js', 'jquery', 'requirejs', 'mathjax'].map((p) => `${p}@${version(p)}`).join(' ');
  const stampFile = join(LIB, '.versions');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return false;
  mkdirSync(LIB, { recursive: true });
  cpSync(join(NM, 'reveal.js', 'dist'), join(LIB, 'reveal.js', 'dist'), { recursive: true });
  cpSync(join(NM, 'reveal.js', 'plugin', 'notes'), join(LIB, 'reveal.js', 'plugin', 'notes'), { recursive: true });
  cpSync(join(NM, 'reveal.js', 'LICENSE'), join(LIB, 'reveal.js', 'LICENSE'));
  mkdirSync(join(LIB, 'jquery'), { recursive: true });
  cpSync(join(NM, 'jquery', 'dist', 'jquery.min.js'), join(LIB, 'jquery', 'jquery.min.js'));
  mkdirSync(join(LIB, 'requirejs'), { recursive: true });
  cpSync(join(NM, 'requirejs', 'require.js'), join(LIB, 'requirejs', 'require.js'));
  // MathJax 2: the loader, the one config we use, TeX/MathML input, HTML-CSS/CommonHTML output
  // and the TeX web fonts (skipping the 26 MB unpacked/ copy, SVG output and other fonts).
  const mj = join(NM, 'mathjax');
  const dst = join(LIB, 'mathjax');
  const keep = [
    'MathJax.js',
    'LICENSE',
    'config/TeX-AMS-MML_HTMLorMML-full.js',
    'config/Safe.js',
    'extensions',
    'localization/en',
    'jax/element',
    'jax/input/TeX',
    'jax/input/MathML',
    'jax/input/AsciiMath',
    'jax/output/HTML-CSS',
    'jax/output/CommonHTML',
    'jax/output/PreviewHTML',
    'jax/output/NativeMML',
    'fonts/HTML-CSS/TeX/woff',
    'fonts/HTML-CSS/TeX/otf',
  ];
  for (const k of keep) if (existsSync(join(mj, k))) cpSync(join(mj, k), join(dst, k), { recursive: true });
  writeFileSync(stampFile, stamp);
  return true;
}

/** Title and closing slides of the talk deck: scripts/talk.md, two parts split at a line `---`. */
function talkFrame() {
  const parts = readFileSync(join(ROOT, 'scripts', 'talk.md'), 'utf8').split(/^---\s*$/m);
  return { titleMd: parts[0].trim(), closingMd: (parts[1] ?? '').trim() || undefined };
}

/** Stage the deck notebook and run nbconvert; returns the deck's path or null. */
function buildDeck(py, name, deckNb) {
  const t = performance.now();
  const staged = join(OUT, '.decks', name);
  mkdirSync(join(OUT, '.decks'), { recursive: true });
  writeFileSync(staged, JSON.stringify(deckNb));
  const r = spawnSync(py, slidesArgs(staged, OUT), { cwd: ROOT, env: jupyterEnv(), encoding: 'utf8' });
  const deck = join(OUT, name.replace(/\.ipynb$/, '.slides.html'));
  if (r.status !== 0 || !existsSync(deck)) {
    console.error(`  FAILED ${name}\n${r.stderr}`);
    return null;
  }
  const sec = ((performance.now() - t) / 1000).toFixed(1);
  const n = deckNb.cells.filter((c) => ['slide', 'subslide'].includes(c.metadata?.slideshow?.slide_type)).length;
  console.log(`  ${relative(ROOT, deck)}  ${n} slides  ${mb(statSync(deck).size)}  (${sec} s)`);
  return deck;
}

async function main() {
  const { opts, positional } = parseArgs(process.argv.slice(2), {
    booleans: ['from-out', 'talk', 'check'],
    strings: ['shots', 'dir'],
  });
  const dir = opts.dir
    ? resolve(opts.dir)
    : opts['from-out']
      ? join(ROOT, 'out', 'notebooks')
      : join(ROOT, 'notebooks');
  let files;
  try {
    files = selectNotebooks(opts.talk ? [] : positional, dir);
  } catch (e) {
    console.error(String(e.message));
    process.exit(2);
  }
  if (files.length === 0) {
    console.log(`No notebooks in ${relative(ROOT, dir)}/.`);
    return;
  }
  const py = requirePython();
  const t0 = performance.now();
  if (copyAssets()) console.log(`Copied offline assets to ${relative(ROOT, LIB)}/ (${mb(dirSize(LIB))})`);
  const nbs = files.map((f) => {
    const nb = JSON.parse(readFileSync(f, 'utf8'));
    const code = nb.cells.filter((c) => c.cell_type === 'code' && text(c.source).trim());
    if (code.length > 0 && code.every((c) => (c.outputs ?? []).length === 0)) {
      console.warn(`  warning: ${basename(f)} has no outputs; run \`npm run notebooks\` first`);
    }
    return nb;
  });
  const decks = [];
  let failed = 0;
  if (!opts.talk) {
    files.forEach((f, i) => {
      const deck = buildDeck(py, basename(f), deckNotebook(nbs[i]));
      if (deck) decks.push(deck);
      else failed++;
    });
  }
  if (opts.talk || positional.length === 0) {
    const deck = buildDeck(py, 'talk.ipynb', deckNotebook(talkNotebook(nbs, talkFrame()), { talk: true }));
    if (deck) decks.push(deck);
    else failed++;
  }
  console.log(
    `${decks.length}/${decks.length + failed} decks in ${((performance.now() - t0) / 1000).toFixed(1)} s; lib/ ${mb(dirSize(LIB))}. Open out/slides/<name>.slides.html`,
  );
  if (failed) process.exit(1);
  if (opts.check) {
    const t1 = performance.now();
    // First the check checks itself on planted problems (a check that cannot fail proves nothing).
    const bad = await selfTest(OUT);
    for (const b of bad) console.log(`  SELF-TEST ${b}`);
    if (bad.length) {
      console.log('slide check self-test FAILED: the check does not see the planted problems');
      process.exit(1);
    }
    const report = await checkDecks(decks, { shots: opts.shots ?? null });
    // The talk is 45 minutes: TALK_SLIDES slides (its cells are tagged `talk` in notebooks/src).
    const talk = report.decks.find((d) => d.deck === 'talk');
    if (talk && (talk.slides < TALK_SLIDES[0] || talk.slides > TALK_SLIDES[1])) {
      report.problems.push(
        `talk: ${talk.slides} slides, not ${TALK_SLIDES[0]}–${TALK_SLIDES[1]} (tag cells \`talk\` or untag some)`,
      );
    }
    process.exit(reportProblems(report, t1));
  }
}

main();
