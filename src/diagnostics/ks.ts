/**
 * Do two samples come from the same 1-D distribution? The two-sample Kolmogorov–Smirnov test:
 * the largest gap between the two empirical CDFs,
 *
 *   D = sup_x |F_a(x) - F_b(x)|,   F_a(x) = #{a_i <= x} / n,   F_b(x) = #{b_j <= x} / m,
 *
 * rejected at level α when D exceeds the asymptotic critical value (Smirnov 1948)
 *
 *   D_α = c(α) √((n + m) / (n m)),   c(α) = √(-½ ln(α / 2))   (c(0.05) = 1.358, c(0.01) = 1.628).
 *
 * Notebook 07 uses it to compare the marginals of a flow's synthetic data with held-out data.
 */
import { checkFinite } from '../core/validate';

export interface KSTest {
  /** D = sup_x |F_a(x) - F_b(x)| ∈ [0, 1] */
  D: number;
  /** The critical value D_α at the level asked for */
  critical: number;
  /** D > D_α: the samples differ at level α */
  reject: boolean;
}

/** Sorted float64 copy of `v`, every value checked finite (`name` in the message). */
function sortedCopy(name: string, v: ArrayLike<number>): Float64Array {
  if (v.length === 0) throw new RangeError(`${name} must hold at least one value, got none`);
  const s = Float64Array.from(v);
  s.forEach((x, i) => checkFinite(`${name}[${i}]`, x));
  return s.sort();
}

/** The two-sample Kolmogorov–Smirnov test of `a` against `b` at level `alpha` (default 0.01). */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, alpha = 0.01): KSTest {
  checkFinite('alpha', alpha);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const A = sortedCopy('a', a);
  const B = sortedCopy('b', b);
  const [n, m] = [A.length, B.length];
  // Walk both sorted samples; after all values <= x are counted, compare the two CDFs at x.
  let i = 0;
  let j = 0;
  let D = 0;
  while (i < n && j < m) {
    const x = Math.min(A[i]!, B[j]!);
    while (i < n && A[i]! <= x) i++;
    while (j < m && B[j]! <= x) j++;
    D = Math.max(D, Math.abs(i / n - j / m));
  }
  const critical = Math.sqrt(-0.5 * Math.log(alpha / 2)) * Math.sqrt((n + m) / (n * m));
  return { D, critical, reject: D > critical };
}
