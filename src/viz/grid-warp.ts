/**
 * {@link warpedGridPlot}: a 2-D map shown as a grid before and after it; {@link gridLines} and
 * {@link mapPolylines} make and push the lines.
 */
import { plotFigure, type Figure, type FigureMeta } from './figure';
import { axes2D, checkInterval, finiteExtent, padded, quantile, BLUE, ORANGE, type Interval } from './axes';
import { smallMultiples } from './multiples';

/** A polyline, interleaved [x0, y0, x1, y1, ...]. */
export type Polyline = ArrayLike<number>;

/** Lines of a square grid: `family[i]` says whether `lines[i]` is a vertical or horizontal line. */
export interface GridLines {
  lines: Float32Array[];
  family: ('vertical' | 'horizontal')[];
}

/** Options of {@link gridLines}. */
export interface GridLinesOptions {
  /** Range of both axes (default [-3, 3]). */
  lim?: Interval;
  /** Lines per direction (default 13). */
  count?: number;
  /** Points per line (default 100: smooth after a nonlinear map). */
  points?: number;
}

/** Vertical and horizontal lines of a grid over lim², to push through a 2-D map. */
export function gridLines(options: GridLinesOptions = {}): GridLines {
  const lim = options.lim ?? [-3, 3];
  checkInterval('lim', lim);
  const count = options.count ?? 13;
  const points = options.points ?? 100;
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`count must be an integer ≥ 2, got ${count}`);
  if (!Number.isInteger(points) || points < 2) throw new RangeError(`points must be an integer ≥ 2, got ${points}`);
  const at = (k: number, m: number) => lim[0] + ((lim[1] - lim[0]) * k) / (m - 1);
  const out: GridLines = { lines: [], family: [] };
  for (const family of ['vertical', 'horizontal'] as const) {
    for (let k = 0; k < count; k++) {
      const line = new Float32Array(points * 2);
      for (let j = 0; j < points; j++) {
        line[2 * j + (family === 'vertical' ? 0 : 1)] = at(k, count);
        line[2 * j + (family === 'vertical' ? 1 : 0)] = at(j, points);
      }
      out.lines.push(line);
      out.family.push(family);
    }
  }
  return out;
}

/**
 * Push polylines through a 2-D map in one call: `map` gets all points interleaved
 * ([n*2], e.g. to make one tensor of them) and returns the mapped points in the same layout.
 */
export function mapPolylines(lines: Polyline[], map: (points: Float32Array) => ArrayLike<number>): Float32Array[] {
  const total = lines.reduce((s, l) => s + l.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const l of lines) {
    all.set(l, off);
    off += l.length;
  }
  const mapped = map(all);
  if (mapped.length !== total) throw new RangeError(`map returned ${mapped.length} numbers for ${total}`);
  const out: Float32Array[] = [];
  off = 0;
  for (const l of lines) {
    out.push(Float32Array.from({ length: l.length }, (_, i) => mapped[off + i]!));
    off += l.length;
  }
  return out;
}

/** Options of {@link warpedGridPlot}. */
export interface WarpedGridOptions extends GridLinesOptions, FigureMeta {
  /** Width of each of the two panels, px (default 300). */
  panelWidth?: number;
  /** Window of the "after" panel (default: the mapped lines' central 98%, padded). */
  afterLim?: { xlim: Interval; ylim: Interval };
  /** Panel titles (default "before" and "after"). */
  labels?: [string, string];
  /** Axis labels [x, y] of the "before" panel (default ['z₁', 'z₂']), e.g. ['u₁', 'u₂']. */
  beforeAxes?: [string, string];
  /** Axis labels [x, y] of the "after" panel (default ['z₁', 'z₂']), e.g. ['x₁', 'x₂']. */
  afterAxes?: [string, string];
}

/** Lines before and after a map, with the family of each (colours verticals and horizontals apart). */
export interface WarpedLines {
  before: Polyline[];
  after: Polyline[];
  family?: ('vertical' | 'horizontal')[];
}

