#!/usr/bin/env node
// npm start [-- extra jupyter args]: register the project-local tslab kernelspec, then open the
// notebooks/ folder in JupyterLab when `jupyter lab` is installed, else in the classic Jupyter
// Notebook, else print how to install one and exit 1. Extra args go to jupyter, e.g.
//   npm start -- --no-browser --port 8899
// Pick the kernel "TypeScript" (kernelspec "tslab"); the notebooks already name it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, jupyterEnv, registerKernel, findPython, which, KERNEL_NAME } from './kernel.mjs';

const extra = process.argv.slice(2);
const py = findPython();
const has = (mod) => Boolean(py) && spawnSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;

let cmd = null;
if (which('jupyter-lab')) cmd = [which('jupyter-lab'), []];
else if (has('jupyterlab')) cmd = [py, ['-m', 'jupyterlab']];
else if (which('jupyter-notebook')) cmd = [which('jupyter-notebook'), []];
else if (has('notebook')) cmd = [py, ['-m', 'notebook']];

if (!cmd || !py) {
  console.error(
    [
      'Neither JupyterLab nor the classic Jupyter Notebook is installed.',
      'Install one of them:',
      '  Debian/Ubuntu: sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient',
      '  pip:           pip install jupyterlab',
      'then run `npm start` again.',
    ].join('\n'),
  );
  process.exit(1);
}

registerKernel();
const dir = existsSync(join(ROOT, 'notebooks')) ? join(ROOT, 'notebooks') : ROOT;
const args = [...cmd[1], `--notebook-dir=${dir}`];
if (process.getuid?.() === 0 && !extra.includes('--allow-root')) args.push('--allow-root');
args.push(...extra);
console.log(`Starting: ${[cmd[0], ...args].join(' ')}  (kernel: "${KERNEL_NAME}" = TypeScript)`);
const child = spawn(cmd[0], args, { cwd: dir, env: jupyterEnv(), stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
