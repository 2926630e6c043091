/**
 * The logistic-regression posterior (targets/logistic.ts) as a plain-JS kernel: value AND
 * gradient of log p̃(θ) in one float64 loop per sample, so that the fused trainer pays one op
 * for the target instead of a matMul, a softplus and their gradients.
 *
 * With t_n = 2y_n - 1 and l_n = x̃_nᵀθ, each likelihood term is log σ(t_n l_n), and
 * d/dl log σ(l) = σ(-l):
 *
 *   log p̃(θ) = Σ_n log σ(t_n l_n) - ‖θ‖²/(2s²) - (D/2) log(2πs²)
 *   ∇ log p̃(θ) = Σ_n t_n σ(-t_n l_n) x̃_n - θ/s²
 *
 * Stable for any |tl|: with e = exp(-|tl|) ≤ 1,
 *
 *   log σ(tl) = min(tl, 0) - log1p(e),   σ(-tl) = e/(1 + e) if tl ≥ 0, else 1/(1 + e).
 *
 * The same arithmetic, in the same order, as the kernel derived in notebook 05 (§5.2), so that
 * the two agree to the last bit.
 */
import { LOG_2PI } from '../core/numerics';
import { registerTargetKernel, type TargetKernel } from '../targets/kernel';
import type { LogisticSpec } from '../targets/logistic';

/**
 * The kernel of a logistic posterior: for θ row-major [n, D] it writes logp[i] = log p̃(θ_i)
 * and, when grad is given, grad[i*D + d] = ∂ log p̃(θ_i)/∂θ_id.
 */
export function logisticKernel(spec: LogisticSpec): TargetKernel {
  const { D, N, design: X, y, priorStd } = spec;
  const invVar = 1 / priorStd ** 2; // 1/s²
  const logNormConst = -(D / 2) * (LOG_2PI + 2 * Math.log(priorStd)); // log N(0; 0, s² I_D)
  return (z, n, logp, grad) => {
    for (let i = 0; i < n; i++) {
      let s = logNormConst;
      for (let d = 0; d < D; d++) {
        s -= 0.5 * invVar * z[i * D + d]! ** 2;
        if (grad) grad[i * D + d] = -invVar * z[i * D + d]!;
      }
      for (let k = 0; k < N; k++) {
        let l = 0; // l = x̃_kᵀθ_i
        for (let d = 0; d < D; d++) l += X[k * D + d]! * z[i * D + d]!;
        const sign = y[k] === 1 ? 1 : -1; // t_k
        const tl = sign * l;
        const e = Math.exp(-Math.abs(tl)); // ≤ 1 for any tl
        s += Math.min(tl, 0) - Math.log1p(e); // log σ(tl)
        if (grad) {
          const sigNeg = tl >= 0 ? e / (1 + e) : 1 / (1 + e); // σ(-tl)
          for (let d = 0; d < D; d++) grad[i * D + d]! += sign * sigNeg * X[k * D + d]!;
        }
      }
      logp[i] = s;
    }
  };
}

registerTargetKernel<LogisticSpec>('logistic', logisticKernel);
