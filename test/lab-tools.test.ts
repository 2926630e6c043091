// Pure parts of the JupyterLab tooling: which notebook `npm start -- 03` opens (scripts/kernel.mjs),
// and the notebook copy the JupyterLab browser check runs (scripts/browser-check-lab.mjs).
// No Jupyter, no browser; < 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
}
interface KernelModule {
  resolveNotebook(arg: string, names: string[]): string;
}
interface LabCheckModule {
  prepareCopy(nb: Notebook, distFromCopy: string): Notebook;
  smallBudgets(source: string, steps: number): string;
}

const root = join(__dirname, '..');
// Variable specifiers keep tsc (CommonJS, strict) from resolving the untyped .mjs files.
const kernelPath = join(root, 'scripts', 'kernel.mjs');
const labCheckPath = join(root, 'scripts', 'browser-check-lab.mjs');
const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

const NAMES = [
  '01-change-of-variables.ipynb',
  '02-kl-loss.ipynb',
  '03-planar-flows.ipynb',
  '04-sylvester-flows.ipynb',
  'src',
];

test('npm start -- NAME: number, prefix, file name or path; clear errors otherwise', async () => {
  const k = (await import(kernelPath)) as KernelModule;
  for (const arg of [
    '03',
    '3',
    '03-planar',
    '03-planar-flows',
    '03-planar-flows.ipynb',
    'notebooks/03-planar-flows.ipynb',
  ]) {
    assert.equal(k.resolveNotebook(arg, NAMES), '03-planar-flows.ipynb', arg);
  }
  assert.throws(
    () => k.resolveNotebook('03', [...NAMES, '03-extra.ipynb']),
    /"03" matches 2 notebooks \(03-extra.ipynb, 03-planar-flows.ipynb\)/,
  );
  assert.throws(
    () => k.resolveNotebook('07', NAMES),
    /no notebook matches "07"; the notebooks are: 01-change-of-variables.ipynb/,
  );
  assert.throws(() => k.resolveNotebook('src', NAMES), /no notebook matches "src"/);
});

test('the lab check copy of notebook 03: outputs cleared, dist re-pointed, budgets lowered', async () => {
  const m = (await import(labCheckPath)) as LabCheckModule;
  const nb = JSON.parse(readFileSync(join(root, 'notebooks', '03-planar-flows.ipynb'), 'utf8')) as Notebook;
  const copy = m.prepareCopy(nb, '../../dist');
  assert.equal(copy.cells.length, nb.cells.length);
  const code = copy.cells.filter((c) => c.cell_type === 'code');
  assert.ok(code.every((c) => c.outputs?.length === 0 && c.execution_count === null));
  assert.ok(code.some((c) => src(c).includes("from '../../dist'")));
  assert.ok(!code.some((c) => src(c).includes("from '../dist'")));
  assert.ok(
    nb.cells.some((c) => (c.outputs ?? []).length > 0),
    'the source notebook is left as it was',
  );
  assert.throws(
    () => m.prepareCopy({ cells: [{ cell_type: 'code', source: 'let x = 1;' }] }, '../dist'),
    /no `from '..\/dist'` import/,
  );

  const hyper = 'const K = 32;\nconst STEPS = 10000;   // main\nconst STEPS_COLLAPSE = 2000;\nconst STEPS_K = STEPS;\n';
  assert.equal(
    m.smallBudgets(hyper, 300),
    'const K = 32;\nconst STEPS = 300;   // main\nconst STEPS_COLLAPSE = 300;\nconst STEPS_K = STEPS;\n',
  );
  assert.throws(() => m.smallBudgets('const K = 32;', 300), /no numeric `const STEPS/);
});
