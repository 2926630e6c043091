// Re-encode every PNG in the notebooks' outputs with the library's encoder and compare sizes:
//   node --import tsx scripts/png-sizes.ts [notebooks/*.ipynb ...]
// Prints, per notebook, the bytes of the PNGs as committed and as `encodePng` writes the same
// pixels now; exits 1 when the re-encoded total is larger (the notebooks must not grow).
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { encodePng } from '../src/viz/png';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PNG } = require('pngjs') as {
  PNG: { sync: { read(buf: Buffer): { width: number; height: number; data: Buffer } } };
};

interface Output {
  data?: Record<string, string | string[]>;
}
const dir = join(__dirname, '..', 'notebooks');
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(dir)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
        .map((f) => join(dir, f));
let totalOld = 0;
let totalNew = 0;
let count = 0;
let ms = 0;
for (const file of files) {
  const nb = JSON.parse(readFileSync(file, 'utf8')) as { cells: { outputs?: Output[] }[] };
  let oldBytes = 0;
  let newBytes = 0;
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      const b64 = out.data?.['image/png'];
      if (b64 === undefined) continue;
      const png = Buffer.from(Array.isArray(b64) ? b64.join('') : b64, 'base64');
      const img = PNG.sync.read(png); // RGBA pixels, whatever the stored colour type
      const t0 = performance.now();
      const again = encodePng(img.data, img.width, img.height);
      ms += performance.now() - t0;
      oldBytes += png.length;
      newBytes += again.length;
      count++;
    }
  }
  totalOld += oldBytes;
  totalNew += newBytes;
  console.log(`${file.split('/').pop()}: ${oldBytes} -> ${newBytes} bytes`);
}
const ratio = totalOld > 0 ? totalNew / totalOld : 1;
console.log(
  `total: ${count} PNGs, ${totalOld} -> ${totalNew} bytes (${((ratio - 1) * 100).toFixed(1)}%), encode ${(ms / Math.max(1, count)).toFixed(0)} ms per PNG`,
);
process.exit(totalNew > totalOld ? 1 : 0);
