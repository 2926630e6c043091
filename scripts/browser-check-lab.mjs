#!/usr/bin/env node
// npm run browser-check -- --lab [--steps N] [--timeout S] [--total-timeout S] [--headed]
//
// Notebook 03 in the repo's own JupyterLab (tools/jupyterlab, built on first use), driven by
// Debian's Chromium the way a student works through it:
//  0. open    copy notebooks/03-planar-flows.ipynb (outputs cleared, `../dist` re-pointed) to
//             out/lab-check/, serve it with Debian's jupyterlab_server on 127.0.0.1 with a token,
//             open /lab/tree/<copy>?reset; the TypeScript kernel must start; the toolbar must have
//             the interrupt and restart buttons, the Run menu "Run All Cells";
//  1. cells   Shift+Enter on every cell above the main training cell, one at a time;
//  2. stop    Shift+Enter on the main training cell (the notebook's own STEPS), press the toolbar's
//             stop button at the first live progress line; the cell must report "stopped early",
//             then the next cell (plots from the stopped run) and a new cell with a fresh tfjs
//             computation must run;
//  3. budgets edit the hyper-parameter cell (every numeric STEPS* constant := --steps, default
//             300), Shift+Enter on it, then on every cell from the main training cell to the
//             last (the checks in between use no budget and ran in step 1): no cell may fail;
//  4. rerun   Ctrl+Enter twice on the main figure cell: same outputs, no error.
// After each step every figure output must be visible as an <img> (PNG or SVG). Screenshots go to
// out/browser/lab-03-<step>.png (and lab-03-FAILED.png); a failure names its step and cell.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT, JUPYTER_DIR, jupyterEnv, registerKernel, parseArgs, isErrorOutput, text } from './kernel.mjs';
import { LAB_SERVE, ensureLabBuilt, findLabServerPython } from './lab.mjs';
import { freePort, spawnServer, waitForServer, stopGroup, launchBrowser, sleep } from './browser-common.mjs';

const SOURCE = join(ROOT, 'notebooks', '03-planar-flows.ipynb');
const CHECK_DIR = join(ROOT, 'out', 'lab-check');
const SHOTS = join(ROOT, 'out', 'browser');
/** stderr that tslab prints under an interrupted cell: expected in step 2, an error elsewhere. */
const INTERRUPTED = /Interrupted asynchronously/;

const log = (...a) => console.log('[browser-check --lab]', ...a);

/** Step failure: the message names the step. */
class StepError extends Error {}

/**
 * The notebook copy for the check: outputs cleared and `from '../dist'` (and '../dist/viz')
 * re-pointed at the repo's dist/ from out/lab-check/. Returns the parsed notebook.
 */
export function prepareCopy(nb, distFromCopy) {
  const out = structuredClone(nb);
  let rewired = 0;
  for (const cell of out.cells) {
    if (cell.cell_type !== 'code') continue;
    cell.outputs = [];
    cell.execution_count = null;
    // '../dist' and its entry points below it ('../dist/viz').
    const src = text(cell.source).replace(/from '\.\.\/dist((?:\/[\w.-]+)*)'/g, (_, sub) => {
      rewired++;
      return `from '${distFromCopy}${sub}'`;
    });
    cell.source = src;
  }
  if (rewired === 0) throw new Error("the notebook has no `from '../dist'` import to re-point");
  return out;
}

/** The hyper-parameter cell with every numeric `const STEPS... = N;` set to `steps`. */
export function smallBudgets(source, steps) {
  let n = 0;
  const edited = source.replace(/^(const STEPS\w* *= *)\d+(;)/gm, (_, a, b) => {
    n++;
    return `${a}${steps}${b}`;
  });
  if (n === 0) throw new Error('no numeric `const STEPS... = N;` line in the hyper-parameter cell');
  return edited;
}

/** Index of the first code cell whose source contains `needle`. */
function findCell(nb, needle, what) {
  const i = nb.cells.findIndex((c) => c.cell_type === 'code' && text(c.source).includes(needle));
  if (i < 0) throw new Error(`notebook 03 has no ${what} cell (a code cell containing ${JSON.stringify(needle)})`);
  return i;
}

