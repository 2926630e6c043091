#!/usr/bin/env node
// npm run browser-check [-- [notebook.ipynb] [--timeout S] [--total-timeout S] [--min-figures N] [--headed]]
// npm run browser-check -- --lab [...]: notebook 03 in JupyterLab instead (scripts/browser-check-lab.mjs)
//
// Opens a notebook in a real browser the way a reader would and runs it:
//  1. starts the classic `jupyter notebook` server (project-local env, tslab kernelspec) on
//     127.0.0.1 and a free port, no token, no browser, root dir = the repo;
//  2. drives Debian's /usr/bin/chromium through playwright-core (never a downloaded browser) with a
//     fresh profile; every request that is not to 127.0.0.1 / data: / blob: is aborted;
//  3. opens the notebook (default notebooks/03-planar-flows.ipynb, else test/fixtures/smoke.ipynb
//     while that does not exist), runs it cell by cell with Shift+Enter, waiting for each cell to
//     finish and the kernel to be idle;
//  4. fails on an error output (or stderr with a stack trace / TypeScript diagnostic), and unless
//     at least --min-figures PNG <img> outputs (default: as many as the saved notebook has, at
//     least 1) are visible with non-zero size;
//  5. writes out/browser/<name>.png (the whole notebook) and <name>-figure.png (first figure);
//  6. ALWAYS stops the browser and the server (its whole process group, kernel included), also on
//     error, Ctrl-C or the --total-timeout watchdog (default 900 s).
// Autosave is switched off, so the notebook file is never modified.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { freePort, sleep, CHROMIUM, chromiumArgs } from './browser-common.mjs';
import {
  ROOT,
  JUPYTER_DIR,
  jupyterEnv,
  registerKernel,
  requirePython,
  parseArgs,
  STDERR_ERROR_PATTERNS,
  text,
} from './kernel.mjs';

const DEFAULT_NOTEBOOK = join(ROOT, 'notebooks', '03-planar-flows.ipynb');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'smoke.ipynb');

const log = (...a) => console.log('[browser-check]', ...a);

let server = null;
let context = null;
let profileDir = null;
let cleaning = null;

/** Stop browser and server; bounded (about 10 s at most); safe to call twice. */
function cleanup() {
  if (cleaning) return cleaning;
  cleaning = (async () => {
    if (context) {
      await Promise.race([context.close().catch(() => {}), sleep(5000)]);
      context = null;
    }
    if (server && server.exitCode === null && server.signalCode === null) {
      const pid = server.pid;
      const exited = new Promise((r) => server.once('exit', r));
      try {
        process.kill(-pid, 'SIGTERM'); // the server's own process group (server + kernel)
      } catch {
        /* gone */
      }
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    server = null;
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    log(`${sig}: stopping server and browser`);
    await cleanup();
    process.exit(130);
  });
}

async function waitForServer(port, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (server.exitCode !== null) throw new Error(`jupyter notebook exited with ${server.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api`);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await sleep(250);
  }
  throw new Error(`jupyter notebook did not answer on port ${port} within ${ms / 1000} s`);
}

/** Number of image/png outputs saved in a notebook file. */
function savedPngCount(nb) {
  let n = 0;
  for (const c of nb.cells) for (const o of c.outputs ?? []) if (o.data?.['image/png']) n++;
  return n;
}

