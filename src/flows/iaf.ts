/**
 * Inverse Autoregressive Flow (IAF; Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling 2016),
 * the sampling direction.
 *
 * Each layer's μ and α come from one MADE (made.ts) reading the base side z, so the base -> data
 * map of a layer is one pass (the paper's z_t = μ_t + σ_t ⊙ z_{t-1}, with σ = e^{α}):
 *
 *   x_d = z_d e^{α_d(z_<d)} + μ_d(z_<d),   log|det ∂x/∂z| = Σ_d α_d(z_<d)
 *
 * That is what the reverse KL (`train`) needs: samples and their density in K passes. The density
 * of a given x (`inverseWithLogDet`) must recover z one coordinate after the other: D passes per
 * layer. K layers are stacked with the variable order reversed between them.
 */
import { AutoregressiveFlow, type AutoregressiveOptions, type ConditionedOn } from './autoregressive';

export type IafOptions = AutoregressiveOptions;

export class InverseAutoregressiveFlow extends AutoregressiveFlow {
  /** μ, α read the base side z: sampling (forward) is the one-pass direction. */
  protected readonly conditionedOn: ConditionedOn = 'base';

  constructor(options: IafOptions = {}) {
    super('iaf', options);
  }
}
