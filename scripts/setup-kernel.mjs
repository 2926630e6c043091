#!/usr/bin/env node
// Register the tslab kernel ("tslab", TypeScript) for Jupyter.
//
//   npm run setup-kernel [-- --force]      project-local: <repo>/.jupyter/share/jupyter/kernels/,
//                                           which `npm start` and the tests use; nothing global
//   npm run setup-kernel -- --user         for your own Jupyter (JupyterLab, Notebook, VS Code):
//                                           the user's kernel registry, pointing at this checkout
//   npm run setup-kernel -- --user --remove   take it out again (or: jupyter kernelspec remove tslab)
//   npm run setup-kernel -- --remove       remove the project-local one
// Idempotent.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  registerKernel,
  installUserKernel,
  removeUserKernel,
  parseArgs,
  KERNEL_NAME,
  KERNELSPEC_FILE,
  kernelRegistered,
} from './kernel.mjs';

let opts;
try {
  ({ opts } = parseArgs(process.argv.slice(2), { booleans: ['force', 'user', 'remove', 'help'] }));
} catch (e) {
  console.error(`${e.message}\nUsage: npm run setup-kernel -- [--user] [--remove] [--force]`);
  process.exit(2);
}
if (opts.help) {
  console.log(
    'Usage: npm run setup-kernel -- [--user] [--remove] [--force]\n' +
      '  (no option)  project-local kernel for npm start and the tests\n' +
      '  --user       kernel "tslab" for your own Jupyter, pointing at this checkout\n' +
      '  --remove     remove it again (with --user: from your own Jupyter)',
  );
  process.exit(0);
}

try {
  if (opts.user && opts.remove) {
    const dir = removeUserKernel();
    console.log(
      dir
        ? `Removed kernel "${KERNEL_NAME}" (${dir}) from your Jupyter.`
        : `No kernel "${KERNEL_NAME}" in your Jupyter; nothing to remove.`,
    );
  } else if (opts.user) {
    const dir = installUserKernel();
    console.log(`Registered kernel "${KERNEL_NAME}" (TypeScript) for your own Jupyter: ${dir}`);
    console.log('Open the notebooks with `jupyter lab` (or Notebook / VS Code) and pick the "TypeScript" kernel.');
    console.log('Remove it with: npm run setup-kernel -- --user --remove   (or: jupyter kernelspec remove tslab)');
  } else if (opts.remove) {
    rmSync(dirname(KERNELSPEC_FILE), { recursive: true, force: true });
    console.log(`Removed the project-local kernelspec ${dirname(KERNELSPEC_FILE)}`);
  } else {
    const already = !opts.force && kernelRegistered();
    const s = registerKernel({ force: opts.force });
    if (already) console.log(`Kernelspec "${KERNEL_NAME}" already registered: ${KERNELSPEC_FILE}`);
    else console.log(`(${s.toFixed(1)} s)`);
  }
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