function linesPanel(
  lines: Polyline[],
  family: ('vertical' | 'horizontal')[] | undefined,
  xlim: Interval,
  ylim: Interval,
  width: number,
  title: string,
  axes: [string, string] = ['z₁', 'z₂'],
): Figure {
  // One row per point with a line id; NaN rows break lines where the map diverged.
  const rows: { x: number; y: number; id: number }[] = [];
  lines.forEach((l, id) => {
    for (let j = 0; j + 1 < l.length; j += 2) rows.push({ x: l[j]!, y: l[j + 1]!, id });
  });
  return plotFigure(
    (Plot) => ({
      ...axes2D({ width, xLabel: axes[0], yLabel: axes[1] }, xlim, ylim),
      marks: [
        Plot.line(rows, {
          x: 'x',
          y: 'y',
          z: 'id',
          stroke: (r: { id: number }) =>
            (family?.[r.id] ?? (r.id < lines.length / 2 ? 'vertical' : 'horizontal')) === 'vertical' ? BLUE : ORANGE,
          strokeWidth: 1,
          clip: true,
        }),
        Plot.frame({ stroke: '#444' }),
      ],
    }),
    { title, alt: `${title}: ${lines.length} grid lines` },
  );
}

/**
 * A 2-D map shown as a grid before and after it, side by side (verticals blue, horizontals
 * orange), axes labelled z₁, z₂ unless `beforeAxes`/`afterAxes` name the variables. Pass the
 * map itself — `(points interleaved [n*2]) => mapped points` — and the grid
 * is made with {@link gridLines}; or pass `{before, after, family}` lines you mapped yourself.
 *
 * @example show(warpedGridPlot((p) => tf.tidy(() => flow.forward(tf.tensor2d(p, [p.length / 2, 2])).z.dataSync()), {lim: [-3, 3]}))
 */
export function warpedGridPlot(
  mapOrLines: ((points: Float32Array) => ArrayLike<number>) | WarpedLines,
  options: WarpedGridOptions = {},
): Figure {
  let w: WarpedLines;
  if (typeof mapOrLines === 'function') {
    const g = gridLines(options);
    w = { before: g.lines, after: mapPolylines(g.lines, mapOrLines), family: g.family };
  } else {
    w = mapOrLines;
    if (w.before.length !== w.after.length)
      throw new RangeError(`before has ${w.before.length} lines, after ${w.after.length}`);
  }
  const flat = (ls: Polyline[], axis: 0 | 1) => {
    const out: number[] = [];
    for (const l of ls) for (let j = axis; j < l.length; j += 2) out.push(l[j]!);
    return out;
  };
  const beforeLim = (axis: 0 | 1) => padded(finiteExtent(flat(w.before, axis)), 0.05);
  const afterAxis = (axis: 0 | 1): Interval => {
    const v = flat(w.after, axis);
    const lim: Interval = [quantile(v, 0.01), quantile(v, 0.99)];
    if (!Number.isFinite(lim[0]) || !(lim[1] > lim[0])) return beforeLim(axis);
    return padded(lim, 0.08);
  };
  const width = options.panelWidth ?? 300;
  const [l0, l1] = options.labels ?? ['before', 'after'];
  const a = linesPanel(w.before, w.family, beforeLim(0), beforeLim(1), width, l0, options.beforeAxes);
  const b = linesPanel(
    w.after,
    w.family,
    options.afterLim?.xlim ?? afterAxis(0),
    options.afterLim?.ylim ?? afterAxis(1),
    width,
    l1,
    options.afterAxes,
  );
  return smallMultiples([a, b], {
    columns: 2,
    title: options.title,
    caption: options.caption,
    alt:
      options.alt ??
      `${options.title ?? 'Warped grid'}: ${w.before.length} grid lines before (left) and after (right) the map.`,
  });
}
