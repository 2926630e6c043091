/**
 * The demo targets U1..U4 (targets/energies.ts) as plain-JS kernels: value AND gradient of
 * log p̃(z) = -U(z) in one loop over the batch, so that the fused trainer pays one tfjs op for
 * the target instead of ~15 (plus their gradients).
 *
 * Same formulas and constants as energies.ts (Rezende & Mohamed 2015, Table 1), in float64 arithmetic:
 *
 *   w1 = sin(π z1/2),  w2 = 3 exp(-½((z1 - 1)/0.6)²),  w3 = 3 σ((z1 - 1)/0.3)
 *   U1 = ½((r - 2)/0.4)² - lse(-½((z1-2)/0.6)², -½((z1+2)/0.6)²),  r = √(z1² + z2² + 1e-12)
 *   U2 = ½((z2 - w1)/0.4)²
 *   U3 = -lse(-½((z2-w1)/0.35)², -½((z2-w1+w2)/0.35)²)
 *   U4 = -lse(-½((z2-w1)/0.4)²,  -½((z2-w1+w3)/0.35)²)
 *   domain of U2-U4: 'window' (default) +½((z1/3.3)⁸ + (z2/3.3)⁸), 'normflows' +½(z1⁴ + z2⁴)/8⁴
 *
 * with lse(A, B) = max(A, B) + log1p(e^{-|A-B|}) (finite for every finite z), and
 * ∂lse = p_A ∂A + p_B ∂B, p_A = σ(A - B), p_B = 1 - p_A. Registered for spec kind 'energy'.
 */
import * as numerics from '../core/numerics';
import {
  ENVELOPE_SCALE4,
  NORM_EPS,
  WINDOW_SCALE,
  type DomainName,
  type EnergySpec,
  type TargetName,
} from '../targets/energies';
import { registerTargetKernel, type TargetKernel } from '../targets/kernel';

// Module-level bindings of the hot-loop helpers: under tsx (esbuild's CommonJS output, as `npm
// run train` runs) every call of an imported function goes through a getter that V8 does not
// inline in these loops (planar K=32 step: 1.7 ms instead of 0.5); a const binding is inlined.
const { logAddExpPair: lse, sigmoid } = numerics;

const HALF_PI = Math.PI / 2;

/** U and ∇U at one point; writes [U, ∂U/∂z1, ∂U/∂z2] into out. */
type EnergyGrad = (z1: number, z2: number, out: Float64Array) => void;

/**
 * U3 and U4: U = -lse(A, B), A = -½(a/sA)², B = -½((a + v)/sB)², a = z2 - w1(z1), with the
 * bump v = w2 or w3 and its slope dv = v'(z1). With p_A = σ(A - B), p_B = 1 - p_A:
 * ∂U/∂z2 = p_A ea/sA + p_B eb/sB and ∂U/∂z1 = -(p_A (ea/sA) w1' - p_B (eb/sB)(v' - w1')),
 * ea = a/sA, eb = (a + v)/sB.
 */
function waveMixture(z1: number, z2: number, v: number, dv: number, sA: number, sB: number, out: Float64Array): void {
  const a = z2 - Math.sin(HALF_PI * z1);
  const dw1 = HALF_PI * Math.cos(HALF_PI * z1);
  const ea = a / sA;
  const eb = (a + v) / sB;
  const A = -0.5 * ea * ea;
  const B = -0.5 * eb * eb;
  const pA = sigmoid(A - B);
  const pB = 1 - pA;
  out[0] = -lse(A, B);
  out[1] = -(pA * (ea / sA) * dw1 - pB * (eb / sB) * (dv - dw1));
  out[2] = pA * (ea / sA) + pB * (eb / sB);
}

