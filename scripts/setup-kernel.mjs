#!/usr/bin/env node
// npm run setup-kernel [-- --force]: register the tslab kernelspec ("tslab", TypeScript) in the
// project-local <repo>/.jupyter/share/jupyter/kernels/ (nothing global is touched). Idempotent.
import { registerKernel, KERNEL_NAME, KERNELSPEC_FILE, kernelRegistered } from './kernel.mjs';

const force = process.argv.includes('--force');
const already = !force && kernelRegistered();
const s = registerKernel({ force });
if (already) console.log(`Kernelspec "${KERNEL_NAME}" already registered: ${KERNELSPEC_FILE}`);
else console.log(`(${s.toFixed(1)} s)`);
