/**
 * Independent float64 oracles in plain Math for the tests: the targets, the flows' maps, and
 * log|det J| of any map by central finite differences + LU decomposition.
 */

const TAU = 2 * Math.PI;

function lae(a: number, b: number): number {
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** U1..U4 (Rezende & Mohamed 2015, Table 1), float64. */
export const U = {
  U1: (z1: number, z2: number): number =>
    0.5 * ((Math.hypot(z1, z2) - 2) / 0.4) ** 2 - lae(-0.5 * ((z1 - 2) / 0.6) ** 2, -0.5 * ((z1 + 2) / 0.6) ** 2),
  U2: (z1: number, z2: number): number => 0.5 * ((z2 - Math.sin((TAU * z1) / 4)) / 0.4) ** 2,
  U3: (z1: number, z2: number): number => {
    const a = z2 - Math.sin((TAU * z1) / 4);
    const w2 = 3 * Math.exp(-0.5 * ((z1 - 1) / 0.6) ** 2);
    return -lae(-0.5 * (a / 0.35) ** 2, -0.5 * ((a + w2) / 0.35) ** 2);
  },
  U4: (z1: number, z2: number): number => {
    const a = z2 - Math.sin((TAU * z1) / 4);
    const w3 = 3 / (1 + Math.exp(-(z1 - 1) / 0.3));
    return -lae(-0.5 * (a / 0.4) ** 2, -0.5 * ((a + w3) / 0.35) ** 2);
  },
};

/** The normflows envelope ½(z1⁴ + z2⁴)/8⁴, float64. */
export const envelope = (z1: number, z2: number): number => (0.5 * (z1 ** 4 + z2 ** 4)) / 4096;

/** The default window ½((z1/3.3)⁸ + (z2/3.3)⁸), float64 (written independently of src/). */
export const windowU = (z1: number, z2: number): number => 0.5 * ((z1 / 3.3) ** 8 + (z2 / 3.3) ** 8);

/** Domain energies of U2-U4 by name, float64. */
export const DOMAIN_U = {
  window: windowU,
  normflows: envelope,
  none: (_z1: number, _z2: number): number => 0,
};

/** U of target `name` with domain `domain` (U1 never gets one), float64. */
export function targetU(name: keyof typeof U, domain: keyof typeof DOMAIN_U, z1: number, z2: number): number {
  return U[name](z1, z2) + (name === 'U1' ? 0 : DOMAIN_U[domain](z1, z2));
}

/**
 * log ∫∫ exp(-U) over the box [-L, L]² by the midpoint rule with n × n cells, and the share of
 * that mass inside [-w, w]², summed in float64 (log-sum-exp with a shift of the max).
 */
export function quadrature(
  U_: (z1: number, z2: number) => number,
  L: number,
  n: number,
  w = 4,
): { logZ: number; windowMass: number } {
  const h = (2 * L) / n;
  const e: number[] = [];
  let eMin = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const u = U_(-L + (i + 0.5) * h, -L + (j + 0.5) * h);
      e.push(u);
      if (u < eMin) eMin = u;
    }
  }
  let total = 0;
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const x = -L + (i + 0.5) * h;
    for (let j = 0; j < n; j++) {
      const y = -L + (j + 0.5) * h;
      const p = Math.exp(eMin - e[i * n + j]!);
      total += p;
      if (Math.abs(x) < w && Math.abs(y) < w) inside += p;
    }
  }
  return { logZ: Math.log(total) - eMin + 2 * Math.log(h), windowMass: inside / total };
}

/** log|det| of a square matrix (row-major arrays) by LU with partial pivoting. */
export function logAbsDet(m: number[][]): number {
  const n = m.length;
  const a = m.map((r) => [...r]);
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const piv = a[c]![c]!;
    s += Math.log(Math.abs(piv));
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / piv;
      for (let k = c; k < n; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return s;
}

/** Jacobian of f: R^D -> R^D at x by central differences in float64. */
export function jacobianFD(f: (x: number[]) => number[], x: number[], h = 1e-6): number[][] {
  const D = x.length;
  const J: number[][] = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  for (let j = 0; j < D; j++) {
    const xp = [...x];
    const xm = [...x];
    xp[j]! += h;
    xm[j]! -= h;
    const fp = f(xp);
    const fm = f(xm);
    for (let i = 0; i < D; i++) J[i]![j] = (fp[i]! - fm[i]!) / (2 * h);
  }
  return J;
}

/** K planar layers z + û_k tanh(w_kᵀz + b_k), float64. */
export function planarMap(uHat: number[][], w: number[][], b: number[]): (x: number[]) => number[] {
  return (x) => {
    let z = [...x];
    for (let k = 0; k < b.length; k++) {
      const a = z.reduce((s, zi, i) => s + zi * w[k]![i]!, 0) + b[k]!;
      const h = Math.tanh(a);
      z = z.map((zi, i) => zi + uHat[k]![i]! * h);
    }
    return z;
  };
}

/** K Sylvester layers z + Q R tanh(R̃ Qᵀ z + b), float64; Q: [K][D][M], R, RT: [K][M][M], b: [K][M]. */
export function sylvesterMap(
  Q: number[][][],
  R: number[][][],
  RT: number[][][],
  b: number[][],
): (x: number[]) => number[] {
  return (x) => {
    let z = [...x];
    for (let k = 0; k < b.length; k++) {
      const D = z.length;
      const M = b[k]!.length;
      const qtz = Array.from({ length: M }, (_, m) => z.reduce((s, zi, i) => s + Q[k]![i]![m]! * zi, 0));
      const h = Array.from({ length: M }, (_, i) =>
        Math.tanh(RT[k]![i]!.reduce((s, r, j) => s + r * qtz[j]!, 0) + b[k]![i]!),
      );
      const rh = Array.from({ length: M }, (_, i) => R[k]![i]!.reduce((s, r, j) => s + r * h[j]!, 0));
      z = Array.from({ length: D }, (_, i) => z[i]! + rh.reduce((s, v, m) => s + Q[k]![i]![m]! * v, 0));
    }
    return z;
  };
}

/**
 * The tests' one relative error: max |a - b| / (1 + max |b|) over all entries (the "1 +" keeps it
 * an absolute error near zero). Throws on a length mismatch or a non-finite entry of `a`.
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) throw new Error(`relErr: non-finite value at ${i}: ${a[i]}`);
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / (1 + s);
}

/** Σ dy ⊙ [z_K | logdet] for a packed flow output: a scalar loss whose gradient the fused backward gives. */
export function packedLoss(
  dy: ArrayLike<number>,
  zK: ArrayLike<number>,
  logDet: ArrayLike<number>,
  N: number,
  D: number,
): number {
  let s = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) s += dy[n * (D + 1) + d]! * zK[n * D + d]!;
    s += dy[n * (D + 1) + D]! * logDet[n]!;
  }
  return s;
}

/**
 * Assert that `grad` equals the central finite-difference gradient of `L` with respect to the
 * float64 array `x` (perturbed in place and restored), to 1e-5 relative.
 */
export function assertGradFD(
  L: () => number,
  name: string,
  x: Float64Array,
  grad: ArrayLike<number>,
  eps = 1e-6,
): void {
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    x[i] = x0 + eps;
    const lp = L();
    x[i] = x0 - eps;
    const lm = L();
    x[i] = x0;
    const fd = (lp - lm) / (2 * eps);
    if (!(Math.abs(fd - grad[i]!) < 1e-5 * (1 + Math.abs(fd))))
      throw new Error(`${name}[${i}]: fd ${fd} vs ${grad[i]}`);
  }
}