/** A short name for a cell in messages: its index, the heading above it and its first line. */
function cellName(nb, i) {
  let heading = '';
  for (let j = i; j >= 0 && !heading; j--) {
    const c = nb.cells[j];
    if (c.cell_type === 'markdown') heading = (text(c.source).match(/^#+ .*$/m) ?? [''])[0];
  }
  const first =
    text(nb.cells[i].source)
      .split('\n')
      .find((l) => /[A-Za-z]/.test(l)) ?? '';
  return `cell ${i}${heading ? ` (under "${heading.replace(/^#+ /, '')}")` : ''}: ${first.slice(0, 90)}`;
}

let server = null;
let browser = null;

async function cleanup() {
  if (browser) await browser.close();
  browser = null;
  await stopGroup(server);
  server = null;
}

export async function runLabCheck(argv) {
  const { opts } = parseArgs(argv, { booleans: ['headed', 'lab'], strings: ['steps', 'timeout', 'total-timeout'] });
  const smallSteps = Number(opts.steps ?? 300);
  const cellTimeout = Number(opts.timeout ?? 300) * 1000;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => {
      log(`${sig}: stopping server and browser`);
      await cleanup();
      process.exit(130);
    });
  }
  const totalTimeout = Number(opts['total-timeout'] ?? 900) * 1000;
  const watchdog = setTimeout(async () => {
    console.error(`[browser-check --lab] FAILED: total timeout ${totalTimeout / 1000} s reached`);
    await cleanup();
    process.exit(1);
  }, totalTimeout);
  watchdog.unref();

  const py = findLabServerPython();
  if (!py) {
    throw new Error(
      "Debian's jupyterlab_server is not installed: sudo apt-get install python3-jupyterlab-server (or sudo bash scripts/setup-ci.sh)",
    );
  }
  const tAll = performance.now();
  ensureLabBuilt();
  registerKernel({ quiet: true });

  // 0. the copy
  if (!existsSync(SOURCE)) throw new Error(`no such notebook: ${SOURCE}`);
  mkdirSync(CHECK_DIR, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  const nb = prepareCopy(JSON.parse(readFileSync(SOURCE, 'utf8')), relative(CHECK_DIR, join(ROOT, 'dist')));
  const copy = join(CHECK_DIR, '03-planar-flows.ipynb');
  writeFileSync(copy, JSON.stringify(nb, null, 1) + '\n');
  const iHyper = findCell(nb, 'const STEPS = ', 'hyper-parameter');
  const iTrain = findCell(nb, "await trainRun('main'", 'main training');
  const iPlot = findCell(nb, 'runs.main.flow', 'main figure');
  const hyperSmall = smallBudgets(text(nb.cells[iHyper].source), smallSteps);
  const stepsFull = Number((text(nb.cells[iHyper].source).match(/^const STEPS = (\d+);/m) ?? [])[1]);

  // The server: project-local Jupyter dirs, its own settings/workspaces state, 127.0.0.1, a token.
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const t0 = performance.now();
  server = spawnServer(
    py,
    [
      LAB_SERVE,
      '--allow-root',
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${ROOT}`,
    ],
    { cwd: ROOT, env: jupyterEnv({ JUPYTER_DATA_DIR: join(JUPYTER_DIR, 'browser-check-lab') }) },
  );
  await waitForServer(server, `http://127.0.0.1:${port}/api/status?token=${token}`, 60_000, 'jupyterlab_server');
  log(`server up on 127.0.0.1:${port} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  browser = await launchBrowser({ headed: opts.headed });
  const { page } = browser;
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('console', (m) => {
    // Harmless in this set-up: jupyter_server 1.23 has no /api/me; MathJax 2 probes a font at about:blank.
    if (m.type() === 'error' && !/404|about:blank|ERR_FAILED/.test(m.text()))
      consoleErrors.push(m.text().split('\n')[0]);
  });

  const shot = async (name) => {
    const p = join(SHOTS, `lab-03-${name}.png`);
    await page.screenshot({ path: p }).catch(() => {});
    return relative(ROOT, p);
  };

  // ---- helpers running in the page (window.jupyterapp is set by tools/jupyterlab/index.js) ----
  const cellInfo = (i) =>
    page.evaluate((k) => {
      const panel = window.jupyterapp.shell.currentWidget;
      const cell = panel.content.widgets[k];
      const prompt = cell.node.querySelector('.jp-InputPrompt')?.textContent ?? '';
      const imgs = Array.from(cell.node.querySelectorAll('.jp-OutputArea-output img')).filter((img) =>
        /^(data:image\/(png|svg)|blob:)/.test(img.src),
      );
      return {
        type: cell.model.type,
        count: cell.model.type === 'code' ? cell.model.executionCount : null,
        running: prompt.includes('*'),
        // Image payloads stay in the page (this is polled while cells run): '[image]' marks them.
        outputs: (cell.model.type === 'code' ? cell.model.outputs.toJSON() : []).map((o) =>
          o.data
            ? {
                ...o,
                data: Object.fromEntries(
                  Object.entries(o.data).map(([m, v]) => [m, m.startsWith('image/') ? '[image]' : v]),
                ),
              }
            : o,
        ),
        imgs: imgs.length,
        visibleImgs: imgs.filter((img) => {
          const r = img.getBoundingClientRect();
          return (
            img.complete &&
            img.naturalWidth > 0 &&
            r.width > 0 &&
            r.height > 0 &&
            getComputedStyle(img).visibility !== 'hidden'
          );
        }).length,
        kernel: panel.sessionContext.session?.kernel?.status ?? 'none',
        ncells: panel.content.widgets.length,
      };
    }, i);

  const select = (i) =>
    page.evaluate((k) => {
      const panel = window.jupyterapp.shell.currentWidget;
      panel.content.activeCellIndex = k;
      panel.content.mode = 'command';
      panel.content.activate();
      panel.content.node.focus();
    }, i);

  /** Press `key` on cell i (command mode) and wait until it has run and the kernel is idle. */
  const runCell = async (i, key = 'Shift+Enter', { onRunning } = {}) => {
    const before = await cellInfo(i);
    await select(i);
    const t = performance.now();
    await page.keyboard.press(key);
    if (before.type !== 'code') return { ...before, seconds: 0 };
    if (onRunning) await onRunning();
    const deadline = Date.now() + cellTimeout;
    for (;;) {
      const s = await cellInfo(i);
      if (!s.running && s.kernel === 'idle' && s.count !== null && s.count !== before.count) {
        // give image outputs a moment to decode
        for (let k = 0; k < 20; k++) {
          const images = s.outputs.filter((o) => o.data?.['image/png'] || o.data?.['image/svg+xml']).length;
          if (images === 0 || (await cellInfo(i)).visibleImgs >= images) break;
          await sleep(100);
        }
        return { ...(await cellInfo(i)), seconds: (performance.now() - t) / 1000 };
      }
      if (Date.now() > deadline)
        throw new Error(`${cellName(nb, i)} did not finish within ${cellTimeout / 1000} s (kernel ${s.kernel})`);
      await sleep(200);
    }
  };

  /** Throw when cell i shows an error (stderr with a stack / TS diagnostic) or a hidden figure. */
  const expectClean = (i, s, { allow = null } = {}) => {
    const bad = s.outputs.filter((o) => isErrorOutput(o) && !(allow && allow.test(text(o.text ?? o.evalue ?? ''))));
    if (bad.length) {
      const shown = bad
        .map((o) => (o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : text(o.text)))
        .join('\n')
        .slice(0, 1500);
      throw new Error(`${cellName(nb, i)} failed:\n${shown}`);
    }
    const images = s.outputs.filter((o) => o.data?.['image/png'] || o.data?.['image/svg+xml']).length;
    if (s.visibleImgs < images)
      throw new Error(`${cellName(nb, i)}: ${images} figure output(s) but ${s.visibleImgs} visible <img>`);
    return images;
  };

  const steps = [];
  const step = async (name, fn) => {
    const t = performance.now();
    try {
      const detail = await fn();
      const s = (performance.now() - t) / 1000;
      steps.push(`${name} ${s.toFixed(1)} s`);
      log(`step "${name}" OK in ${s.toFixed(1)} s${detail ? `: ${detail}` : ''}; screenshot ${await shot(name)}`);
    } catch (e) {
      const p = await shot('FAILED');
      throw new StepError(`step "${name}" failed (screenshot ${p}): ${e.message}`);
    }
  };

  // ---- 0. open ----
  await step('open', async () => {
    const rel = relative(ROOT, copy).split('/').map(encodeURIComponent).join('/');
    await page.goto(`http://127.0.0.1:${port}/lab/tree/${rel}?reset&token=${token}`, {
      waitUntil: 'load',
      timeout: 60_000,
    });
    await page.waitForSelector('body[data-nf-lab-ready]', { state: 'attached', timeout: 90_000 });
    await page.waitForFunction(
      () => {
        const panel = window.jupyterapp?.shell.currentWidget;
        return panel?.sessionContext?.session?.kernel?.status === 'idle' && panel.content.widgets.length > 0;
      },
      null,
      { timeout: 120_000, polling: 200 },
    );
    const kernel = await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayName);
    if (kernel !== 'TypeScript') throw new Error(`kernel is "${kernel}", expected "TypeScript"`);
    const n = (await cellInfo(0)).ncells;
    if (n !== nb.cells.length) throw new Error(`JupyterLab shows ${n} cells, the notebook has ${nb.cells.length}`);
    // What a student needs: stop and restart in the toolbar, Run All in the Run menu.
    for (const title of ['Interrupt the kernel', 'Restart the kernel']) {
      if ((await page.locator(`.jp-NotebookPanel-toolbar [title^="${title}"]`).count()) === 0)
        throw new Error(`no toolbar button "${title}"`);
    }
    await page.locator('.lm-MenuBar-item', { hasText: /^Run$/ }).click();
    const runMenu = await page.locator('.lm-Menu-itemLabel').allTextContents();
    await page.keyboard.press('Escape');
    if (!runMenu.includes('Run All Cells'))
      throw new Error(`the Run menu has no "Run All Cells" (${runMenu.join(', ')})`);
    return `kernel ${kernel}, ${n} cells, toolbar stop/restart, Run > Run All Cells`;
  });

  // ---- 1. cells one by one, down to the main training cell ----
  let figures = 0;
  await step('cells', async () => {
    for (let i = 0; i < iTrain; i++) {
      const s = await runCell(i);
      if (s.seconds >= 2) log(`  ${cellName(nb, i).slice(0, 60)}: ${s.seconds.toFixed(1)} s`);
      if (s.type === 'code') figures += expectClean(i, s);
    }
    if (figures === 0) throw new Error('no figure above the main training cell');
    return `${iTrain} cells, ${figures} figure(s) visible`;
  });

  // ---- 2. stop the long training cell, then go on ----
  await step('stop', async () => {
    let pressedAt = null;
    const s = await runCell(iTrain, 'Shift+Enter', {
      onRunning: async () => {
        const deadline = Date.now() + cellTimeout;
        while (!JSON.stringify((await cellInfo(iTrain)).outputs).match(/step \d+\/\d+/)) {
          if (Date.now() > deadline) throw new Error('no live progress line within the cell timeout');
          await sleep(200);
        }
        pressedAt = performance.now();
        await page.locator('.jp-NotebookPanel-toolbar [title^="Interrupt the kernel"]').first().click();
      },
    });
    // tslab ends an interrupted cell at once ("Error: Interrupted asynchronously"); the training
    // loop sees the stop flag at its next chunk and files the stopped run under runs.main.
    const out = s.outputs.map((o) => text(o.text ?? o.data?.['text/plain'] ?? '')).join('\n');
    if (!INTERRUPTED.test(out) && !/stopped early/.test(out)) {
      throw new Error(
        `the training cell shows neither "Interrupted asynchronously" nor "stopped early" after the stop button:\n${out.slice(0, 800)}`,
      );
    }
    expectClean(iTrain, s, { allow: INTERRUPTED });
    const stopS = (performance.now() - pressedAt) / 1000;
    await sleep(2000); // the loop ends its current chunk of 100 steps and files runs.main
    const p = await runCell(iPlot);
    const shown = expectClean(iPlot, p);
    if (shown === 0) throw new Error(`${cellName(nb, iPlot)} shows no figure of the stopped run`);
    const done = Number(
      (p.outputs
        .map((o) => text(o.text ?? ''))
        .join('')
        .match(/(\d+) steps in/) ?? [])[1],
    );
    if (!(done > 0 && done < stepsFull))
      throw new Error(
        `${cellName(nb, iPlot)}: the run was not stopped early (steps done: ${done}, STEPS = ${stepsFull})`,
      );
    // A new cell below with a fresh tfjs computation: the engine must be intact.
    await select(iPlot);
    await page.keyboard.press('b');
    await page.keyboard.press('Enter');
    await page.keyboard.insertText('tf.tidy(() => tf.sum(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]))).dataSync()[0])');
    await page.keyboard.press('Escape');
    const f = await runCell(iPlot + 1, 'Control+Enter');
    expectClean(iPlot + 1, f);
    const value = f.outputs
      .map((o) => text(o.data?.['text/plain'] ?? o.text ?? ''))
      .join('')
      .trim();
    if (value !== '12') throw new Error(`fresh tfjs cell after the stop printed ${JSON.stringify(value)}, expected 12`);
    await page.keyboard.press('d');
    await page.keyboard.press('d');
    await sleep(200);
    if ((await cellInfo(0)).ncells !== nb.cells.length) throw new Error('could not delete the extra cell again');
    return `stopped after ${done} of ${stepsFull} steps (cell ended ${stopS.toFixed(1)} s after the click), ${shown} figure(s) of the stopped run, fresh tfjs sum = 12`;
  });

  // ---- 3. smaller budgets, then from the hyper-parameter cell to the end ----
  await step('budgets', async () => {
    await select(iHyper);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(hyperSmall);
    await page.keyboard.press('Escape');
    const typed = await page.evaluate(
      (k) => window.jupyterapp.shell.currentWidget.content.widgets[k].model.value.text,
      iHyper,
    );
    if (typed !== hyperSmall) throw new Error('the edited hyper-parameter cell does not hold the new text');
    // Re-run the edited cell, then from the main training cell on: the cells in between (§3.1-3.4)
    // use no budget and ran in step 1.
    const h = await runCell(iHyper);
    expectClean(iHyper, h);
    let shown = 0;
    let lastFigure = iTrain;
    for (let i = iTrain; i < nb.cells.length; i++) {
      const s = await runCell(i, i === nb.cells.length - 1 ? 'Control+Enter' : 'Shift+Enter');
      if (s.seconds >= 3) log(`  ${cellName(nb, i).slice(0, 60)}: ${s.seconds.toFixed(1)} s`);
      if (s.type === 'code') {
        let n;
        try {
          n = expectClean(i, s);
        } catch (e) {
          const hint = /CHECK failed/.test(e.message)
            ? `\n(a CHECK cell throws at STEPS* = ${smallSteps}; lowering the budgets must report, not throw, or it blocks every later cell)`
            : '';
          throw new Error(e.message + hint);
        }
        shown += n;
        if (n > 0) lastFigure = i;
      }
    }
    figures = shown;
    await page.evaluate(
      (k) => window.jupyterapp.shell.currentWidget.content.widgets[k].node.scrollIntoView(),
      lastFigure,
    );
    return `STEPS* = ${smallSteps}: hyper-parameter cell + ${nb.cells.length - iTrain} cells, ${shown} figure(s) visible`;
  });

  // ---- 4. the same cell twice ----
  await step('rerun', async () => {
    const a = await runCell(iPlot, 'Control+Enter');
    const b = await runCell(iPlot, 'Control+Enter');
    const na = expectClean(iPlot, a);
    const nb2 = expectClean(iPlot, b);
    if (na !== nb2 || a.outputs.length !== b.outputs.length)
      throw new Error(`outputs differ between the two runs: ${a.outputs.length} vs ${b.outputs.length}`);
    if (b.count <= a.count) throw new Error(`execution count did not advance (${a.count} -> ${b.count})`);
    await page.evaluate((k) => window.jupyterapp.shell.currentWidget.content.widgets[k].node.scrollIntoView(), iPlot);
    return `cell ${iPlot} twice: ${nb2} figure(s), execution count ${a.count} -> ${b.count}`;
  });

  if (consoleErrors.length) log(`browser console errors (not fatal): ${consoleErrors.slice(0, 5).join(' | ')}`);
  log(`OK ${relative(ROOT, copy)}: ${steps.join(', ')}; total ${((performance.now() - tAll) / 1000).toFixed(1)} s`);
}

export async function main(argv) {
  let code = 0;
  try {
    await runLabCheck(argv);
  } catch (e) {
    code = 1;
    console.error(`[browser-check --lab] FAILED: ${e?.message ?? e}`);
    if (server && !(e instanceof StepError)) console.error(server.logLines.join('').slice(-2000));
  } finally {
    await cleanup();
  }
  return code;
}
