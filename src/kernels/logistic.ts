/**
 * The logistic-regression posterior (targets/logistic.ts) as a plain-array kernel: value AND
 * gradient of log p̃(θ) in one float64 loop per sample, so that the fused trainer pays one op
 * for the target instead of a matMul, a softplus and their gradients.
 *
 * With t_n = 2y_n - 1 and l_n = x̃_nᵀθ, each likelihood term is log σ(t_n l_n), and
 * d/dl log σ(l) = σ(-l). Writing a_n = t_n x̃_n (the signed design):
 *
 *   log p̃(θ) = Σ_n log σ(a_nᵀθ) - ‖θ‖²/(2s²) - (D/2) log(2πs²)
 *   ∇ log p̃(θ) = Σ_n σ(-a_nᵀθ) a_n - θ/s²
 *
 * Stable for any a, with u = |a| and f(u) = log1p(e^{-u}) (so f'(u) = -σ(-u)):
 *
 *   log σ(a) = min(a, 0) - f(|a|),   σ(-a) = -f'(a) if a ≥ 0, else 1 + f'(-a).
 *
 * f is the one transcendental per row and sample (512 × 214 of them per step for the species
 * model), so the kernel evaluates it from a table: on [0, U_MAX) in steps of 1/TABLE_STEPS, each
 * interval holds the quintic that matches f, f' and f'' at both ends (Hermite). Its error is
 * below 1e-11 (tested against Math.log1p(Math.exp(-u))), far below the float32 rounding of the
 * output, and its derivative is what the gradient uses, so value and gradient stay consistent.
 * Past U_MAX, f < 1e-17 and is taken as 0.
 *
 * Rows with the same a_n give the same term, so they are evaluated once and weighted by their
 * count c_j (the penguins' bill lengths are recorded to 0.1 mm: 214 rows, fewer distinct ones).
 * The notebook's kernel (05 §5.2) sums the rows one by one; the two agree to float32 rounding.
 */
import { LOG_2PI } from '../core/numerics';
import { registerTargetKernel, type TargetKernel } from '../targets/kernel';
import type { LogisticSpec } from '../targets/logistic';

/** f(u) = log1p(e^{-u}) is taken as 0 from here on (f(40) = 4.2e-18). */
const U_MAX = 40;
/** Table knots per unit of u: h = 1/8 gives a Hermite error ~ h⁶ max|f⁽⁶⁾|/46080 < 1e-11. */
const TABLE_STEPS = 8;

/**
 * Per interval k of [0, U_MAX), the coefficients c0..c5 of f(k h + t h) in t ∈ [0, 1): the quintic
 * with f, f' and f'' of both ends (f = log1p(e^{-u}), f' = -e/(1 + e), f'' = e/(1 + e)², e = e^{-u}).
 */
export function softplusTable(): Float64Array {
  const h = 1 / TABLE_STEPS;
  const n = U_MAX * TABLE_STEPS;
  const at = (u: number): [number, number, number] => {
    const e = Math.exp(-u);
    return [Math.log1p(e), -h * (e / (1 + e)), h * h * (e / (1 + e) ** 2)]; // f, h f', h² f''
  };
  const c = new Float64Array(6 * n);
  for (let k = 0; k < n; k++) {
    const [f0, d0, s0] = at(k * h);
    const [f1, d1, s1] = at((k + 1) * h);
    // Solve for c3..c5 from f(1), f'(1), f''(1) given c0 = f0, c1 = d0, c2 = s0/2.
    const r0 = f1 - f0 - d0 - s0 / 2;
    const r1 = d1 - d0 - s0;
    const r2 = s1 - s0;
    c.set([f0, d0, s0 / 2, 10 * r0 - 4 * r1 + r2 / 2, -15 * r0 + 7 * r1 - r2, 6 * r0 - 3 * r1 + r2 / 2], 6 * k);
  }
  return c;
}

/** The distinct rows of the signed design a_n = t_n x̃_n, row-major [J, D], with their counts [J]. */
export function signedDesignRows(spec: LogisticSpec): { A: Float64Array; count: Float64Array; J: number } {
  const { D, N, design: X, y } = spec;
  const index = new Map<string, number>();
  const rows: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < N; k++) {
    const t = y[k] === 1 ? 1 : -1;
    const a = Array.from({ length: D }, (_, d) => t * X[k * D + d]!);
    const key = a.join(',');
    const j = index.get(key);
    if (j === undefined) {
      index.set(key, counts.length);
      counts.push(1);
      rows.push(...a);
    } else counts[j]! += 1;
  }
  return { A: Float64Array.from(rows), count: Float64Array.from(counts), J: counts.length };
}

