// `npm run setup-kernel -- --user` registers the TypeScript kernel for the user's own Jupyter, and
// the documented removals take it out again. Checked with a PLAIN `jupyter kernelspec list` (no
// JUPYTER_* variables of the project), with HOME pointed at a temporary folder so the real user's
// Jupyter is untouched. Skipped where Jupyter is not installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = join(__dirname, '..');
const TSLAB_JS = join(root, 'node_modules', 'tslab', 'bin', 'tslab');
const home = realpathSync(mkdtempSync(join(tmpdir(), 'nf-home-')));
after(() => rmSync(home, { recursive: true, force: true }));

/** A bare environment: the temporary HOME and a PATH with node, nothing of the project's Jupyter. */
const env: NodeJS.ProcessEnv = {
  HOME: home,
  PATH: [join(process.execPath, '..'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
  LANG: 'C.UTF-8',
};

function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}

interface Kernelspec {
  resource_dir: string;
  spec: { argv: string[]; display_name: string };
}
/** What a user's `jupyter kernelspec list` shows. */
function kernelspecs(): Record<string, Kernelspec> {
  const r = run('jupyter', ['kernelspec', 'list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { kernelspecs: Record<string, Kernelspec> }).kernelspecs;
}

const hasJupyter = spawnSync('jupyter', ['kernelspec', '--version'], { env, stdio: 'ignore' }).status === 0;

test(
  'setup-kernel --user: the kernel shows in a plain jupyter kernelspec list, runs TypeScript, and is removed',
  { skip: !hasJupyter && 'jupyter is not installed' },
  () => {
    assert.equal(kernelspecs().tslab, undefined, 'a fresh HOME has no tslab kernel');

    const setup = run('npm', ['run', '--silent', 'setup-kernel', '--', '--user']);
    assert.equal(setup.status, 0, setup.stderr);
    const k = kernelspecs().tslab;
    assert.ok(k, 'tslab listed after setup');
    assert.ok(k.resource_dir.startsWith(home), `installed under the user's HOME: ${k.resource_dir}`);
    assert.equal(k.spec.display_name, 'TypeScript');
    assert.deepEqual(k.spec.argv.slice(0, 3), [process.execPath, TSLAB_JS, 'kernel'], "this checkout's tslab");

    // The user's Jupyter can start it: run one cell through jupyter_client with that HOME.
    const py = [
      'from jupyter_client.manager import start_new_kernel',
      "km, kc = start_new_kernel(kernel_name='tslab', startup_timeout=90)",
      'out = []',
      "kc.execute_interactive('console.log(6 * 7)', timeout=60, output_hook=lambda m: out.append(m['content'].get('text', '')))",
      "print('OUT=' + ''.join(out).strip())",
      'kc.stop_channels(); km.shutdown_kernel(now=True)',
    ].join('\n');
    const cell = run('/usr/bin/python3', ['-c', py]);
    assert.equal(cell.status, 0, cell.stderr);
    assert.match(cell.stdout, /^OUT=42$/m);

    const again = run('npm', ['run', '--silent', 'setup-kernel', '--', '--user']);
    assert.equal(again.status, 0, 'idempotent: a second setup replaces the first');

    const removed = run('npm', ['run', '--silent', 'setup-kernel', '--', '--user', '--remove']);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(kernelspecs().tslab, undefined, 'gone after npm run setup-kernel -- --user --remove');
    assert.ok(!existsSync(k.resource_dir));

    // The other documented way: Jupyter's own command.
    assert.equal(run('npm', ['run', '--silent', 'setup-kernel', '--', '--user']).status, 0);
    assert.ok(kernelspecs().tslab);
    const plain = run('jupyter', ['kernelspec', 'remove', '-y', 'tslab']);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(kernelspecs().tslab, undefined, 'gone after jupyter kernelspec remove tslab');
  },
);
