// `--interactive` serves on loopback only and keeps the terminal free of framework logs.
// Starts the CLI on a short run, reads the listening TCP sockets of the process it started (and
// of any children) from /proc, fails if one is bound beyond 127.0.0.1 / ::1, then stops it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mayOpenBrowser } from '../src/viz/interactive';

const root = join(__dirname, '..');
/** TCP state LISTEN in /proc/net/tcp{,6} (include/net/tcp_states.h). */
const TCP_LISTEN = '0A';
/** How long the CLI may take to train 20 steps and start the server on a loaded machine. */
const START_TIMEOUT_MS = 180_000;

interface Listener {
  address: string;
  port: number;
}

/** The pid and its descendants, from /proc/<pid>/task/<tid>/children. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const taskDir = `/proc/${out[i]}/task`;
    if (!existsSync(taskDir)) continue;
    for (const tid of readdirSync(taskDir)) {
      try {
        const kids = readFileSync(join(taskDir, tid, 'children'), 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      } catch {
        /* task gone */
      }
    }
  }
  return out;
}

/** Socket inodes a process holds open (its /proc/<pid>/fd links "socket:[inode]"). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* fd closed meanwhile */
    }
  }
  return inodes;
}

/** /proc/net hex address: IPv4 is one little-endian 32-bit word, IPv6 four of them. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(''));
  if (words.length === 1)
    return words[0]!
      .match(/../g)!
      .map((b) => parseInt(b, 16))
      .join('.');
  const full = words.join('').match(/.{4}/g)!.join(':');
  return new URL(`http://[${full}]/`).hostname.slice(1, -1); // the URL parser writes the short form
}

/** Listening TCP sockets (IPv4 and IPv6) owned by `pid`. */
function listeningSockets(pid: number): Listener[] {
  const inodes = socketInodes(pid);
  const out: Listener[] = [];
  for (const file of ['tcp', 'tcp6']) {
    const p = `/proc/${pid}/net/${file}`;
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_LISTEN || !inodes.has(f[9]!)) continue;
      const [addr, port] = f[1]!.split(':') as [string, string];
      out.push({ address: decodeAddress(addr), port: parseInt(port, 16) });
    }
  }
  return out;
}

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:7f/.test(address);
}

test('decodeAddress reads /proc/net/tcp{,6} addresses', () => {
  assert.equal(decodeAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeAddress('00000000'), '0.0.0.0');
  assert.equal(decodeAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeAddress('00000000000000000000000000000000'), '::');
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('::') && isLoopback('127.0.0.1') && isLoopback('::1'));
});

test('mayOpenBrowser: never under CI, with NF_NO_BROWSER=1 or NODEPLOTLIB_PORT, or on Linux without a display', () => {
  assert.equal(mayOpenBrowser({ CI: 'true', DISPLAY: ':0' }, 'linux'), false);
  assert.equal(mayOpenBrowser({ NF_NO_BROWSER: '1' }, 'darwin'), false);
  assert.equal(mayOpenBrowser({ NODEPLOTLIB_PORT: '8080' }, 'darwin'), false);
  assert.equal(mayOpenBrowser({}, 'linux'), false);
  assert.equal(mayOpenBrowser({ DISPLAY: ':0' }, 'linux'), true);
  assert.equal(mayOpenBrowser({}, 'darwin'), true);
});

let child: ChildProcess | null = null;

/** Stop the process group we started (the CLI and anything it spawned), and wait for it. */
async function stopChild(): Promise<void> {
  const c = child;
  if (c === null || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  process.kill(-c.pid!, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}
after(stopChild);

test(
  '--interactive listens on loopback only and prints no framework log lines',
  { skip: process.platform !== 'linux' && 'reads /proc' },
  async () => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      CI: 'true',
      NF_NO_BROWSER: '1',
      NODEPLOTLIB_PORT: '0',
      FORCE_COLOR: '1',
    };
    delete env.DISPLAY; // no browser may open (nodeplotlib's own opener also skips when NODEPLOTLIB_PORT is set)
    delete env.WAYLAND_DISPLAY;
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/train.ts',
        '--steps',
        '20',
        '--K',
        '2',
        '--eval-samples',
        '1000',
        '--quiet',
        '--interactive',
      ],
      {
        cwd: root,
        env,
        detached: true, // own process group, so stopChild reaches its children too
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const urlLine = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no URL line within ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const onData = (d: Buffer): void => {
        output += d.toString();
        const m = /https?:\/\/(127\.0\.0\.1|localhost|\[::1\]):(\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.once('exit', (code) => reject(new Error(`CLI exited (${code}) before serving:\n${output}`)));
    });
    const port = Number(urlLine[2]);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200, 'the page answers on the loopback URL');
    await page.text();
    await new Promise((r) => setTimeout(r, 500)); // let any late log line arrive

    const listeners = processTree(child.pid!).flatMap((pid) => listeningSockets(pid).map((l) => ({ pid, ...l })));
    assert.ok(
      listeners.some((l) => l.port === port),
      `a listening socket on port ${port}: ${JSON.stringify(listeners)}`,
    );
    const exposed = listeners.filter((l) => !isLoopback(l.address));
    assert.deepEqual(exposed, [], `sockets bound beyond loopback: ${JSON.stringify(exposed)}`);

    assert.doesNotMatch(
      output,
      /\[Nest\]|\[Nodeplotlib\]|NestFactory|InstanceLoader|RoutesResolver/,
      `framework log lines:\n${output}`,
    );
    assert.doesNotMatch(output, /\x1b\[/, 'no ANSI colour codes');
    assert.match(output, /^Interactive view: http:\/\/127\.0\.0\.1:\d+ .*$/m);
    assert.match(output, /^To stop: .*Ctrl-C.*$/m);
    await stopChild();
    assert.equal(processTree(child.pid!).filter((pid) => existsSync(`/proc/${pid}`)).length, 0, 'the CLI is gone');
  },
);