const ENERGY_GRADS: Record<TargetName, EnergyGrad> = {
  U1(z1, z2, out) {
    const r = Math.sqrt(z1 * z1 + z2 * z2 + NORM_EPS);
    const ringD = (r - 2) / 0.16; // ∂/∂r of ½((r-2)/0.4)²
    const xa = (z1 - 2) / 0.6;
    const xb = (z1 + 2) / 0.6;
    const A = -0.5 * xa * xa;
    const B = -0.5 * xb * xb;
    const pA = sigmoid(A - B);
    const dLse1 = pA * (-xa / 0.6) + (1 - pA) * (-xb / 0.6);
    out[0] = 0.5 * ((r - 2) / 0.4) * ((r - 2) / 0.4) - lse(A, B);
    out[1] = (ringD * z1) / r - dLse1;
    out[2] = (ringD * z2) / r;
  },
  U2(z1, z2, out) {
    const a = z2 - Math.sin(HALF_PI * z1);
    const dw1 = HALF_PI * Math.cos(HALF_PI * z1);
    const g = a / 0.16;
    out[0] = 0.5 * g * a;
    out[1] = -g * dw1;
    out[2] = g;
  },
  U3(z1, z2, out) {
    const x = (z1 - 1) / 0.6;
    const w2 = 3 * Math.exp(-0.5 * x * x);
    waveMixture(z1, z2, w2, (-w2 * x) / 0.6, 0.35, 0.35, out);
  },
  U4(z1, z2, out) {
    const s = sigmoid((z1 - 1) / 0.3);
    waveMixture(z1, z2, 3 * s, (3 * s * (1 - s)) / 0.3, 0.4, 0.35, out);
  },
};

/** Domain energy ½ Σ_i (z_i/3.3)⁸ or ½ Σ_i z_i⁴/8⁴ and its gradient, added into out. */
type DomainGrad = (z1: number, z2: number, out: Float64Array) => void;

/** Adds ½ t⁸ and its derivative 4 t⁷ / s, t = z/s, for each coordinate. */
const windowGrad: DomainGrad = (z1, z2, out) => {
  const t1 = z1 / WINDOW_SCALE;
  const t2 = z2 / WINDOW_SCALE;
  const a = t1 * t1 * t1 * t1 * t1 * t1 * t1; // t1⁷
  const b = t2 * t2 * t2 * t2 * t2 * t2 * t2; // t2⁷
  out[0]! += 0.5 * (a * t1 + b * t2);
  out[1]! += (4 * a) / WINDOW_SCALE;
  out[2]! += (4 * b) / WINDOW_SCALE;
};

const envelopeGrad: DomainGrad = (z1, z2, out) => {
  const a = z1 * z1;
  const b = z2 * z2;
  out[0]! += (0.5 * (a * a + b * b)) / ENVELOPE_SCALE4;
  out[1]! += (2 * a * z1) / ENVELOPE_SCALE4;
  out[2]! += (2 * b * z2) / ENVELOPE_SCALE4;
};

const DOMAIN_GRADS: Record<DomainName, DomainGrad | undefined> = {
  window: windowGrad,
  normflows: envelopeGrad,
  none: undefined,
};

/**
 * The kernel of target `name` with domain `domain` ('none' for U1): for z row-major [n, 2] it
 * writes logp[i] = -U(z_i) and, when grad is given, grad[2i + d] = -∂U/∂z_id.
 */
export function energyKernel(name: TargetName, domain: DomainName): TargetKernel {
  const energyGrad = ENERGY_GRADS[name];
  const domainGrad = DOMAIN_GRADS[domain];
  const buf = new Float64Array(3);
  return (z, n, logp, grad) => {
    for (let i = 0; i < n; i++) {
      const z1 = z[2 * i]!;
      const z2 = z[2 * i + 1]!;
      energyGrad(z1, z2, buf);
      if (domainGrad) domainGrad(z1, z2, buf);
      logp[i] = -buf[0]!;
      if (grad) {
        grad[2 * i] = -buf[1]!;
        grad[2 * i + 1] = -buf[2]!;
      }
    }
  };
}

registerTargetKernel<EnergySpec>('energy', (spec) => energyKernel(spec.key, spec.domain));
