/**
 * Interactive Plotly figures in a browser window, through nodeplotlib, for the CLI's
 * `--interactive` flag. Never used by the notebooks: nodeplotlib writes nothing into a
 * notebook (its Plotly page is a separate browser window, and inline Plotly would need the
 * 4.85 MB plotly.min.js in every notebook).
 *
 * What calling {@link interactivePlot} does — only when called; importing this file does not
 * load nodeplotlib:
 * - starts nodeplotlib's NestJS app on the LOOPBACK interface only, 127.0.0.1 (port from
 *   `NODEPLOTLIB_PORT`, else a free one), prints one line with the URL and one saying how to
 *   stop, and opens the default browser at it (not when `CI` is set, `NF_NO_BROWSER=1`,
 *   `NODEPLOTLIB_PORT` is set, or on Linux without a display: {@link mayOpenBrowser});
 * - KEEPS THE PROCESS ALIVE until it is interrupted (Ctrl+C). nodeplotlib also shuts the server
 *   down when the last browser page disconnects, but socket.io does not always see a closed
 *   page promptly (seen: at once in some runs, not within 2 minutes in others), so Ctrl+C is
 *   the way to stop that the terminal shows. Call it last, after results are saved.
 *
 * Why not `require('nodeplotlib').plot`: nodeplotlib 1.1.2 calls `app.listen(port)` with no
 * host, so Node listens on every interface and anyone on the same network (café or lecture-hall
 * Wi-Fi) could read the plots; it has no option for a host, and NestJS logs its start-up in
 * ANSI colours over the terminal. Instead of patching node_modules at install time
 * (patch-package: one more dev tool and a postinstall step that must run everywhere), we
 * bootstrap nodeplotlib's own NestJS module (`ServerModule`: the static Plotly page and the
 * socket.io gateway that streams the figures) the way its `plot()` does, with two
 * differences: `listen(port, '127.0.0.1')` and `logger: false`. nodeplotlib is pinned
 * (1.1.2), so its internal paths below are fixed; test/interactive.test.ts checks the sockets.
 *
 * The trace builders ({@link historyTraces}, {@link samplesTraces}, {@link densityTraces}) are
 * plain data and cheap; use them to test what would be plotted without opening anything.
 */
import { spawn } from 'child_process';
import type { DensityField, Grid2D } from '../targets/grid';
import { samplesXY, MAX_SCATTER_POINTS, type Samples2D } from './plots';
import type { TrainHistory } from '../train/train';

/** A Plotly trace (https://plotly.com/javascript/reference/), typed loosely. */
export type PlotlyTrace = Record<string, unknown>;
/** A Plotly layout, typed loosely. */
export type PlotlyLayout = Record<string, unknown>;

/** The interface the server listens on: this computer only (IPv4 loopback). */
export const LOOPBACK_HOST = '127.0.0.1';

/** rxjs (nodeplotlib's peer dependency), typed loosely: the figures reach the server as a stream. */
interface Subject<T> {
  value: T;
  next(v: T): void;
}
interface RxLib {
  BehaviorSubject: new <T>(v: T) => Subject<T>;
  of(v: unknown): unknown;
}
/** One figure as nodeplotlib's PlotsService reads it from its buffer. */
interface PlotEntry {
  data: unknown;
  layout: unknown;
  config?: unknown;
}
interface NestApp {
  get(token: unknown): unknown;
  listen(port: number, host: string): Promise<unknown>;
  getHttpServer(): { address(): { port: number } };
  close(): Promise<void>;
}
interface Gateway {
  clientMap: Map<unknown, number>;
  bridgeService: { shutdown$: { next(v: null): void } };
}

let rx: RxLib | null = null;
let plots: Subject<PlotEntry[]> | null = null;
let serverStarted = false;

/**
 * Open one Plotly figure in a browser window via nodeplotlib's page, served on 127.0.0.1 only.
 * Starts the server on the first call and keeps the process alive until it is interrupted
 * (see the file comment). Several calls add figures to the same page.
 */
