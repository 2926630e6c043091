/**
 * Build a flow by name, as the CLI and the notebooks' hyper-parameter cells do.
 */
import { CouplingFlow, type InvertibleFlow } from './coupling';
import type { Flow } from './flow';
import { InverseAutoregressiveFlow } from './iaf';
import { MaskedAutoregressiveFlow } from './maf';
import { PlanarFlow } from './planar';
import { SplineAutoregressiveFlow } from './spline-autoregressive';
import { SplineCouplingFlow } from './spline-coupling';
import { SYLVESTER_VARIANTS, SylvesterFlow, type SylvesterVariant } from './sylvester';
import { checkOneOf } from '../core/validate';

export const FLOW_NAMES = ['planar', 'sylvester', 'coupling', 'maf', 'iaf', 'nsf', 'nsf-ar', 'nsf-iaf'] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

/** Flows with an inverse and its log-det: they give densities of data (maximum likelihood). */
export const DENSITY_FLOW_NAMES = ['coupling', 'maf', 'iaf', 'nsf', 'nsf-ar', 'nsf-iaf'] as const;
export type DensityFlowName = (typeof DENSITY_FLOW_NAMES)[number];

/** Flows whose layers are MLPs (MADEs, couplings): they take `hidden`. */
export const HIDDEN_FLOW_NAMES = DENSITY_FLOW_NAMES;

/**
 * Which direction each flow computes in one pass per layer: 'sample' (base -> data, f),
 * 'density' (data -> base, f⁻¹ with its log-det) or both. The other takes D passes per layer
 * (maf and nsf-ar sample, iaf and nsf-iaf densities) or does not exist (planar, sylvester have no closed-form inverse).
 */
export const FLOW_FAST_DIRECTION: Readonly<Record<FlowName, 'sample' | 'density' | 'both'>> = {
  planar: 'sample',
  sylvester: 'sample',
  coupling: 'both',
  maf: 'density',
  iaf: 'sample',
  nsf: 'both',
  'nsf-ar': 'density',
  'nsf-iaf': 'sample',
};

export interface FlowSpec {
  flow: FlowName | string;
  K: number;
  dim?: number;
  /** Sylvester only. */
  M?: number;
  variant?: SylvesterVariant | string;
  seed?: number;
  initScale?: number;
  /** coupling, maf, iaf, nsf, nsf-ar, nsf-iaf: hidden units of each layer's MLP (MADE). */
  hidden?: number;
  /** nsf, nsf-ar, nsf-iaf: bins of each rational-quadratic spline. */
  bins?: number;
  /** nsf, nsf-ar, nsf-iaf: the splines act on [-bound, bound], the identity outside (default 3). */
  bound?: number;
}

/** A density flow (coupling, maf, iaf, nsf, nsf-ar, nsf-iaf) by name: it has `inverseWithLogDet`. */
export function makeFlow(spec: FlowSpec & { flow: DensityFlowName }): InvertibleFlow;
export function makeFlow(spec: FlowSpec): Flow;
export function makeFlow(spec: FlowSpec): Flow {
  const name = checkOneOf('flow', spec.flow, FLOW_NAMES);
  const { dim, K, seed, hidden } = spec;
  const spline = { bins: spec.bins, bound: spec.bound };
  if (name === 'planar') return new PlanarFlow({ dim, K, seed, initScale: spec.initScale });
  if (name === 'coupling') return new CouplingFlow({ dim, K, hidden, seed });
  if (name === 'maf') return new MaskedAutoregressiveFlow({ dim, K, hidden, seed });
  if (name === 'iaf') return new InverseAutoregressiveFlow({ dim, K, hidden, seed });
  if (name === 'nsf') return new SplineCouplingFlow({ dim, K, hidden, seed, ...spline });
  if (name === 'nsf-ar') return new SplineAutoregressiveFlow({ dim, K, hidden, seed, ...spline });
  if (name === 'nsf-iaf')
    return new SplineAutoregressiveFlow({ dim, K, hidden, seed, ...spline, conditionedOn: 'base' });
  const variant = checkOneOf('variant', spec.variant ?? 'orthogonal', SYLVESTER_VARIANTS);
  return new SylvesterFlow({ dim, K, M: spec.M, variant, seed, initScale: spec.initScale });
}
