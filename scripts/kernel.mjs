// Shared helpers for the notebook tooling (setup-kernel, notebooks, start, slides, browser-check).
//
// Everything Jupyter-related runs against a PROJECT-LOCAL setup under <repo>/.jupyter/ (ignored by
// git): the tslab kernelspec lives in .jupyter/share/jupyter/kernels/tslab, and JUPYTER_PATH,
// JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR, JUPYTER_RUNTIME_DIR and IPYTHONDIR all point inside
// .jupyter/, so nothing in the user's global Jupyter is read or written.
//
// The pure functions (findFailures, stripVolatile, slidesArgs, ...) are unit-tested in
// test/notebooks-infra.test.ts without Jupyter.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  accessSync,
  constants,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const JUPYTER_DIR = join(ROOT, '.jupyter');
/** Kernelspec name tslab registers for TypeScript ("jslab" is its JavaScript twin). */
export const KERNEL_NAME = 'tslab';
export const TSLAB_BIN = join(ROOT, 'node_modules', '.bin', 'tslab');
export const KERNELSPEC_FILE = join(JUPYTER_DIR, 'share', 'jupyter', 'kernels', KERNEL_NAME, 'kernel.json');

/** Environment for every Jupyter process: project-local dirs, quiet debugger warning, seed. */
export function jupyterEnv(extra = {}) {
  const env = {
    ...process.env,
    JUPYTER_PATH: join(JUPYTER_DIR, 'share', 'jupyter'),
    JUPYTER_CONFIG_DIR: join(JUPYTER_DIR, 'config'),
    JUPYTER_DATA_DIR: join(JUPYTER_DIR, 'data'),
    JUPYTER_RUNTIME_DIR: join(JUPYTER_DIR, 'runtime'),
    IPYTHONDIR: join(JUPYTER_DIR, 'ipython'),
    JUPYTER_PLATFORM_DIRS: '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    NF_SEED: process.env.NF_SEED ?? '0',
    ...extra,
  };
  // The kernel runs node_modules/.bin/tslab (#!/usr/bin/env node): make sure this node is found.
  env.PATH = [dirname(process.execPath), env.PATH ?? ''].join(delimiter);
  return env;
}

/** First executable called `name` on PATH (or /usr/bin), else null. */
export function which(name, extraDirs = ['/usr/bin', '/usr/local/bin']) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extraDirs].filter(Boolean);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

let cachedPython;
/**
 * A Python that has jupyter_client + nbclient + nbconvert. Debian installs them for /usr/bin/python3,
 * which may not be the `python3` first on PATH. Override with NF_JUPYTER_PYTHON.
 */
export function findPython() {
  if (cachedPython !== undefined) return cachedPython;
  const candidates = [process.env.NF_JUPYTER_PYTHON, '/usr/bin/python3', which('python3'), which('python')];
  cachedPython = null;
  for (const py of candidates) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import jupyter_client, nbclient, nbconvert, nbformat'], { stdio: 'ignore' });
    if (r.status === 0) {
      cachedPython = py;
      break;
    }
  }
  return cachedPython;
}

export const INSTALL_HINT = [
  'Jupyter is not installed. Install it with one of:',
  '  Debian/Ubuntu: sudo apt-get install jupyter-nbconvert python3-nbclient jupyter-client jupyter-notebook',
  '                 (or: sudo bash scripts/setup-ci.sh, which also installs chromium)',
  '  pip:           pip install jupyterlab nbconvert nbclient',
].join('\n');

export function requirePython() {
  const py = findPython();
  if (!py) {
    console.error(INSTALL_HINT);
    process.exit(2);
  }
  return py;
}

/** True when the project-local kernelspec exists and points at this checkout's tslab. */
export function kernelRegistered() {
  if (!existsSync(KERNELSPEC_FILE)) return false;
  try {
    const spec = JSON.parse(readFileSync(KERNELSPEC_FILE, 'utf8'));
    return Array.isArray(spec.argv) && spec.argv[0] === TSLAB_BIN && existsSync(TSLAB_BIN);
  } catch {
    return false;
  }
}

/**
 * Register the tslab kernelspec under <repo>/.jupyter (idempotent; skipped when already there).
 * Returns seconds spent.
 */