/**
 * f(u) = log1p(e^{-u}) and f'(u) into fx[0], fx[1], from the table (0 past U_MAX). A small
 * function that V8 inlines; the pair goes through `fx` so that nothing is allocated per call.
 */
function softplusAt(table: Float64Array, u: number, fx: Float64Array): void {
  if (u >= U_MAX) {
    fx[0] = 0;
    fx[1] = 0;
    return;
  }
  const x = u * TABLE_STEPS;
  const k = x | 0;
  const t = x - k;
  const o = 6 * k;
  const c1 = table[o + 1]!;
  const c2 = table[o + 2]!;
  const c3 = table[o + 3]!;
  const c4 = table[o + 4]!;
  const c5 = table[o + 5]!;
  fx[0] = table[o]! + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * c5))));
  fx[1] = TABLE_STEPS * (c1 + t * (2 * c2 + t * (3 * c3 + t * (4 * c4 + t * 5 * c5))));
}

/**
 * The kernel of a logistic posterior: for θ row-major [n, D] it writes logp[i] = log p̃(θ_i)
 * and, when grad is given, grad[i*D + d] = ∂ log p̃(θ_i)/∂θ_id.
 */
export function logisticKernel(spec: LogisticSpec): TargetKernel {
  const { D, priorStd } = spec;
  const { A, count, J } = signedDesignRows(spec);
  const invVar = 1 / priorStd ** 2; // 1/s²
  const logNormConst = -(D / 2) * (LOG_2PI + 2 * Math.log(priorStd)); // log N(0; 0, s² I_D)
  const table = softplusTable();
  const fx = new Float64Array(2); // f(|a|), f'(|a|)
  if (D === 2) return logisticKernel2(A, count, J, invVar, logNormConst, table, fx);
  const g = new Float64Array(D); // one sample's gradient, summed in float64: [D]
  return (z, n, logp, grad) => {
    for (let i = 0; i < n; i++) {
      const zi = i * D;
      let s = logNormConst;
      for (let d = 0; d < D; d++) {
        s -= 0.5 * invVar * z[zi + d]! ** 2;
        g[d] = -invVar * z[zi + d]!;
      }
      for (let j = 0; j < J; j++) {
        let a = 0; // a_jᵀθ_i
        for (let d = 0; d < D; d++) a += A[j * D + d]! * z[zi + d]!;
        softplusAt(table, Math.abs(a), fx);
        const c = count[j]!;
        s += c * (Math.min(a, 0) - fx[0]!); // c_j log σ(a)
        const w = c * (a >= 0 ? -fx[1]! : 1 + fx[1]!); // c_j σ(-a)
        for (let d = 0; d < D; d++) g[d]! += w * A[j * D + d]!;
      }
      logp[i] = s;
      if (grad) for (let d = 0; d < D; d++) grad[zi + d] = g[d]!;
    }
  };
}

/**
 * The same kernel for D = 2 (intercept + one feature, the species model), with the inner loops
 * over d written out: 0.68 against 0.99 ms per call of 512 samples with the general loops
 * (species model, 132 distinct rows; measured back to back, load average 3.2 on 2 cores).
 */
function logisticKernel2(
  A: Float64Array,
  count: Float64Array,
  J: number,
  invVar: number,
  logNormConst: number,
  table: Float64Array,
  fx: Float64Array,
): TargetKernel {
  return (z, n, logp, grad) => {
    for (let i = 0; i < n; i++) {
      const z0 = z[2 * i]!;
      const z1 = z[2 * i + 1]!;
      let s = logNormConst - 0.5 * invVar * (z0 * z0 + z1 * z1);
      let g0 = -invVar * z0;
      let g1 = -invVar * z1;
      for (let j = 0; j < J; j++) {
        const a0 = A[2 * j]!;
        const a1 = A[2 * j + 1]!;
        const a = a0 * z0 + a1 * z1;
        softplusAt(table, Math.abs(a), fx);
        const c = count[j]!;
        s += c * (Math.min(a, 0) - fx[0]!);
        const w = c * (a >= 0 ? -fx[1]! : 1 + fx[1]!);
        g0 += w * a0;
        g1 += w * a1;
      }
      logp[i] = s;
      if (grad) {
        grad[2 * i] = g0;
        grad[2 * i + 1] = g1;
      }
    }
  };
}

registerTargetKernel<LogisticSpec>('logistic', logisticKernel);
