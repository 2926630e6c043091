/**
 * Unnormalised target densities p̃(z) = exp(-U(z)) for reverse-KL training.
 *
 * A target is just a function `z: [N, D] -> log p̃(z): [N]`; the demos are the four 2-D
 * energies of Rezende & Mohamed (2015, Table 1):
 *
 *   w1 = sin(2π z1 / 4),  w2 = 3 exp(-½((z1 - 1)/0.6)²),  w3 = 3 σ((z1 - 1)/0.3)
 *   U1 = ½((‖z‖ - 2)/0.4)² - ln(e^{-½((z1-2)/0.6)²} + e^{-½((z1+2)/0.6)²})
 *   U2 = ½((z2 - w1)/0.4)²
 *   U3 = -ln(e^{-½((z2-w1)/0.35)²} + e^{-½((z2-w1+w2)/0.35)²})
 *   U4 = -ln(e^{-½((z2-w1)/0.4)²}  + e^{-½((z2-w1+w3)/0.35)²})
 *
 * Every `-ln(e^a + e^b)` is written as a log-sum-exp, so no float32 input gives ±inf or NaN
 * (the naive form underflows to ln 0 = -inf already at z = (0, 7)).
 *
 * U2-U4 do not decay along z1, so ∫exp(-U) diverges on R²: there is no log Z, KL or ESS to
 * report. A *domain* energy makes them proper (U1 is proper and never gets one):
 *
 *   'window' (default)  ½((z1/3.3)⁸ + (z2/3.3)⁸): flat (< 0.055 per coordinate for |z_i| ≤ 2.5),
 *                       a steep smooth wall past |z_i| ≈ 3.3. The plotted window [-4, 4]² holds ≥ 99.4% of each
 *                       target's mass, so the panels show the paper's problem: the wave across
 *                       the window at even intensity, fading only at the edges.
 *   'normflows'         ½(z1⁴ + z2⁴)/8⁴ of the normflows library (< 0.07 inside [-4, 4]²): only
 *                       ~46% of the mass lies in [-4, 4]², the rest stretches to |z1| ≈ 10.
 *   'none'              the bare, improper energy (no log Z).
 */
import { tf } from '../core/backend';
import { checkBatch, checkOneOf } from '../core/validate';
import type { TargetSpec } from './kernel';
import type { LogProbFn, Target } from './target';

export * from './target';

export const TARGET_NAMES = ['U1', 'U2', 'U3', 'U4'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Domains that make U2-U4 proper; see the header. */
export const DOMAIN_NAMES = ['window', 'normflows', 'none'] as const;
export type DomainName = (typeof DOMAIN_NAMES)[number];
/** The domain getTarget uses unless told otherwise. */
export const DEFAULT_DOMAIN: DomainName = 'window';

/** The spec of a demo target: src/kernels/targets.ts builds its value-and-gradient kernel. */
export interface EnergySpec extends TargetSpec {
  readonly kind: 'energy';
  readonly key: TargetName;
  readonly domain: DomainName;
}

/**
 * log Z by float64 quadrature (midpoint rule on a box holding all the mass, converged to
 * ~1e-6; test/targets.test.ts recomputes them). U2-U4 only with a domain. 'U2+envelope' etc.
 * are the old names of the normflows values.
 */
export const KNOWN_LOG_Z = {
  U1: 1.8775,
  'U2+window': 1.91617,
  'U3+window': 2.47506,
  'U4+window': 2.47903,
  'U2+normflows': 2.85014,
  'U3+normflows': 3.40972,
  'U4+normflows': 3.47598,
  'U2+envelope': 2.85014,
  'U3+envelope': 3.40972,
  'U4+envelope': 3.47598,
} as const;

/** Envelope denominator 8⁴ = (20 · 0.4)⁴ of the normflows Sinusoidal targets. */
export const ENVELOPE_SCALE4 = 4096;
/**
 * Window ½((z1/s)^p + (z2/s)^p): s = 3.3 puts the wall's e-fold point (energy 1) at |z_i| ≈ 3.6,
 * so ≥ 99.4% of the mass lies in the plotted [-4, 4]²; p = 8 is steep enough to keep the wave
 * at even intensity over |z1| < 2.5 and smooth enough for a flow to fit.
 */
export const WINDOW_SCALE = 3.3;
export const WINDOW_POWER = 8;
/** Keeps ‖z‖ differentiable at z = 0 (√0 has an infinite slope); shifts U1 by < 1e-6 elsewhere. */
export const NORM_EPS = 1e-12;

function columns(z: tf.Tensor2D): [tf.Tensor1D, tf.Tensor1D] {
  const [z1, z2] = tf.unstack(z, 1) as [tf.Tensor1D, tf.Tensor1D];
  return [z1, z2];
}

/** ln(e^a + e^b), elementwise and stable: log-sum-exp over a stacked axis. */
export function logAddExp(a: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.logSumExp(tf.stack([a, b], 1), 1) as tf.Tensor1D);
}

