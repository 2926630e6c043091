/**
 * The committed notebooks carry the outputs of a full seeded run: regenerating them from their
 * sources (`npm run notebooks:build`) clears every output, and committing that by mistake would
 * ship a series that shows nothing until run. Each one must have outputs in most code cells.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..');
const FOLDERS = ['notebooks', join('notebooks', 'solutions')];
/** Setup cells (imports, hyper-parameters) print nothing; a run that executed prints in most cells. */
const MIN_FRACTION_WITH_OUTPUT = 0.4;

for (const folder of FOLDERS) {
  const files = readdirSync(join(root, folder)).filter((f) => f.endsWith('.ipynb'));
  test(`${folder}: every committed notebook carries its outputs`, () => {
    assert.ok(files.length > 0, `no notebooks in ${folder}`);
    for (const f of files) {
      const nb = JSON.parse(readFileSync(join(root, folder, f), 'utf8')) as {
        cells: { cell_type: string; outputs?: unknown[] }[];
      };
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      const withOutput = code.filter((c) => (c.outputs ?? []).length > 0).length;
      assert.ok(
        withOutput >= MIN_FRACTION_WITH_OUTPUT * code.length,
        `${folder}/${f}: ${withOutput} of ${code.length} code cells have outputs (run npm run notebooks)`,
      );
    }
  });
}
