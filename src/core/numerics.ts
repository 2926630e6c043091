/**
 * Scalar numerics shared by the library, in float64: one home for each formula.
 */

/** log 2π, the Gaussian normaliser's constant. */
export const LOG_2PI = Math.log(2 * Math.PI);

/** log mean exp(x), stable, in float64. */
export function logMeanExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s / x.length);
}

