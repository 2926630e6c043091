#!/usr/bin/env node
// The repo's own JupyterLab (tools/jupyterlab/): a JupyterLab 3.6 frontend built from pinned npm
// packages and served by Debian's python3-jupyterlab-server, for machines without `jupyter lab`.
//
//   npm run lab:build          install tools/jupyterlab/node_modules (npm ci) and run webpack
//
// start.mjs and browser-check-lab.mjs call ensureLabBuilt(), which builds on first use and again
// whenever the lockfile, index.js or webpack.config.js change (a stamp in build/ records them).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, findPython } from './kernel.mjs';

export const LAB_DIR = join(ROOT, 'tools', 'jupyterlab');
export const LAB_BUILD = join(LAB_DIR, 'build');
export const LAB_SERVE = join(LAB_DIR, 'serve.py');
const STAMP = join(LAB_BUILD, '.built-from');
/** The files whose change means a rebuild. */
const INPUTS = ['package-lock.json', 'index.js', 'webpack.config.js'];

const log = (...a) => console.log('[lab]', ...a);

/** sha256 over the build inputs. */
function inputsHash() {
  const h = createHash('sha256');
  for (const f of INPUTS) h.update(f).update(readFileSync(join(LAB_DIR, f)));
  return h.digest('hex');
}

/** True when build/ holds a bundle built from the current inputs. */
export function labBuilt() {
  if (!existsSync(join(LAB_BUILD, 'bundle.js')) || !existsSync(STAMP)) return false;
  return readFileSync(STAMP, 'utf8').trim() === inputsHash();
}

/**
 * The Python that can serve the built JupyterLab: one with jupyterlab_server and jupyter_server
 * (Debian: apt-get install python3-jupyterlab-server), else null.
 */
export function findLabServerPython() {
  const py = findPython();
  if (!py) return null;
  const r = spawnSync(py, ['-c', 'import jupyterlab_server, jupyter_server'], { stdio: 'ignore' });
  return r.status === 0 ? py : null;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status ?? r.signal})`);
}

/**
 * npm ci (exact pins from tools/jupyterlab/package-lock.json; install scripts are not needed for
 * a webpack build and are skipped) when node_modules is missing or older than the lockfile, then
 * webpack into build/. Returns the seconds spent.
 */
export function buildLab({ force = false } = {}) {
  const t0 = performance.now();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const installed = join(LAB_DIR, 'node_modules', '.package-lock.json');
  if (
    force ||
    !existsSync(installed) ||
    statSync(installed).mtimeMs < statSync(join(LAB_DIR, 'package-lock.json')).mtimeMs
  ) {
    log('installing the JupyterLab 3.6 packages (tools/jupyterlab: npm ci)');
    run(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], LAB_DIR);
  }
  log('building the JupyterLab frontend (webpack)');
  rmSync(LAB_BUILD, { recursive: true, force: true });
  run(
    process.execPath,
    [
      join(LAB_DIR, 'node_modules', 'webpack', 'bin', 'webpack.js'),
      '--config',
      'webpack.config.js',
      '--stats=errors-warnings',
    ],
    LAB_DIR,
  );
  writeFileSync(STAMP, inputsHash() + '\n');
  const s = (performance.now() - t0) / 1000;
  log(`built ${LAB_BUILD} in ${s.toFixed(1)} s`);
  return s;
}

/** Build unless build/ is up to date. Returns the seconds spent (0 when nothing was done). */
export function ensureLabBuilt() {
  if (labBuilt()) return 0;
  log('first use (or changed inputs): building tools/jupyterlab');
  return buildLab();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    buildLab({ force: process.argv.includes('--clean') });
  } catch (e) {
    console.error(`[lab] FAILED: ${e.message}`);
    process.exit(1);
  }
}
