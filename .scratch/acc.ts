import { softplusTable } from '../src/kernels/logistic';
const c = softplusTable(); let maxE = 0, maxD = 0;
for (let i = 0; i < 400000; i++) { const u = i * 1e-4; const k = Math.floor(u * 8), t = u * 8 - k, o = 6 * k;
 const f = c[o]! + t * (c[o+1]! + t * (c[o+2]! + t * (c[o+3]! + t * (c[o+4]! + t * c[o+5]!))));
 const fp = 8 * (c[o+1]! + t * (2 * c[o+2]! + t * (3 * c[o+3]! + t * (4 * c[o+4]! + t * 5 * c[o+5]!))));
 const e = Math.exp(-u); maxE = Math.max(maxE, Math.abs(f - Math.log1p(e))); maxD = Math.max(maxD, Math.abs(fp + e / (1 + e))); }
console.log(maxE, maxD);
