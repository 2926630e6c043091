import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHTML } from 'linkedom';
import type { Grid2D } from '../src/targets/grid';
import { toPNG } from '../src/viz/png';
import {
  densityPlot,
  gridLines,
  histogramWithCurve,
  lossPlot,
  mapPolylines,
  samplesPlot,
  samplesXY,
  smallMultiples,
  warpedGridPlot,
  MAX_SCATTER_POINTS,
} from '../src/viz/plots';

/** The bits of a linkedom element the tests read. */
type El = { getAttribute(name: string): string | null; textContent: string | null };
/** querySelectorAll's result as an array of {@link El}. */
const all = (list: ArrayLike<unknown>): El[] => Array.from(list) as El[];

function parseSvg(svg: string) {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${svg}</body></html>`);
  const root = document.body.firstElementChild!;
  assert.equal(root.tagName.toLowerCase(), 'svg');
  return root;
}

/** log N(z; mu, I) on the midpoints of a grid, row-major with y outer (as logProbOnGrid). */
function gaussGrid(g: Grid2D, mu: [number, number]): Float32Array {
  const out = new Float32Array(g.nx * g.ny);
  const hx = (g.xlim[1] - g.xlim[0]) / g.nx;
  const hy = (g.ylim[1] - g.ylim[0]) / g.ny;
  for (let j = 0; j < g.ny; j++) {
    for (let i = 0; i < g.nx; i++) {
      const x = g.xlim[0] + (i + 0.5) * hx;
      const y = g.ylim[0] + (j + 0.5) * hy;
      out[j * g.nx + i] = -0.5 * ((x - mu[0]) ** 2 + (y - mu[1]) ** 2);
    }
  }
  return out;
}

const grid: Grid2D = { xlim: [-4, 4], ylim: [-4, 4], nx: 60, ny: 60 };

/** Mean of the coordinates in an SVG path's d attribute (enough to locate a blob). */
function pathCentre(d: string): [number, number] {
  const nums = d.match(/-?\d+(\.\d+)?/g)!.map(Number);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i + 1 < nums.length; i += 2) {
    sx += nums[i]!;
    sy += nums[i + 1]!;
  }
  return [sx / (nums.length / 2), sy / (nums.length / 2)];
}

test('densityPlot (grid): filled contour paths, 7 levels, title; the peak sits where the density peaks', () => {
  const fig = densityPlot(gaussGrid(grid, [1, 2]), { grid, title: 'N((1, 2), I)' });
  const root = parseSvg(fig.svg);
  const contours = root.querySelector('g[aria-label="contour"]');
  assert.ok(contours, 'a contour group');
  const paths = contours!.querySelectorAll('path');
  assert.equal(paths.length, 7);
  assert.ok(fig.svg.includes('N((1, 2), I)'));
  // Equal aspect: a square window gives a roughly square figure (plus title band).
  assert.ok(Math.abs(fig.height - fig.width) < 60, `${fig.width} x ${fig.height}`);
  // The innermost contour (last path) is up and right of the centre: y grows upwards.
  const [cx, cy] = pathCentre(paths[paths.length - 1]!.getAttribute('d')!);
  const frame = root.querySelector('g[aria-label="frame"] rect') ?? root.querySelector('rect[aria-label="frame"]');
  assert.ok(frame, 'a frame');
  const fx = Number(frame!.getAttribute('x'));
  const fy = Number(frame!.getAttribute('y'));
  const fw = Number(frame!.getAttribute('width'));
  const fh = Number(frame!.getAttribute('height'));
  assert.ok(Math.abs((cx - fx) / fw - 5 / 8) < 0.05, `x fraction ${(cx - fx) / fw}`);
  assert.ok(Math.abs((cy - fy) / fh - 2 / 8) < 0.05, `y fraction from top ${(cy - fy) / fh}`);
});

test('densityPlot: log mode and density values; bad input is rejected', () => {
  const lp = gaussGrid(grid, [0, 0]);
  const fig = densityPlot(lp, { grid, log: true, levels: 6 });
  assert.equal(parseSvg(fig.svg).querySelector('g[aria-label="contour"]')!.querySelectorAll('path').length, 6);
  const dens = densityPlot(Float32Array.from(lp, Math.exp), { grid, values: 'density' });
  assert.ok(parseSvg(dens.svg).querySelector('g[aria-label="contour"]'));
  assert.throws(() => densityPlot(lp), /grid/);
  assert.throws(() => densityPlot(lp.subarray(1), { grid }), /values/);
  assert.throws(() => densityPlot(lp, { grid, levels: 1 }), RangeError);
  assert.throws(() => densityPlot(lp, { grid, xlim: [1, -1] }), RangeError);
});

test('densityPlot: a colour bar of the levels, coloured like the contours, labelled 0 to 1; equal aspect', () => {
  const fig = densityPlot(gaussGrid(grid, [0, 0]), { grid, width: 330 });
  const root = parseSvg(fig.svg);
  const fills = all(root.querySelector('g[aria-label="contour"]')!.querySelectorAll('path')).map((p) =>
    p.getAttribute('fill'),
  );
  const bar = root.querySelector('g[aria-label="rule"]');
  assert.ok(bar, 'a colour bar (one rule per level)');
  const swatches = all(bar!.querySelectorAll('line'));
  assert.equal(swatches.length, 7);
  // Swatch k (bottom to top) has the colour of contour band k.
  assert.deepEqual(
    swatches.map((l) => l.getAttribute('stroke')),
    fills,
  );
  const ys = swatches.map((l) => Number(l.getAttribute('y1')));
  for (let k = 1; k < ys.length; k++) assert.ok(ys[k]! < ys[k - 1]!, 'bands stacked upwards');
  const texts = all(root.querySelectorAll('text')).map((t) => t.textContent);
  for (const label of ['0', '0.14', '0.86', '1', 'density ÷ peak']) assert.ok(texts.includes(label), `label ${label}`);
  // The frame is square for a square window (the bar takes margin, not plot aspect).
  const frame = root.querySelector('g[aria-label="frame"] rect') ?? root.querySelector('rect[aria-label="frame"]');
  assert.ok(Math.abs(Number(frame!.getAttribute('width')) - Number(frame!.getAttribute('height'))) <= 1);
  // Log mode labels nats below the peak; colorBar: false drops the bar.
  const logTexts = all(
    parseSvg(densityPlot(gaussGrid(grid, [0, 0]), { grid, log: true }).svg).querySelectorAll('text'),
  ).map((t) => t.textContent);
  for (const label of ['−8', '0', 'log density − peak']) assert.ok(logTexts.includes(label), `log label ${label}`);
  const bare = parseSvg(densityPlot(gaussGrid(grid, [0, 0]), { grid, colorBar: false }).svg);
  assert.equal(bare.querySelector('g[aria-label="rule"]'), null);
  assert.ok(!bare.textContent!.includes('density ÷ peak'));
});

test('2-D plots: fewer x ticks on a narrow frame, so tick labels do not collide', () => {
  const xTicks = (width: number) =>
    all(
      parseSvg(densityPlot(gaussGrid(grid, [0, 0]), { grid, width }).svg).querySelectorAll(
        'g[aria-label="x-axis tick label"] text',
      ),
    ).length;
  const wide = xTicks(450);
  const narrow = xTicks(220);
  // 450 px: a 314 px frame, ticks every 1 on [−4, 4] (9 labels); 220 px: an 84 px frame beside the
  // colour bar, ticks every 2 (5 labels, ~21 px apart) instead of 9 labels 10 px apart.
  assert.equal(wide, 9);
  assert.equal(narrow, 5);
});

test('densityPlot: a scattered DensityField (regular = false) is interpolated to contours', () => {
  const n = 40;
  const m = n * n;
  const x = new Float32Array(m);
  const y = new Float32Array(m);
  const logDensity = new Float32Array(m);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const a = -4 + (8 * (i + 0.5)) / n;
      const b = -4 + (8 * (j + 0.5)) / n;
      // A sheared grid: scattered, not on a lattice.
      x[j * n + i] = a + 0.4 * b;
      y[j * n + i] = 1.2 * b;
      logDensity[j * n + i] = -0.5 * (a * a + b * b);
    }
  }
  const fig = densityPlot({ x, y, logDensity, regular: false }, { title: 'pushed grid' });
  const paths = parseSvg(fig.svg).querySelector('g[aria-label="contour"]')!.querySelectorAll('path');
  assert.ok(paths.length >= 5, `${paths.length} contour paths`);
});

test('samplesPlot: dots over the background contours, capped at 2000, outside points counted in alt', () => {
  const n = 3000;
  const z = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    z[2 * i] = Math.cos(i) * 2;
    z[2 * i + 1] = Math.sin(i * 1.7) * 2;
  }
  z[0] = 10; // outside the window
  const fig = samplesPlot(z, { background: gaussGrid(grid, [0, 0]), grid, title: 'samples' });
  const root = parseSvg(fig.svg);
  assert.equal(root.querySelectorAll('circle').length, MAX_SCATTER_POINTS);
  assert.ok(root.querySelector('g[aria-label="contour"]'), 'background contours');
  assert.match(fig.alt, /2000 of 3000 samples/);
  assert.match(fig.alt, /1 fall outside/);
  const bare = samplesPlot({ x: [0, 1, 2], y: [0, 1, 0] });
  assert.equal(parseSvg(bare.svg).querySelectorAll('circle').length, 3);
  assert.throws(() => samplesXY({ z: new Float32Array(3), n: 1, dim: 3 }), /2-D/);
  // No colour bar behind dots unless asked for; then one swatch per filled level (6: unfilled below).
  assert.equal(root.querySelector('g[aria-label="rule"]'), null);
  const withBar = samplesPlot(z, { background: gaussGrid(grid, [0, 0]), grid, backgroundOptions: { colorBar: true } });
  assert.equal(parseSvg(withBar.svg).querySelector('g[aria-label="rule"]')!.querySelectorAll('line').length, 6);
});

test('lossPlot: curve, the -log Z rule and its label, objective shown only when annealing', () => {
  const steps = 500;
  const h = { step: [] as number[], loss: [] as number[], freeEnergy: [] as number[], beta: [] as number[] };
  for (let i = 0; i < steps; i++) {
    const f = -1.2 + 3 * Math.exp(-i / 50) + 0.1 * Math.sin(i);
    h.step.push(i + 1);
    h.freeEnergy.push(f);
    h.beta.push(Math.min(1, 0.01 + i / 250));
    h.loss.push(f - 0.5 * (1 - h.beta[i]!));
  }
  const fig = lossPlot(h, { logZ: 1.8775, title: 'U1' });
  const root = parseSvg(fig.svg);
  const rule = root.querySelector('g[aria-label="rule"]');
  assert.ok(rule, 'a rule for -log Z');
  assert.ok(fig.svg.includes('−log Z = −1.878') || fig.svg.includes('−log Z = −1.877'), 'labelled rule');
  assert.ok(root.querySelectorAll('g[aria-label="line"]').length >= 2, 'free energy and objective lines');
  assert.ok(fig.svg.includes('objective'));
  const plain = lossPlot({ ...h, beta: h.beta.map(() => 1) });
  assert.ok(!plain.svg.includes('objective'));
  assert.ok(!parseSvg(plain.svg).querySelector('g[aria-label="rule"]'));
  // An empty history (first live update) still renders.
  assert.ok(parseSvg(lossPlot({ step: [], loss: [], freeEnergy: [] }).svg));
});

test('warpedGridPlot: two panels of lines, from a map or from lines', () => {
  const shear = (p: Float32Array) => p.map((v, i) => (i % 2 === 0 ? v + 0.5 * p[i + 1]! : v));
  const fig = warpedGridPlot(shear, { count: 5, points: 20, title: 'shear' });
  const root = parseSvg(fig.svg);
  const lines = root.querySelectorAll('g[aria-label="line"] path');
  assert.equal(lines.length, 2 * 10);
  assert.ok(fig.svg.includes('before') && fig.svg.includes('after'));
  // Axis labels: z₁, z₂ by default; the variables' names when given.
  const axisLabels = (svg: string) =>
    all(parseSvg(svg).querySelectorAll('g[aria-label$="axis label"] text')).map((t) => t.textContent);
  assert.deepEqual(axisLabels(fig.svg).sort(), ['z₁', 'z₁', 'z₂', 'z₂']);
  const named = warpedGridPlot(shear, { count: 5, points: 20, beforeAxes: ['u₁', 'u₂'], afterAxes: ['x₁', 'x₂'] });
  assert.deepEqual(axisLabels(named.svg).sort(), ['u₁', 'u₂', 'x₁', 'x₂']);
  const g = gridLines({ count: 3, points: 4 });
  assert.equal(g.lines.length, 6);
  assert.deepEqual(Array.from(mapPolylines(g.lines, shear)[0]!), Array.from(shear(g.lines[0]!)));
  assert.throws(() => warpedGridPlot({ before: g.lines, after: g.lines.slice(1) }), RangeError);
});

test('histogramWithCurve: bars and a curve; uniform samples give bars of equal height', () => {
  const xs = Array.from({ length: 5000 }, (_, i) => ((i + 0.5) / 5000) * 2); // uniform on [0, 2]
  const fig = histogramWithCurve(xs, () => 0.5, { bins: 20, xlim: [0, 2], title: 'uniform' });
  const root = parseSvg(fig.svg);
  const bars = root.querySelectorAll('g[aria-label="rect"] rect');
  assert.equal(bars.length, 20);
  const heights = Array.from(bars as ArrayLike<{ getAttribute(name: string): string | null }>, (r) =>
    Number(r.getAttribute('height')),
  );
  assert.ok(Math.max(...heights) - Math.min(...heights) < 0.5, `${heights}`);
  assert.ok(root.querySelector('g[aria-label="line"] path'));
  assert.throws(() => histogramWithCurve([], () => 0), RangeError);
});

test('smallMultiples: one SVG with each panel and its title at its offset; PNG renders', () => {
  const a = densityPlot(gaussGrid(grid, [0, 0]), { grid, title: 'left', width: 200 });
  const b = densityPlot(gaussGrid(grid, [1, 1]), { grid, title: 'right', width: 200 });
  const c = densityPlot(gaussGrid(grid, [-1, 1]), { grid, title: 'below', width: 200 });
  const fig = smallMultiples([a, b, c], { columns: 2, title: 'three' });
  const root = parseSvg(fig.svg);
  assert.equal(root.querySelectorAll('g[aria-label="contour"]').length, 3);
  for (const t of ['left', 'right', 'below', 'three']) assert.ok(fig.svg.includes(`>${t}</text>`), t);
  assert.equal(fig.width, 2 * 200 + 8);
  assert.ok(fig.height > a.height + c.height);
  assert.match(fig.svg, /transform="translate\(208,0\)"/);
  const png = toPNG(fig, { scale: 1 });
  assert.equal(png.readUInt32BE(16), fig.width);
  assert.throws(() => smallMultiples([]), RangeError);
});