async function run() {
  const { opts, positional } = parseArgs(process.argv.slice(2), {
    booleans: ['headed'],
    strings: ['timeout', 'total-timeout', 'min-figures'],
  });
  let file;
  if (positional[0]) file = resolve(positional[0]);
  else if (existsSync(DEFAULT_NOTEBOOK)) file = DEFAULT_NOTEBOOK;
  else {
    file = FIXTURE;
    log(`${relative(ROOT, DEFAULT_NOTEBOOK)} does not exist yet; checking ${relative(ROOT, FIXTURE)}`);
  }
  if (!existsSync(file)) throw new Error(`no such notebook: ${file}`);
  const rel = relative(ROOT, file);
  if (rel.startsWith('..')) throw new Error(`the notebook must be inside the repo: ${file}`);
  const cellTimeout = Number(opts.timeout ?? 300) * 1000;
  const totalTimeout = Number(opts['total-timeout'] ?? 900) * 1000;
  const nbJson = JSON.parse(readFileSync(file, 'utf8'));
  const minFigures = Number(opts['min-figures'] ?? Math.max(1, savedPngCount(nbJson)));

  const watchdog = setTimeout(async () => {
    console.error(`[browser-check] FAILED: total timeout ${totalTimeout / 1000} s reached`);
    await cleanup();
    process.exit(1);
  }, totalTimeout);
  watchdog.unref();

  const py = requirePython();
  registerKernel({ quiet: true });
  // A separate config dir with autosave off: the check must never write the notebook.
  const configDir = join(JUPYTER_DIR, 'browser-check-config');
  mkdirSync(join(configDir, 'nbconfig'), { recursive: true });
  writeFileSync(join(configDir, 'nbconfig', 'notebook.json'), JSON.stringify({ autosave_interval: 0 }) + '\n');

  const port = await freePort();
  const t0 = performance.now();
  const serverLog = [];
  server = spawn(
    py,
    [
      '-m',
      'notebook',
      '--allow-root',
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      '--NotebookApp.token=', // empty: no token (shell: --NotebookApp.token='')
      '--NotebookApp.password=',
      `--notebook-dir=${ROOT}`,
      // keep checkpoints out of the notebook's folder
      `--FileCheckpoints.checkpoint_dir=${join(JUPYTER_DIR, 'browser-check-checkpoints')}`,
    ],
    {
      cwd: ROOT,
      env: jupyterEnv({ JUPYTER_CONFIG_DIR: configDir }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  for (const s of [server.stdout, server.stderr]) s.on('data', (d) => serverLog.push(String(d)));
  await waitForServer(port, 60_000);
  log(`server up on 127.0.0.1:${port} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const { chromium } = await import('playwright-core');
  profileDir = mkdtempSync(join(tmpdir(), 'nf-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: !opts.headed,
    viewport: { width: 1280, height: 900 },
    args: chromiumArgs({ headed: opts.headed }),
  });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (/^(data|blob):/.test(u) || /^https?:\/\/127\.0\.0\.1(:\d+)?\//.test(u)) return route.continue();
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  const url = `http://127.0.0.1:${port}/notebooks/${rel.split('/').map(encodeURIComponent).join('/')}`;
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  const t1 = performance.now();
  await page.waitForFunction(
    () =>
      window.Jupyter?.notebook?.kernel?.is_connected?.() &&
      document.querySelector('#kernel_indicator_icon.kernel_idle_icon'),
    null,
    { timeout: 120_000 },
  );
  log(
    `notebook open, kernel "${await page.evaluate(() => window.Jupyter.notebook.kernel.name)}" idle in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
  );
  await page.evaluate(() => {
    // Show PNG before SVG, as for a reader who opens the committed (untrusted) notebook, where an
    // SVG output is not shown at all; the bundle {svg, png, text} then renders as a PNG <img>.
    const order = window.require('notebook/js/outputarea').OutputArea.display_order;
    const png = order.indexOf('image/png');
    const svg = order.indexOf('image/svg+xml');
    if (png > svg && svg >= 0) {
      order.splice(png, 1);
      order.splice(svg, 0, 'image/png');
    }
    window.Jupyter.notebook.set_autosave_interval(0);
    window.Jupyter.notebook.clear_all_output();
    window.Jupyter.notebook.select(0);
    window.Jupyter.notebook.command_mode();
  });

  const nCells = await page.evaluate(() => window.Jupyter.notebook.ncells());
  const tRun = performance.now();
  for (let i = 0; i < nCells; i++) {
    const t = performance.now();
    await page.evaluate((k) => {
      window.Jupyter.notebook.select(k);
      window.Jupyter.notebook.command_mode();
    }, i);
    // Shift+Enter runs and moves on; on the last cell it would append an empty cell: Ctrl+Enter.
    await page.keyboard.press(i === nCells - 1 ? 'Control+Enter' : 'Shift+Enter');
    await page.waitForFunction(
      (k) => {
        const cell = window.Jupyter.notebook.get_cell(k);
        if (cell.cell_type !== 'code') return true;
        return !cell.element.hasClass('running') && document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
      },
      i,
      { timeout: cellTimeout, polling: 100 },
    );
    const info = await page.evaluate((k) => {
      const cell = window.Jupyter.notebook.get_cell(k);
      const area = cell.element[0].querySelector('.output_area')?.parentElement;
      return {
        type: cell.cell_type,
        source: cell.get_text(),
        errors: Array.from(area?.querySelectorAll('.output_error') ?? []).map((e) => e.textContent),
        stderr: Array.from(area?.querySelectorAll('.output_stderr') ?? []).map((e) => e.textContent),
      };
    }, i);
    const dt = (performance.now() - t) / 1000;
    if (info.type === 'code' && dt >= 2) log(`  cell ${i}: ${dt.toFixed(1)} s`);
    const badStderr = info.stderr.filter((s) => STDERR_ERROR_PATTERNS.some((re) => re.test(s)));
    if (info.errors.length || badStderr.length) {
      await shoot(page, file);
      const src = text(info.source)
        .split('\n')
        .map((l, j) => `${String(j + 1).padStart(3)} | ${l}`)
        .join('\n');
      throw new Error(
        `cell ${i} failed in the browser\n--- source ---\n${src}\n--- output ---\n${[...info.errors, ...badStderr].join('\n')}`,
      );
    }
  }
  log(`ran ${nCells} cells in ${((performance.now() - tRun) / 1000).toFixed(1)} s`);

  await page.waitForTimeout(300);
  const figures = await page.evaluate(() =>
    Array.from(document.querySelectorAll('.output_area img'))
      .filter((img) => img.src.startsWith('data:image/png'))
      .map((img) => {
        const r = img.getBoundingClientRect();
        const style = getComputedStyle(img);
        return {
          w: r.width,
          h: r.height,
          nw: img.naturalWidth,
          visible: style.visibility !== 'hidden' && style.display !== 'none',
        };
      }),
  );
  const visible = figures.filter((f) => f.visible && f.w > 0 && f.h > 0 && f.nw > 0);
  const shots = await shoot(page, file);
  log(`screenshots: ${shots.map((s) => relative(ROOT, s)).join(', ')}`);
  if (visible.length < minFigures) {
    throw new Error(
      `expected at least ${minFigures} visible PNG figure(s), found ${visible.length} (of ${figures.length} PNG <img>)`,
    );
  }
  if (pageErrors.length) log(`page errors (not fatal): ${pageErrors.slice(0, 3).join(' | ')}`);
  log(
    `OK ${rel}: ${nCells} cells, ${visible.length} visible PNG figure(s), total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return serverLog;
}

/** Screenshot of the whole notebook (the #site scroller unrolled) and of the first figure. */
async function shoot(page, file) {
  const dir = join(ROOT, 'out', 'browser');
  mkdirSync(dir, { recursive: true });
  const name = basename(file, '.ipynb');
  const figShot = join(dir, `${name}-figure.png`);
  const fullShot = join(dir, `${name}.png`);
  const out = [];
  const fig = page.locator('.output_area img[src^="data:image/png"]').first();
  if ((await fig.count()) > 0) {
    await fig.scrollIntoViewIfNeeded();
    await page.screenshot({ path: figShot });
    out.push(figShot);
  }
  // The notebook scrolls inside #site, so grow the viewport to the whole notebook instead.
  const height = await page.evaluate(() => {
    const site = document.querySelector('#site');
    const header = document.querySelector('#header');
    return Math.ceil((header?.offsetHeight ?? 0) + (site?.scrollHeight ?? document.body.scrollHeight) + 20);
  });
  const size = page.viewportSize();
  await page.setViewportSize({ width: size.width, height: Math.min(Math.max(height, size.height), 12000) });
  await page.evaluate(() => document.querySelector('#site')?.scrollTo(0, 0));
  await page.screenshot({ path: fullShot });
  await page.setViewportSize(size);
  out.push(fullShot);
  return out;
}

if (process.argv.includes('--lab')) {
  const { main } = await import('./browser-check-lab.mjs');
  process.exit(await main(process.argv.slice(2)));
}

let code = 0;
try {
  await run();
} catch (e) {
  code = 1;
  console.error(`[browser-check] FAILED: ${e?.message ?? e}`);
} finally {
  await cleanup();
}
process.exit(code);
