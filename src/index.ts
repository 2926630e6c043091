/**
 * normalizing-flows-ts: planar and Sylvester flows on TensorFlow.js — the maths API.
 *
 * Flows, targets, training, diagnostics, the notebooks' checks, data and numerics. Figures,
 * tables and notebook display are the second entry point, `dist/viz` (src/viz/index.ts). The
 * fast-path kernels (src/kernels) and the training loop's internals are not part of the API.
 */
// The fast path: every kernel registers itself against its flow or target on import.
import './kernels';

export * from './core/backend';
export * from './core/random';
export * from './core/lattice';
export * from './core/validate';
export * from './core/stop';
export * from './core/checks';
export * from './core/numerics';
export * from './flows/flow';
export * from './flows/compose';
export * from './flows/base';
export * from './flows/planar';
export * from './flows/sylvester';
export * from './flows/coupling';
export * from './flows/spline';
export * from './flows/spline-coupling';
export * from './flows/spline-autoregressive';
export * from './flows/affine';
export * from './flows/made';
export * from './flows/autoregressive';
export * from './flows/maf';
export * from './flows/iaf';
export * from './flows/factory';
export * from './flows/kernel';
export * from './targets/target';
export * from './targets/energies';
export * from './targets/kernel';
export * from './targets/grid';
export * from './targets/data';
export * from './targets/logistic';
export * from './targets/penguins';
export * from './targets/moons';
export * from './train/loss';
export * from './train/train';
export * from './train/mle';
export * from './train/gmm';
export * from './diagnostics/evaluate';
export * from './diagnostics/moments';
export * from './diagnostics/predictive';
export * from './diagnostics/ks';
export * from './diagnostics/kl-chain';
