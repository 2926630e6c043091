/** normalizing-flows-ts: planar and Sylvester flows on TensorFlow.js. */
export * from './backend';
export * from './random';
export * from './validate';
export * from './base';
export * from './targets';
export * from './flow';
export * from './planar';
export * from './sylvester';
export * from './loss';
export * from './stop';
export * from './train';
export * from './diagnostics';
export * from './factory';
