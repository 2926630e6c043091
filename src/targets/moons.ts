/**
 * Two moons: a small seeded 2-D data set with sharp features (scikit-learn's `make_moons`, drawn
 * with the library's Rng so that the same seed gives the same points on every backend).
 *
 * Half the points lie on the upper half-circle of radius 1 around (0, 0), half on the lower
 * half-circle of radius 1 around (1, 0.5), each at a uniform angle t ∈ [0, π]:
 *
 *   upper moon:  (cos t, sin t)
 *   lower moon:  (1 - cos t, 0.5 - sin t)
 *
 * plus isotropic N(0, noise²) noise on both coordinates. Point i is on the upper moon for even i
 * and the lower one for odd i (the moons interleave, so any prefix is balanced).
 */
import { Rng } from '../core/random';
import { checkFinite, checkPositiveInt, checkSeed } from '../core/validate';

/** Default sd of the noise: the moons stay apart (scikit-learn's examples use 0.05-0.1). */
export const MOONS_DEFAULT_NOISE = 0.05;

/** The centres of the two half-circles (radius 1): upper moon, lower moon. */
export const MOON_CENTRES: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 0.5],
];

export interface MoonsOptions {
  /** Sd of the Gaussian noise on each coordinate (default {@link MOONS_DEFAULT_NOISE}; 0 = exact). */
  noise?: number;
  /** Seed of the angles and the noise (default 0). */
  seed?: number;
}

/** n points of two interleaving half-circles with noise, row-major: Float32Array [n, 2]. */
export function twoMoons(n: number, options: MoonsOptions = {}): Float32Array {
  checkPositiveInt('n', n);
  const noise = checkFinite('noise', options.noise ?? MOONS_DEFAULT_NOISE);
  if (noise < 0) throw new RangeError(`noise must be >= 0, got ${noise}`);
  const rng = new Rng(checkSeed('seed', options.seed ?? 0));
  const x = new Float32Array(2 * n); // [n, 2]
  for (let i = 0; i < n; i++) {
    const t = Math.PI * rng.uniform(); // angle on the half-circle
    const upper = i % 2 === 0;
    const [cx, cy] = MOON_CENTRES[upper ? 0 : 1]!;
    const sign = upper ? 1 : -1; // the lower moon is the upper one turned by π
    x[2 * i] = cx + sign * Math.cos(t) + noise * rng.normal();
    x[2 * i + 1] = cy + sign * Math.sin(t) + noise * rng.normal();
  }
  return x;
}
