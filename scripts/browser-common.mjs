// Shared by the two real-browser checks (browser-check.mjs: classic Notebook; browser-check-lab.mjs:
// JupyterLab): a free port, a Jupyter server in its own process group, and Debian's Chromium
// through playwright-core (never a downloaded browser) with every non-local request aborted.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.NF_CHROMIUM ?? '/usr/bin/chromium';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Start a server in its own process group (so stopGroup also ends its kernels); collects its log. */
export function spawnServer(cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.logLines = [];
  for (const s of [child.stdout, child.stderr]) s.on('data', (d) => child.logLines.push(String(d)));
  return child;
}

/** Poll `url` until it answers 2xx; fail early when the server exits. */
export async function waitForServer(child, url, ms, what = 'jupyter') {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (child.exitCode !== null)
      throw new Error(`${what} exited with ${child.exitCode}:\n${child.logLines.join('').slice(-3000)}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await sleep(250);
  }
  throw new Error(`${what} did not answer ${url} within ${ms / 1000} s`);
}

/** SIGTERM the child's process group, SIGKILL after 5 s; bounded, safe on a dead child. */
export async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!done) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Chromium's flags here: headless, no sandbox (CI runs as root), and no background networking,
 * component updates or sync (the machines have no internet: those connections only fail).
 */
export function chromiumArgs({ headed = false, extra = [] } = {}) {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    ...extra,
  ];
  return flags.filter((a) => !(headed && a === '--headless'));
}

/**
 * Chromium with a fresh profile; every request that is not to 127.0.0.1 / data: / blob: is
 * aborted. Returns { context, page, close }.
 */
export async function launchBrowser({ headed = false, viewport = { width: 1280, height: 900 } } = {}) {
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(join(tmpdir(), 'nf-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: !headed,
    viewport,
    args: chromiumArgs({ headed }),
  });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (/^(data|blob):/.test(u) || /^https?:\/\/127\.0\.0\.1(:\d+)?\//.test(u)) return route.continue();
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    rmSync(profileDir, { recursive: true, force: true });
  };
  return { context, page, close };
}
