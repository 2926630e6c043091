/**
 * Masked Autoregressive Flow (MAF; Papamakarios, Pavlakou & Murray 2017), the density direction.
 *
 * Each layer models the data autoregressively, x_d = u_d e^{α_d(x_<d)} + μ_d(x_<d), with μ and α
 * from one MADE (made.ts) reading the data side x. So the data -> base map of a layer is one pass,
 *
 *   u_d = (x_d - μ_d(x_<d)) e^{-α_d(x_<d)},   log|det ∂u/∂x| = -Σ_d α_d(x_<d)
 *
 * (the paper's u_i = (x_i - μ_i) exp(-α_i)), so the log-likelihood of a whole batch,
 * log q(x) = log q0(f⁻¹(x)) + log|det J_{f⁻¹}(x)|, costs K MADE passes: what maximum likelihood
 * (`trainMaxLikelihood`) needs.
 * Sampling (`forward`, base -> data) must build x one coordinate after the other: D passes per
 * layer. K layers are stacked with the variable order reversed between them.
 */
import { AutoregressiveFlow, type AutoregressiveOptions, type ConditionedOn } from './autoregressive';

export type MafOptions = AutoregressiveOptions;

export class MaskedAutoregressiveFlow extends AutoregressiveFlow {
  /** μ, α read the data side x: the density (inverseWithLogDet) is the one-pass direction. */
  protected readonly conditionedOn: ConditionedOn = 'data';

  constructor(options: MafOptions = {}) {
    super('maf', options);
  }
}
