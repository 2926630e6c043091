/**
 * Randomised quasi-Monte Carlo (RQMC) base samples: a rank-1 lattice with a random shift, pushed
 * through the normal quantile Φ⁻¹.
 *
 * Reverse-KL training estimates E_z[∇(log q - log p̃)(f(z))] from a batch of N(0, I) draws. In a
 * low dimension, n lattice points cover the unit cube far more evenly than n independent draws,
 * so the estimate of a smooth integrand has much less noise; a fresh uniform shift u per batch keeps
 * it unbiased (every point is then U(0, 1)^D on its own). Buchholz, Wenzel & Mandt (2018), "Quasi-
 * Monte Carlo Variational Inference", show the same for variational inference.
 *
 *   point i of n:  x_i = Φ⁻¹(frac(i · z / n + u)),  z = (1, a, a² mod n, ...) (Korobov),
 *
 * with the generator a chosen once per (n, D) by the P₂ criterion below. Every coordinate of a
 * rank-1 lattice with gcd(z_j, n) = 1 puts exactly one point in each stratum [k/n, (k+1)/n).
 */
import type { Rng } from './random';
import { checkPositiveInt } from './validate';

/**
 * Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error < 1.2e-9, far below
 * float32's 6e-8). Outside (0, 1) it returns ∓Infinity or NaN like a quantile should.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  if (p < P_LOW) return tail(p);
  if (p > 1 - P_LOW) return -tail(1 - p);
  const q = p - 0.5;
  const r = q * q;
  const [a0, a1, a2, a3, a4, a5] = A;
  const [b0, b1, b2, b3, b4] = B;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** Acklam's coefficients: the central region |p - ½| <= ½ - P_LOW, and the tails. */
const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
] as const;
const B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
] as const;
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
] as const;
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
const P_LOW = 0.02425;

/** Φ⁻¹(p) for small p (the lower tail). */
function tail(p: number): number {
  const q = Math.sqrt(-2 * Math.log(p));
  const [c0, c1, c2, c3, c4, c5] = C;
  const [d0, d1, d2, d3] = D;
  return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * P₂ of the rank-1 lattice with generating vector z (Sloan & Joe 1994): the squared worst-case
 * error of the lattice rule over periodic functions with square-integrable mixed first
 * derivatives (the Korobov space, α = 2); smaller is better.
 *   P₂ = -1 + (1/n) Σ_k Π_j (1 + 2π² B₂({k z_j / n})),  B₂(x) = x² - x + 1/6.
 */
export function latticeP2(z: ArrayLike<number>, n: number): number {
  let sum = 0;
  for (let k = 0; k < n; k++) {
    let prod = 1;
    for (let j = 0; j < z.length; j++) {
      const x = ((k * z[j]!) % n) / n;
      prod *= 1 + 2 * Math.PI * Math.PI * (x * x - x + 1 / 6);
    }
    sum += prod;
  }
  return sum / n - 1;
}

/** The Korobov vector (1, a, a² mod n, ...) of length dim. */
function korobov(a: number, n: number, dim: number): Int32Array {
  const z = new Int32Array(dim);
  z[0] = 1;
  for (let j = 1; j < dim; j++) z[j] = (z[j - 1]! * a) % n; // exact: n < 2^26 keeps z·a < 2^53
  return z;
}

/**
 * Candidates searched per (n, D): all a in [1, n/2] coprime to n up to this many, else that many
 * evenly spaced ones. The search costs candidates · n · D steps, at most SEARCH_BUDGET · D: once per
 * (n, D), 30 ms at n = 4096 (1024 candidates) and 120 ms at n = 10⁵ (83), D = 2.
 */
const MAX_CANDIDATES = 1024;
const SEARCH_BUDGET = 2 ** 23;
/** Most points per lattice: 2^26 keeps every product i · z_j below 2^53, so it is exact. */
const MAX_POINTS = 2 ** 26;
const generators = new Map<string, Int32Array>();

/**
 * The Korobov generating vector of n points in dim dimensions with the smallest P₂ (cached). For
 * D = 2 and n a Fibonacci number F_k this is the Fibonacci lattice, a = F_(k-1) (or n - F_(k-1)).
 */
export function latticeGenerator(n: number, dim: number): Int32Array {
  checkPositiveInt('n', n);
  checkPositiveInt('dim', dim);
  if (n > MAX_POINTS) throw new RangeError(`a lattice of ${n} points is over the ${MAX_POINTS} this builds`);
  const key = `${n},${dim}`;
  const cached = generators.get(key);
  if (cached) return cached;
  let best = korobov(1, n, dim);
  if (dim > 1) {
    const coprime: number[] = [];
    for (let a = 1; a <= Math.max(1, Math.floor(n / 2)); a++) if (gcd(a, n) === 1) coprime.push(a);
    const candidates = Math.max(1, Math.min(MAX_CANDIDATES, Math.floor(SEARCH_BUDGET / n)));
    const stride = Math.max(1, coprime.length / candidates);
    let bestP2 = Infinity;
    for (let c = 0; c < coprime.length; c += stride) {
      const z = korobov(coprime[Math.floor(c)]!, n, dim);
      const p2 = latticeP2(z, n);
      if (p2 < bestP2) [best, bestP2] = [z, p2];
    }
  }
  generators.set(key, best);
  return best;
}

/**
 * Fill `out` ([n, dim], row-major) with the randomly shifted lattice, mapped to N(0, I): one RQMC
 * batch. Draws the shift u ~ U(0, 1)^dim from `rng`, so a seed gives the same batches everywhere.
 */
export function fillLatticeNormal<T extends Float32Array | Float64Array>(rng: Rng, out: T, n: number, dim: number): T {
  checkPositiveInt('n', n);
  checkPositiveInt('dim', dim);
  if (out.length !== n * dim) throw new RangeError(`out has ${out.length} entries, not n · dim = ${n * dim}`);
  const z = latticeGenerator(n, dim);
  const u = Array.from({ length: dim }, () => rng.uniform());
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const x = ((i * z[j]!) % n) / n + u[j]!;
      // x is in [0, 2): its fraction in [0, 1), kept off 0 where Φ⁻¹ is -∞ (a 2^-32 event)
      out[i * dim + j] = normalQuantile(Math.max(x - Math.floor(x), P_FLOOR));
    }
  }
  return out;
}

/** Smallest probability fed to Φ⁻¹: the resolution of Rng.uniform (Φ⁻¹(2⁻³²) ≈ -6.2). */
const P_FLOOR = 2 ** -32;