export function interactivePlot(traces: PlotlyTrace[], layout: PlotlyLayout = {}): void {
  if (rx === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    rx = require('rxjs') as RxLib;
    plots = new rx.BehaviorSubject<PlotEntry[]>([]);
  }
  plots!.next([...plots!.value, { data: rx.of(traces), layout: rx.of(layout) }]);
  if (!serverStarted) {
    serverStarted = true;
    startServer(plots!).catch((e: unknown) => {
      console.error(`interactive view failed to start: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    });
  }
}

/** nodeplotlib's `bootstrap()`, bound to loopback and without NestJS's logger. */
async function startServer(buffer: Subject<PlotEntry[]>): Promise<void> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NestFactory } = require('@nestjs/core') as {
    NestFactory: { create(m: unknown, o: object): Promise<NestApp> };
  };
  const lib = 'nodeplotlib/src/lib/server/';
  const { ServerModule } = require(`${lib}server.module`) as { ServerModule: unknown };
  const { PlotsService } = require(`${lib}plots/plots.service`) as { PlotsService: unknown };
  const { BridgeService } = require(`${lib}services/bridge.service`) as { BridgeService: unknown };
  const { PlotsGateway } = require(`${lib}plots/plots.gateway`) as {
    PlotsGateway: { prototype: Gateway & Record<string, unknown> };
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  quietGateway(PlotsGateway.prototype);
  const app = await NestFactory.create(ServerModule, { logger: false });
  const port = Number(process.env.NODEPLOTLIB_PORT ?? 0) || 0;
  await app.listen(port, LOOPBACK_HOST);
  const url = `http://${LOOPBACK_HOST}:${app.getHttpServer().address().port}`;
  (app.get(PlotsService) as { setBuffer(b: unknown): void }).setBuffer(buffer);
  // nodeplotlib opens the browser from BridgeService.setPort; we open it ourselves (openBrowser).
  const bridge = app.get(BridgeService) as { shutdown$: { subscribe(f: () => void): void } };
  bridge.shutdown$.subscribe(() => void app.close());
  console.error(`Interactive view: ${url} (this computer only)`);
  console.error('To stop: press Ctrl-C here.');
  openBrowser(url);
}

/**
 * The gateway as nodeplotlib writes it, minus its "[Nodeplotlib] client (dis)connected" lines:
 * it counts browser pages and shuts the server down when the last one closes.
 */
function quietGateway(proto: Gateway & Record<string, unknown>): void {
  proto.handleConnection = function (this: Gateway, client: unknown): void {
    this.clientMap.set(client, Date.now());
  };
  proto.handleDisconnect = function (this: Gateway, client: unknown): void {
    this.clientMap.delete(client);
    if (this.clientMap.size === 0) this.bridgeService.shutdown$.next(null);
  };
}

/**
 * True when a browser may be opened: not under CI (`CI` set), not with `NF_NO_BROWSER=1`, not
 * with a fixed `NODEPLOTLIB_PORT` (nodeplotlib's own convention: you open the page yourself),
 * and on Linux only with a graphical display (`DISPLAY` or `WAYLAND_DISPLAY`).
 */
export function mayOpenBrowser(
  env: Record<string, string | undefined> = process.env,
  platform: string = process.platform,
): boolean {
  if (env.CI || env.NF_NO_BROWSER === '1' || env.NODEPLOTLIB_PORT) return false;
  if (platform === 'linux') return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  return true;
}

/** Open `url` in the default browser (xdg-open / open / start), never failing the caller. */
function openBrowser(url: string): void {
  if (!mayOpenBrowser()) return;
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => console.error(`Open ${url} in a browser.`));
  child.unref();
}

/** Free energy and objective per step, and -log Z as a dashed line when `logZ` is given. */
export function historyTraces(
  history: Pick<TrainHistory, 'step' | 'loss' | 'freeEnergy'>,
  logZ?: number | null,
): PlotlyTrace[] {
  const traces: PlotlyTrace[] = [
    { x: history.step, y: history.freeEnergy, type: 'scatter', mode: 'lines', name: 'free energy F (β = 1)' },
    { x: history.step, y: history.loss, type: 'scatter', mode: 'lines', name: 'objective', visible: 'legendonly' },
  ];
  if (logZ !== undefined && logZ !== null && history.step.length > 0) {
    const s = history.step;
    traces.push({
      x: [s[0], s[s.length - 1]],
      y: [-logZ, -logZ],
      type: 'scatter',
      mode: 'lines',
      name: '−log Z',
      line: { dash: 'dash', color: '#e15759' },
    });
  }
  return traces;
}

/** Samples as a scatter trace (at most `maxPoints`, default 2000, the first ones). */
export function samplesTraces(samples: Samples2D, maxPoints = MAX_SCATTER_POINTS): PlotlyTrace[] {
  const { x, y } = samplesXY(samples);
  const n = Math.min(x.length, maxPoints);
  return [
    {
      x: Array.from({ length: n }, (_, i) => x[i]),
      y: Array.from({ length: n }, (_, i) => y[i]),
      type: 'scatter',
      mode: 'markers',
      name: 'samples',
      marker: { size: 3, opacity: 0.6 },
    },
  ];
}

/**
 * A density on a regular grid (values row-major, y outer, e.g. `logProbOnGrid`) as a Plotly
 * contour trace of exp(value - max). Scattered fields (regular false) are not supported here.
 */
export function densityTraces(values: ArrayLike<number> | DensityField, grid: Grid2D): PlotlyTrace[] {
  const v = 'logDensity' in values ? values.logDensity : values;
  if ('regular' in values && !values.regular) throw new RangeError('densityTraces needs a regular grid field');
  if (v.length !== grid.nx * grid.ny)
    throw new RangeError(`grid is ${grid.nx}x${grid.ny} but there are ${v.length} values`);
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i]! > max) max = v[i]!;
  const hx = (grid.xlim[1] - grid.xlim[0]) / grid.nx;
  const hy = (grid.ylim[1] - grid.ylim[0]) / grid.ny;
  const z: number[][] = [];
  for (let j = 0; j < grid.ny; j++)
    z.push(Array.from({ length: grid.nx }, (_, i) => Math.exp(v[j * grid.nx + i]! - max)));
  return [
    {
      type: 'contour',
      x: Array.from({ length: grid.nx }, (_, i) => grid.xlim[0] + (i + 0.5) * hx),
      y: Array.from({ length: grid.ny }, (_, j) => grid.ylim[0] + (j + 0.5) * hy),
      z,
      colorscale: 'Viridis',
      contours: { coloring: 'fill' },
      name: 'density',
    },
  ];
}