/** -½ (x / s)² */
function gaussLog(x: tf.Tensor1D, s: number): tf.Tensor1D {
  return tf.mul(-0.5, tf.square(tf.div(x, s))) as tf.Tensor1D;
}

const w1 = (z1: tf.Tensor1D): tf.Tensor1D => tf.sin(tf.mul((2 * Math.PI) / 4, z1)) as tf.Tensor1D;
const w2 = (z1: tf.Tensor1D): tf.Tensor1D => tf.mul(3, tf.exp(gaussLog(tf.sub(z1, 1), 0.6))) as tf.Tensor1D;
const w3 = (z1: tf.Tensor1D): tf.Tensor1D => tf.mul(3, tf.sigmoid(tf.div(tf.sub(z1, 1), 0.3))) as tf.Tensor1D;

/** U1..U4 as energies U(z): [N] (without envelope). */
export const ENERGIES: Record<TargetName, (z: tf.Tensor2D) => tf.Tensor1D> = {
  U1(z) {
    const [z1, z2] = columns(z);
    const r = tf.sqrt(tf.add(tf.add(tf.square(z1), tf.square(z2)), NORM_EPS));
    const ring = tf.mul(0.5, tf.square(tf.div(tf.sub(r, 2), 0.4)));
    return tf.sub(ring, logAddExp(gaussLog(tf.sub(z1, 2), 0.6), gaussLog(tf.add(z1, 2), 0.6)));
  },
  U2(z) {
    const [z1, z2] = columns(z);
    return tf.mul(0.5, tf.square(tf.div(tf.sub(z2, w1(z1)), 0.4)));
  },
  U3(z) {
    const [z1, z2] = columns(z);
    const a = tf.sub(z2, w1(z1)) as tf.Tensor1D;
    return tf.neg(logAddExp(gaussLog(a, 0.35), gaussLog(tf.add(a, w2(z1)), 0.35)));
  },
  U4(z) {
    const [z1, z2] = columns(z);
    const a = tf.sub(z2, w1(z1)) as tf.Tensor1D;
    return tf.neg(logAddExp(gaussLog(a, 0.4), gaussLog(tf.add(a, w3(z1)), 0.35)));
  },
};

/** The normflows envelope ½(z1⁴ + z2⁴)/8⁴ as an energy: [N]. */
export function envelopeEnergy(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.div(tf.mul(0.5, tf.sum(tf.pow(z, 4), 1)), ENVELOPE_SCALE4) as tf.Tensor1D);
}

/** The default window ½((z1/3.3)⁸ + (z2/3.3)⁸) as an energy: [N]. */
export function windowEnergy(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(0.5, tf.sum(tf.pow(tf.div(z, WINDOW_SCALE), WINDOW_POWER), 1)) as tf.Tensor1D);
}

/** The energy of domain `domain`: z [N, 2] -> [N] (none: undefined). */
export const DOMAIN_ENERGIES: Record<DomainName, ((z: tf.Tensor2D) => tf.Tensor1D) | undefined> = {
  window: windowEnergy,
  normflows: envelopeEnergy,
  none: undefined,
};

export interface TargetOptions {
  /** Domain of U2-U4 (default 'window'; U1 is proper and never gets one). */
  domain?: DomainName | string;
  /** false: no domain (same as domain 'none'); true or unset: `domain`. */
  envelope?: boolean;
}

/** The domain that getTarget(name, options) applies: 'none' for U1 and for envelope: false. */
export function resolveDomain(name: TargetName, options: TargetOptions = {}): DomainName {
  const domain = checkOneOf('domain', options.domain ?? DEFAULT_DOMAIN, DOMAIN_NAMES);
  return name === 'U1' || options.envelope === false ? 'none' : domain;
}

/**
 * The demo target `name` (U1..U4) as a `Target` with its known log Z; U2-U4 get the domain
 * `options.domain` (default 'window') and are named e.g. 'U2+window'.
 */
export function getTarget(name: string, options: TargetOptions = {}): Target {
  const key = checkOneOf('target', name, TARGET_NAMES);
  const domain = resolveDomain(key, options);
  const energy = ENERGIES[key];
  const domainEnergy = DOMAIN_ENERGIES[domain];
  const logProb: LogProbFn = (z) => {
    checkBatch('z', z, 2);
    return tf.tidy(() => {
      const u = domainEnergy ? tf.add(energy(z), domainEnergy(z)) : energy(z);
      return tf.neg(u) as tf.Tensor1D;
    });
  };
  const logZ = key === 'U1' ? KNOWN_LOG_Z.U1 : domain === 'none' ? undefined : KNOWN_LOG_Z[`${key}+${domain}`];
  const spec: EnergySpec = { kind: 'energy', key, domain };
  return { name: domain === 'none' ? key : `${key}+${domain}`, dim: 2, logProb, logZ, spec };
}