export function registerKernel({ force = false, quiet = false } = {}) {
  const t0 = performance.now();
  for (const sub of ['config', 'data', 'runtime', 'ipython']) mkdirSync(join(JUPYTER_DIR, sub), { recursive: true });
  if (!force && kernelRegistered()) return 0;
  if (!existsSync(TSLAB_BIN)) {
    console.error(`tslab is missing (${TSLAB_BIN}); run npm install first.`);
    process.exit(2);
  }
  const py = requirePython();
  const tslabJs = join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab');
  const r = spawnSync(
    process.execPath,
    [tslabJs, 'install', `--python=${py}`, `--binary=${TSLAB_BIN}`, `--prefix=${JUPYTER_DIR}`],
    { cwd: ROOT, env: jupyterEnv(), encoding: 'utf8' },
  );
  if (r.status !== 0 || !kernelRegistered()) {
    console.error(r.stdout, r.stderr);
    console.error('tslab install failed');
    process.exit(r.status || 1);
  }
  if (!quiet)
    console.log(`Registered kernelspec "${KERNEL_NAME}" in ${join(JUPYTER_DIR, 'share', 'jupyter', 'kernels')}`);
  return (performance.now() - t0) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The kernel in the user's own Jupyter (npm run setup-kernel -- --user [--remove])

/** tslab's entry script in this checkout (run with this node, so PATH does not matter). */
export const TSLAB_JS = join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab');

/**
 * kernel.json for the user's Jupyter: the same "tslab" name and "TypeScript" display name the
 * notebooks' metadata asks for, started with this checkout's tslab by this node's absolute path
 * (JupyterLab or VS Code launched from a desktop often lacks nvm's PATH). Re-run setup after
 * moving the checkout or changing Node.
 */
export function userKernelSpec() {
  return {
    argv: [process.execPath, TSLAB_JS, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript',
    language: 'typescript',
    metadata: { checkout: ROOT },
  };
}

/**
 * The user's environment for Jupyter commands, minus any JUPYTER_* / IPYTHONDIR variable that
 * points into this project's .jupyter/ (set when run from `npm start`'s shell), so the user-level
 * kernel registry (~/.local/share/jupyter/kernels on Linux) is the one written.
 */
export function userJupyterEnv(base = process.env) {
  const env = { ...base };
  for (const [k, v] of Object.entries(env)) {
    if ((k.startsWith('JUPYTER_') || k === 'IPYTHONDIR') && typeof v === 'string' && v.startsWith(JUPYTER_DIR))
      delete env[k];
  }
  return env;
}

/** `jupyter kernelspec` of the user's own Jupyter (first `jupyter` on PATH), else a Python's. */
function kernelspecCommand() {
  const jupyter = which('jupyter');
  if (jupyter) return [jupyter, ['kernelspec']];
  return [requirePython(), ['-m', 'jupyter_client.kernelspecapp']];
}

function runKernelspec(args, env) {
  const [cmd, pre] = kernelspecCommand();
  const r = spawnSync(cmd, [...pre, ...args], { env, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

/** The user's kernelspecs as `jupyter kernelspec list --json` reports them: {name: {resource_dir, spec}}. */
export function listKernelspecs(env = userJupyterEnv()) {
  const r = runKernelspec(['list', '--json'], env);
  if (r.status !== 0) throw new Error(`jupyter kernelspec list failed:\n${r.stderr}`);
  return JSON.parse(r.stdout).kernelspecs;
}

/**
 * Register this checkout's tslab as kernel "tslab" for the user's own Jupyter (JupyterLab,
 * Notebook, VS Code): `jupyter kernelspec install --user --replace --name tslab` of a generated
 * kernel.json. Returns the folder Jupyter reports for it.
 */
export function installUserKernel({ env = userJupyterEnv() } = {}) {
  if (!existsSync(TSLAB_JS)) throw new Error(`tslab is missing (${TSLAB_JS}); run npm install first.`);
  const dir = mkdtempSync(join(tmpdir(), 'nf-kernelspec-'));
  const specDir = join(dir, KERNEL_NAME);
  try {
    mkdirSync(specDir);
    writeFileSync(join(specDir, 'kernel.json'), JSON.stringify(userKernelSpec(), null, 1) + '\n');
    const r = runKernelspec(['install', '--user', '--replace', `--name=${KERNEL_NAME}`, specDir], env);
    if (r.status !== 0) throw new Error(`jupyter kernelspec install failed:\n${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const found = listKernelspecs(env)[KERNEL_NAME];
  if (!found) throw new Error(`kernel "${KERNEL_NAME}" installed but not listed by jupyter kernelspec list`);
  return found.resource_dir;
}

/**
 * Remove kernel "tslab" from the user's Jupyter when it is this checkout's (the same as
 * `jupyter kernelspec remove tslab`, which removes whichever "tslab" comes first). Returns the
 * removed folder, or null when there was none; throws when "tslab" belongs to something else.
 */
export function removeUserKernel({ env = userJupyterEnv() } = {}) {
  const found = listKernelspecs(env)[KERNEL_NAME];
  if (!found) return null;
  if (found.spec?.argv?.[1] !== TSLAB_JS) {
    throw new Error(
      `kernel "${KERNEL_NAME}" in ${found.resource_dir} is not this checkout's tslab (argv ${JSON.stringify(found.spec?.argv)}); ` +
        `not removed. Remove it yourself with: jupyter kernelspec remove ${KERNEL_NAME}`,
    );
  }
  const r = runKernelspec(['remove', '-y', KERNEL_NAME], env);
  if (r.status !== 0) throw new Error(`jupyter kernelspec remove failed:\n${r.stderr}`);
  return found.resource_dir;
}

// ---------------------------------------------------------------------------------------------
// Pure notebook helpers (no Jupyter needed)

/** Join nbformat multiline strings. */
export function text(v) {
  return Array.isArray(v) ? v.join('') : (v ?? '');
}

/**
 * Patterns that make a stderr stream output count as an error. tslab sends no `error` message:
 * a runtime error is printed to stderr as the stack ("RangeError: boom\n    at ..."), a type error
 * as "<line>:<col> - <message>". Plain console.warn/console.error text does not match.
 */
export const STDERR_ERROR_PATTERNS = [
  /^\d+:\d+ - /m, // TypeScript diagnostic from tslab
  /\berror TS\d+\b/, // TypeScript diagnostic (tsc style)
  /^\s*(Uncaught )?([A-Z][A-Za-z]*)?(Error|Exception)\b.*(:|$)/m, // Error: / RangeError: ... / Uncaught TypeError
  /^\s+at .+\(.+:\d+:\d+\)$/m, // a stack frame
  /UnhandledPromiseRejection/,
];

/** Is this output an error? (an `error` output, or stderr text that looks like one) */
export function isErrorOutput(out) {
  if (out.output_type === 'error') return true;
  if (out.output_type === 'stream' && out.name === 'stderr') {
    const t = text(out.text);
    return STDERR_ERROR_PATTERNS.some((re) => re.test(t));
  }
  return false;
}

/**
 * Failing cells of an executed notebook: cells with an error output or an error-like stderr.
 * `kernelFailedIndex` (from the kernel's execute_reply status) is always included.
 * Cells tagged "raises-exception" are allowed to fail.
 * Returns [{index, source, outputs: [{name, text}]}] sorted by index.
 */
export function findFailures(nb, kernelFailedIndex = null) {
  const failures = [];
  (nb.cells ?? []).forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    if ((cell.metadata?.tags ?? []).includes('raises-exception')) return;
    const outs = cell.outputs ?? [];
    const bad = outs.filter(isErrorOutput);
    if (bad.length > 0 || index === kernelFailedIndex) {
      failures.push({
        index,
        source: text(cell.source),
        outputs: outs
          .filter((o) => o.output_type === 'stream' || o.output_type === 'error')
          .map((o) =>
            o.output_type === 'error'
              ? { name: 'error', text: [`${o.ename}: ${o.evalue}`, ...(o.traceback ?? [])].join('\n') }
              : { name: o.name, text: text(o.text) },
          ),
      });
    }
  });
  return failures;
}

/** Human-readable report of one failing cell. */
export function formatFailure(file, f, reason = '') {
  const lines = [`FAILED ${file}: cell ${f.index}${reason ? ` (${reason})` : ''}`, '--- source ---'];
  lines.push(...f.source.split('\n').map((l, i) => `${String(i + 1).padStart(3)} | ${l}`));
  if (f.outputs.length === 0) lines.push('--- no stdout/stderr output ---');
  for (const o of f.outputs) {
    lines.push(`--- ${o.name} ---`, o.text.replace(/\n$/, ''));
  }
  return lines.join('\n');
}

const VOLATILE_CELL_META = ['execution', 'ExecuteTime', 'collapsed', 'scrolled', 'pycharm'];
const VOLATILE_NB_META = ['widgets', 'papermill', 'vscode', 'toc', 'varInspector'];

/**
 * Remove metadata that changes on every run (timings, execution counts, UI state) so that
 * committed notebooks diff cleanly. Returns a new notebook object; outputs are kept.
 */
export function stripVolatile(nb) {
  const out = structuredClone(nb);
  for (const k of VOLATILE_NB_META) delete out.metadata?.[k];
  for (const cell of out.cells ?? []) {
    if (cell.metadata) for (const k of VOLATILE_CELL_META) delete cell.metadata[k];
    if (cell.cell_type === 'code') {
      cell.execution_count = null;
      for (const o of cell.outputs ?? []) {
        if ('execution_count' in o) o.execution_count = null;
        if (o.transient) delete o.transient;
      }
    }
  }
  return out;
}

/** Recursively sort object keys (nbformat writes with sort_keys=True). */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  }
  return v;
}

/** Serialise like nbformat.write: indent 1, sorted keys, trailing newline. */
export function serializeNotebook(nb) {
  return JSON.stringify(sortKeys(nb), null, 1) + '\n';
}

/** Relative URLs (from out/slides/) of the offline assets the slides load. */
export const SLIDES_ASSETS = {
  reveal: 'lib/reveal.js',
  jquery: 'lib/jquery/jquery.min.js',
  requirejs: 'lib/requirejs/require.js',
  mathjax: 'lib/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe',
};

/** Output preference for HTML/slides: PNG before SVG (nbconvert 6.5 blanks inline SVG). */
export const DISPLAY_PRIORITY = [
  'text/html',
  'application/pdf',
  'text/latex',
  'image/png',
  'image/jpeg',
  'image/svg+xml',
  'text/markdown',
  'text/plain',
];

export const NBCONVERT_TEMPLATES = join(ROOT, 'scripts', 'nbconvert', 'templates');

/** nbconvert arguments (after the python binary) for one offline reveal.js deck. */
export function slidesArgs(notebook, outputDir, { templatesDir = NBCONVERT_TEMPLATES } = {}) {
  const args = [
    '-m',
    'nbconvert',
    '--to',
    'slides',
    `--TemplateExporter.extra_template_basedirs=${templatesDir}`,
    '--template',
    'nf-reveal',
    ...DISPLAY_PRIORITY.map((m) => `--NbConvertBase.display_data_priority=${m}`),
    // Cell tags for decks: remove-cell (drop it), remove-input (only its outputs), remove-output.
    '--TagRemovePreprocessor.enabled=True',
    '--TagRemovePreprocessor.remove_cell_tags=remove-cell',
    '--TagRemovePreprocessor.remove_input_tags=remove-input',
    '--TagRemovePreprocessor.remove_all_outputs_tags=remove-output',
    '--no-prompt',
    '--SlidesExporter.reveal_theme=white',
    '--SlidesExporter.reveal_transition=none',
    // No scrolling slides: scripts/deck.mjs makes every slide fit (scripts/slides-check.mjs).
    '--SlidesExporter.reveal_scroll=False',
    `--SlidesExporter.reveal_url_prefix=${SLIDES_ASSETS.reveal}`,
    `--SlidesExporter.jquery_url=${SLIDES_ASSETS.jquery}`,
    `--SlidesExporter.require_js_url=${SLIDES_ASSETS.requirejs}`,
    `--SlidesExporter.mathjax_url=${SLIDES_ASSETS.mathjax}`,
    `--output-dir=${outputDir}`,
    notebook,
  ];
  return args;
}

// The deck notebook (figure-first slides, speaker notes) is built by scripts/deck.mjs.

/** Parse `--name value`, `--name=value` and boolean `--flag` options; the rest are positional. */
export function parseArgs(argv, { booleans = [], strings = [] } = {}) {
  const opts = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      positional.push(a);
      continue;
    }
    const [, name, value] = m;
    if (booleans.includes(name)) opts[name] = value === undefined ? true : value !== 'false';
    else if (strings.includes(name)) {
      if (value !== undefined) opts[name] = value;
      else if (i + 1 < argv.length) opts[name] = argv[++i];
      else throw new Error(`--${name} needs a value`);
    } else throw new Error(`unknown option --${name}`);
  }
  return { opts, positional };
}

/**
 * The notebook that `npm start -- <arg>` names, among the file names `names`: the exact file
 * name (with or without .ipynb, or with a folder in front), or a unique prefix ("03", "03-planar");
 * a bare number is zero-padded ("3" -> "03"). Throws with the list of notebooks when none or
 * several match.
 */
export function resolveNotebook(arg, names) {
  const notebooks = names.filter((n) => n.endsWith('.ipynb')).sort();
  let base = String(arg).replace(/^.*[\\/]/, '');
  if (/^\d$/.test(base)) base = `0${base}`;
  const exact = notebooks.find((n) => n === base || n === `${base}.ipynb`);
  if (exact) return exact;
  const hits = notebooks.filter((n) => n.startsWith(base));
  if (hits.length === 1) return hits[0];
  if (hits.length === 0) throw new Error(`no notebook matches "${arg}"; the notebooks are: ${notebooks.join(', ')}`);
  throw new Error(`"${arg}" matches ${hits.length} notebooks (${hits.join(', ')}): give more of the name`);
}
