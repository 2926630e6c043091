/**
 * What a target is: a function `z: [N, D] -> log p̃(z): [N]` with a name and a dimension,
 * optionally its log Z and a data-only `spec` from which src/kernels/ builds a fast kernel
 * (see kernel.ts).
 */
import type { tf } from '../core/backend';
import { checkPositiveInt, describeValue } from '../core/validate';
import type { TargetSpec } from './kernel';

/** log p̃: z [N, D] -> [N]. */
export type LogProbFn = (z: tf.Tensor2D) => tf.Tensor1D;

export interface Target {
  readonly name: string;
  readonly dim: number;
  /** log p̃(z) = -U(z), z: [N, D] -> [N]. */
  logProb: LogProbFn;
  /** log ∫ p̃(z) dz when known (float64 quadrature), else undefined. */
  readonly logZ?: number;
  /**
   * What a fast kernel is built from (plain data, e.g. { kind: 'energy', key: 'U1', domain:
   * 'none' }); the fused path uses the kernel registered for `spec.kind`, if any.
   */
  readonly spec?: TargetSpec;
}

/**
 * Wrap a plain function `z -> log p̃(z)` as a Target of dimension `dim`; a Target is checked
 * (logProb a function, dim an integer >= 1) and returned as it is.
 */
export function asTarget(target: Target | LogProbFn, dim = 2, name = 'custom'): Target {
  if (typeof target === 'function') return { name, dim: checkPositiveInt('dim', dim), logProb: target };
  if (typeof target !== 'object' || target === null || typeof target.logProb !== 'function') {
    const got =
      target === null ? 'null' : typeof target === 'object' ? 'an object without logProb' : describeValue(target);
    throw new TypeError(`target must be a function z -> log p̃(z) or an object { name, dim, logProb(z) }, got ${got}`);
  }
  checkPositiveInt('target.dim', target.dim);
  return target;
}
