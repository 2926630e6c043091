// Extract the Palmer penguins table shipped by the npm package vega-datasets into data/penguins.csv.
//
//   node scripts/make-data.mjs
//
// Reads node_modules/vega-datasets/data/penguins.json (a devDependency, pinned in package.json),
// renames the columns to the palmerpenguins names, drops every row with a missing value in any
// column (null, or the stray "." in Sex), adds a 0/1 column `male`, and writes a CSV with "\n"
// line ends. Re-running it gives the same bytes. See data/README.md for source and licence.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// vega-datasets' "exports" map hides package.json and data/, so read them by path.
const pkgDir = join(root, 'node_modules', 'vega-datasets');
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const rows = JSON.parse(readFileSync(join(pkgDir, 'data', 'penguins.json'), 'utf8'));

/** vega-datasets field -> output column (palmerpenguins names; "Beak" is the bill). */
const RENAME = [
  ['Species', 'species'],
  ['Island', 'island'],
  ['Beak Length (mm)', 'bill_length_mm'],
  ['Beak Depth (mm)', 'bill_depth_mm'],
  ['Flipper Length (mm)', 'flipper_length_mm'],
  ['Body Mass (g)', 'body_mass_g'],
  ['Sex', 'sex'],
];
/** Values that mean "not recorded" in the source (one row has Sex = "."). */
const MISSING = new Set([null, undefined, '', '.', 'NA']);

const header = [...RENAME.map(([, to]) => to), 'male'];
const lines = [header.join(',')];
let dropped = 0;
for (const r of rows) {
  const values = RENAME.map(([from]) => r[from]);
  if (values.some((v) => MISSING.has(v))) {
    dropped++;
    continue;
  }
  const sex = String(r.Sex).toLowerCase();
  if (sex !== 'male' && sex !== 'female') throw new Error(`unexpected Sex value ${JSON.stringify(r.Sex)}`);
  const out = values.map((v, i) => (RENAME[i][1] === 'sex' ? sex : String(v)));
  for (const v of out) if (/[",\n]/.test(v)) throw new Error(`value needs quoting: ${JSON.stringify(v)}`);
  lines.push([...out, sex === 'male' ? '1' : '0'].join(','));
}
mkdirSync(join(root, 'data'), { recursive: true });
writeFileSync(join(root, 'data', 'penguins.csv'), lines.join('\n') + '\n');
console.log(
  `vega-datasets ${version}: ${rows.length} rows, dropped ${dropped} with missing values, wrote ${lines.length - 1} to data/penguins.csv`,
);
