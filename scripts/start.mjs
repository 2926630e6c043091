#!/usr/bin/env node
// npm start [-- NOTEBOOK] [-- extra jupyter args]: register the project-local tslab kernelspec,
// then open the notebooks/ folder, or one notebook, in the first of:
//  1. your own JupyterLab (`jupyter lab` installed, e.g. by pip);
//  2. the repo's JupyterLab (tools/jupyterlab, built from npm on first use: about a minute),
//     served by Debian's jupyterlab_server (sudo apt-get install python3-jupyterlab-server);
//  3. the classic Jupyter Notebook (sudo apt-get install jupyter-notebook);
// else print how to install one and exit 1. It prints which one it chose.
//   npm start -- 03                   open notebooks/03-planar-flows.ipynb (a number, a name
//                                     prefix or the file name)
//   npm start -- 03 --no-browser --port=8899      the rest goes to the Jupyter server
// Pick the kernel "TypeScript" (kernelspec "tslab"); the notebooks already name it.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, jupyterEnv, registerKernel, findPython, which, resolveNotebook, KERNEL_NAME } from './kernel.mjs';
import { LAB_SERVE, ensureLabBuilt, findLabServerPython } from './lab.mjs';

const NOTEBOOKS = join(ROOT, 'notebooks');

const argv = process.argv.slice(2);
let notebook = null;
if (argv[0] && !argv[0].startsWith('-')) {
  try {
    notebook = resolveNotebook(argv.shift(), readdirSync(NOTEBOOKS));
  } catch (e) {
    console.error(`npm start: ${e.message}`);
    process.exit(2);
  }
}
const extra = argv;
const py = findPython();
const has = (mod) => Boolean(py) && spawnSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
const asRoot = process.getuid?.() === 0 && !extra.includes('--allow-root') ? ['--allow-root'] : [];

/** [label, command, args] of the frontend to start, or null. */
function choose() {
  // 1. the user's own JupyterLab
  const lab = which('jupyter-lab');
  if (lab || has('jupyterlab')) {
    const cmd = lab ? [lab, []] : [py, ['-m', 'jupyterlab']];
    return [
      'your JupyterLab (jupyter lab)',
      cmd[0],
      [...cmd[1], `--notebook-dir=${NOTEBOOKS}`, ...asRoot, ...extra, ...(notebook ? [notebook] : [])],
    ];
  }
  // 2. the repo's JupyterLab on Debian's jupyterlab_server
  const labPy = findLabServerPython();
  if (labPy) {
    try {
      ensureLabBuilt();
      return [
        "this repo's JupyterLab 3.6 (tools/jupyterlab) on Debian's jupyterlab_server",
        labPy,
        [
          LAB_SERVE,
          `--ServerApp.root_dir=${NOTEBOOKS}`,
          '--ip=127.0.0.1',
          ...asRoot,
          ...(notebook ? [`--open=${notebook}`] : []),
          ...extra,
        ],
      ];
    } catch (e) {
      console.error(`npm start: could not build tools/jupyterlab (${e.message}); trying the classic Notebook`);
    }
  }
  // 3. the classic Notebook
  const classic = which('jupyter-notebook');
  if (classic || has('notebook')) {
    const cmd = classic ? [classic, []] : [py, ['-m', 'notebook']];
    return [
      'the classic Jupyter Notebook',
      cmd[0],
      [...cmd[1], `--notebook-dir=${NOTEBOOKS}`, ...asRoot, ...extra, ...(notebook ? [notebook] : [])],
    ];
  }
  return null;
}

const chosen = py ? choose() : null;
if (!chosen) {
  console.error(
    [
      'Neither JupyterLab nor the classic Jupyter Notebook is installed.',
      'Install one of them:',
      '  Debian/Ubuntu: sudo apt-get install python3-jupyterlab-server jupyter-nbconvert python3-nbclient',
      '                 (npm start then builds a JupyterLab frontend from npm)',
      '  pip:           pip install jupyterlab',
      'then run `npm start` again.',
    ].join('\n'),
  );
  process.exit(1);
}

registerKernel();
const [label, cmd, args] = chosen;
console.log(`npm start: opening ${notebook ? `notebooks/${notebook}` : 'notebooks/'} in ${label}`);
console.log(`Starting: ${[cmd, ...args].join(' ')}  (kernel: "${KERNEL_NAME}" = TypeScript)`);
const child = spawn(cmd, args, { cwd: NOTEBOOKS, env: jupyterEnv(), stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
