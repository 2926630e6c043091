/**
 * Build a flow by name, as the CLI and the notebooks' hyper-parameter cells do.
 */
import { CouplingFlow } from './coupling';
import type { Flow } from './flow';
import { PlanarFlow } from './planar';
import { SYLVESTER_VARIANTS, SylvesterFlow, type SylvesterVariant } from './sylvester';
import { checkOneOf } from '../core/validate';

export const FLOW_NAMES = ['planar', 'sylvester', 'coupling'] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

export interface FlowSpec {
  flow: FlowName | string;
  K: number;
  dim?: number;
  /** Sylvester only. */
  M?: number;
  variant?: SylvesterVariant | string;
  seed?: number;
  initScale?: number;
  /** Coupling only: hidden units of each layer's MLP. */
  hidden?: number;
}

export function makeFlow(spec: FlowSpec): Flow {
  const name = checkOneOf('flow', spec.flow, FLOW_NAMES);
  if (name === 'planar') {
    return new PlanarFlow({ dim: spec.dim, K: spec.K, seed: spec.seed, initScale: spec.initScale });
  }
  if (name === 'coupling') {
    return new CouplingFlow({ dim: spec.dim, K: spec.K, hidden: spec.hidden, seed: spec.seed });
  }
  const variant = checkOneOf('variant', spec.variant ?? 'orthogonal', SYLVESTER_VARIANTS);
  return new SylvesterFlow({
    dim: spec.dim,
    K: spec.K,
    M: spec.M,
    variant,
    seed: spec.seed,
    initScale: spec.initScale,
  });
}
