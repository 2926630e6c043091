/**
 * Fast target kernels attach by registration (see src/flows/kernel.ts for flows). A target
 * carries a data-only `spec` ({ kind: 'energy', key: 'U1', ... }); `src/kernels/` registers,
 * per kind, a builder of the plain-array value-and-gradient kernel. No target imports a kernel.
 */

/**
 * Value and gradient of log p̃ in typed-array loops: for z (row-major [N, D]) write
 * logp[n] and grad[n*D + d] = ∂ log p̃(z_n) / ∂ z_nd (grad may be null: values only).
 */
export interface TargetKernel {
  (z: Float32Array, n: number, logp: Float32Array, grad: Float32Array | null): void;
}

/**
 * What a kernel is built from: plain data, tagged by `kind`; the other fields are the kind's
 * own (e.g. { kind: 'energy', key: 'U1', domain: 'none' }).
 */
export interface TargetSpec {
  readonly kind: string;
  readonly [field: string]: unknown;
}

const registry = new Map<string, (spec: TargetSpec) => TargetKernel>();
const cache = new WeakMap<TargetSpec, TargetKernel>();

/** Register the kernel builder for targets whose spec has this `kind`. */
export function registerTargetKernel<S extends TargetSpec>(kind: S['kind'], build: (spec: S) => TargetKernel): void {
  registry.set(kind, build as (spec: TargetSpec) => TargetKernel);
}

/** The kernel for a target's spec, built on first use and cached; undefined when none is registered. */
export function targetKernelOf(target: { readonly spec?: TargetSpec }): TargetKernel | undefined {
  const spec = target.spec;
  if (!spec) return undefined;
  const cached = cache.get(spec);
  if (cached) return cached;
  const build = registry.get(spec.kind);
  if (!build) return undefined;
  const k = build(spec);
  cache.set(spec, k);
  return k;
}
