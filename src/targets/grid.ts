/**
 * Regular 2-D grids: midpoints, log p̃ on them, and the midpoint-rule quadrature of log Z that
 * gives the 2-D targets their known log Z values.
 */
import { tf } from '../core/backend';
import { logMeanExp } from '../core/numerics';
import { checkInterval, checkLogProbShape, checkPositiveInt } from '../core/validate';
import type { LogProbFn } from './energies';

export interface Grid2D {
  /** Grid limits [lo, hi] per axis and points per axis. */
  xlim: [number, number];
  ylim: [number, number];
  nx: number;
  ny: number;
}

/** Midpoint coordinates of a 2-D grid, row-major (y outer, x inner): [nx*ny*2]. */
export function gridPoints(g: Grid2D): Float32Array {
  const pts = new Float32Array(g.nx * g.ny * 2);
  const hx = (g.xlim[1] - g.xlim[0]) / g.nx;
  const hy = (g.ylim[1] - g.ylim[0]) / g.ny;
  for (let j = 0; j < g.ny; j++) {
    for (let i = 0; i < g.nx; i++) {
      const p = (j * g.nx + i) * 2;
      pts[p] = g.xlim[0] + (i + 0.5) * hx;
      pts[p + 1] = g.ylim[0] + (j + 0.5) * hy;
    }
  }
  return pts;
}

/** A grid must have integer nx, ny >= 1 and finite limits lo < hi. */
export function checkGrid(g: Grid2D): void {
  if (g === null || typeof g !== 'object') throw new TypeError(`grid must be { xlim, ylim, nx, ny }, got ${String(g)}`);
  checkPositiveInt('nx', g.nx);
  checkPositiveInt('ny', g.ny);
  for (const name of ['xlim', 'ylim'] as const) {
    if (g[name] === undefined) throw new RangeError(`grid.${name} must be [lo, hi], got undefined`);
    checkInterval(name, g[name]);
  }
}

/** log p̃ on the midpoints of a 2-D grid: Float32Array [ny*nx] (y outer). */
export function logProbOnGrid(logProb: LogProbFn, g: Grid2D, chunk = 100000): Float32Array {
  checkGrid(g);
  const pts = gridPoints(g);
  const n = g.nx * g.ny;
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const lp = tf.tidy(() => logProb(tf.tensor2d(pts.subarray(start * 2, (start + m) * 2), [m, 2])));
    checkLogProbShape(lp, m);
    out.set(lp.dataSync(), start);
    lp.dispose();
  }
  return out;
}

/**
 * log ∫ p̃ over a 2-D box by the midpoint rule: log Σ p̃(x_ij) + log(hx hy), summed in float64.
 * The box must hold essentially all the mass (U1 and U2-U4 + window: [-6, 6]²; + normflows: [-24, 24]×[-10, 10]).
 */
export function quadratureLogZ(logProb: LogProbFn, g: Grid2D): number {
  const lp = logProbOnGrid(logProb, g);
  const hx = (g.xlim[1] - g.xlim[0]) / g.nx;
  const hy = (g.ylim[1] - g.ylim[0]) / g.ny;
  return logMeanExp(lp) + Math.log(lp.length * hx * hy);
}

export interface DensityField {
  /** Points where the density is known: x, y, log q. */
  x: Float32Array;
  y: Float32Array;
  logDensity: Float32Array;
  /** True when (x, y) is the regular grid asked for; false for a pushed-forward grid. */
  regular: boolean;
}
