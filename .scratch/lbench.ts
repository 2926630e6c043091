import { penguinsSpeciesModel, targetKernelOf } from '../src';
const m = penguinsSpeciesModel();
const t = (m as any).target ?? m;
const k = targetKernelOf(t)!;
const n = 512, D = 2;
const z = new Float32Array(n * D); for (let i = 0; i < z.length; i++) z[i] = (i % 7) * 0.3 - 1 + (i % 2) * 5;
const lp = new Float32Array(n), g = new Float32Array(n * D);
for (let r = 0; r < 3; r++) { const t0 = performance.now(); for (let i = 0; i < 200; i++) k(z, n, lp, g); console.log(((performance.now() - t0) / 200).toFixed(3), 'ms/call'); }
console.log((t as any).spec.N);
