/**
 * Argument checks that name the offending parameter, so that a student who types `K: 0`
 * reads "K must be an integer >= 1, got 0" instead of a shape error deep inside tfjs.
 */
import type * as tfTypes from '@tensorflow/tfjs';

/** A value as an error message shows it: strings quoted and marked, so `K: '3'` is not "got 3". */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
  return Object.prototype.toString.call(value);
}

export function checkPositiveInt(name: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${describeValue(value)}`);
  }
  return value;
}

export function checkFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number, got ${describeValue(value)}`);
  }
  return value;
}

export function checkPositive(name: string, value: unknown): number {
  checkFinite(name, value);
  if ((value as number) <= 0) throw new RangeError(`${name} must be > 0, got ${String(value)}`);
  return value as number;
}

/** Largest seed: the generator's state is 32 bits, so larger seeds would wrap onto smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;

/** A seed: an integer in [0, MAX_SEED] (never floored or wrapped in silence). */
export function checkSeed(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) {
    throw new RangeError(`${name} must be an integer in [0, ${MAX_SEED}], got ${describeValue(value)}`);
  }
  return value;
}

/** A number in [lo, hi]. */
export function checkInRange(name: string, value: unknown, lo: number, hi: number): number {
  checkFinite(name, value);
  if ((value as number) < lo || (value as number) > hi)
    throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${String(value)}`);
  return value as number;
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new RangeError(
      `${name} must be one of ${allowed.join(', ')}; got ${typeof value === 'string' ? `"${value}"` : describeValue(value)}`,
    );
  }
  return value as T;
}

/** z must be a rank-2 tensor [N, dim]. */
export function checkBatch(name: string, z: tfTypes.Tensor, dim: number): void {
  if (z.rank !== 2) {
    throw new RangeError(
      `${name} must be a rank-2 tensor [N, ${dim}], got rank ${z.rank} (shape [${z.shape.join(', ')}])`,
    );
  }
  if (z.shape[1] !== dim) {
    throw new RangeError(`${name} must have ${dim} columns (shape [N, ${dim}]), got shape [${z.shape.join(', ')}]`);
  }
}

/** A target's logProb must return one value per row: [m]. */
export function checkLogProbShape(lp: tfTypes.Tensor, m: number): void {
  if (lp === null || typeof lp !== 'object' || typeof (lp as { dispose?: unknown }).dispose !== 'function')
    throw new TypeError(`target.logProb must return a tensor of shape [${m}], got ${typeof lp}`);
  if (lp.rank !== 1 || lp.shape[0] !== m) {
    const shape = lp.shape.join(', ');
    lp.dispose();
    throw new RangeError(`target.logProb must return shape [${m}] (one value per row), got [${shape}]`);
  }
}

/** Throws unless lim is undefined or [lo, hi] with finite lo < hi. */
export function checkInterval(name: string, lim: readonly [number, number] | undefined): void {
  if (lim === undefined) return;
  if (
    !Array.isArray(lim) ||
    lim.length !== 2 ||
    !Number.isFinite(lim[0]) ||
    !Number.isFinite(lim[1]) ||
    !(lim[1] > lim[0])
  ) {
    throw new RangeError(`${name} must be [lo, hi] with finite lo < hi, got ${JSON.stringify(lim)}`);
  }
}
