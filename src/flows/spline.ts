/**
 * The monotone rational-quadratic spline (Durkan, Bekasov, Murray & Papamakarios 2019, "Neural
 * Spline Flows"), elementwise: the transform inside a spline coupling layer (or, given its
 * parameters from an autoregressive conditioner, inside a spline MAF/IAF).
 *
 * On [-B, B] the map passes through K + 1 knots (x^(k), y^(k)), k = 0..K, from (-B, -B) to
 * (B, B), with derivatives δ_k > 0 at the knots. A conditioner gives, per coordinate, unnormalised
 * widths θ^w ∈ R^K, heights θ^h ∈ R^K and interior derivatives θ^d ∈ R^{K-1}:
 *
 *   w = w_min + (1 - K w_min) softmax(θ^w),   x^(k) = -B + 2B Σ_{j<k} w_j   (the same for y^(k))
 *   δ_k = δ_min + softplus(θ^d_k + c),  k = 1..K-1,   δ_0 = δ_K = 1
 *
 * with c = log(e^{1-δ_min} - 1), so that θ = 0 gives K equal bins and every δ_k = 1: the spline
 * is then the identity (a conditioner whose last layer starts at zero starts the flow there).
 * Outside [-B, B] the map is the identity (linear tails); δ_0 = δ_K = 1 makes it C¹ at ±B.
 *
 * In bin k, x^(k) <= x < x^(k+1), with s_k = (y^(k+1) - y^(k)) / (x^(k+1) - x^(k)) and
 * ξ = (x - x^(k)) / (x^(k+1) - x^(k)) ∈ [0, 1] (paper eq. 4 and 5):
 *
 *   g(x) = y^(k) + (y^(k+1) - y^(k)) [s_k ξ² + δ_k ξ(1-ξ)] / [s_k + (δ_{k+1} + δ_k - 2 s_k) ξ(1-ξ)]
 *   g'(x) = s_k² [δ_{k+1} ξ² + 2 s_k ξ(1-ξ) + δ_k (1-ξ)²] / [s_k + (δ_{k+1} + δ_k - 2 s_k) ξ(1-ξ)]²
 *
 * The inverse: y lies in bin k when y^(k) <= y < y^(k+1), and ξ is the root in [0, 1] of the
 * quadratic a ξ² + b ξ + c = 0 with (eq. 6-8)
 *
 *   a = (y^(k+1) - y^(k)) (s_k - δ_k) + (y - y^(k)) (δ_{k+1} + δ_k - 2 s_k)
 *   b = (y^(k+1) - y^(k)) δ_k - (y - y^(k)) (δ_{k+1} + δ_k - 2 s_k)
 *   c = -s_k (y - y^(k))
 *   ξ = 2c / (-b - √(b² - 4ac))   (stable as y -> y^(k); for b < 0 the same root as
 *                                  (-b + √(b² - 4ac)) / 2a, see `stableRoot`)
 *   x = x^(k) + ξ (x^(k+1) - x^(k)),   log|g⁻¹'(y)| = -log g'(x)
 *
 * Shapes: x: any shape S; θ^w, θ^h: S + [K]; θ^d: S + [K - 1] (one spline per element of x).
 * Any conditioner plugs in: a coupling MLP (src/flows/spline-coupling.ts), or an autoregressive
 * MADE with D (3K - 1) outputs, reshaped to [N, D, 3K - 1] and cut by `splitSplineParams` (its
 * degrees must give all 3K - 1 outputs of coordinate d the degree of d).
 */
import { tf } from '../core/backend';
import { checkInRange, checkPositive, checkPositiveInt } from '../core/validate';

export interface SplineOptions {
  /** Number of bins K (default 8; >= 2). */
  bins?: number;
  /** Half-width B of the interval [-B, B] where the spline acts (default 3). */
  bound?: number;
  /** Smallest bin width as a share of 2B (default 1e-3; needs K · minBinWidth < 1). */
  minBinWidth?: number;
  /** Smallest bin height as a share of 2B (default 1e-3; needs K · minBinHeight < 1). */
  minBinHeight?: number;
  /** Smallest interior derivative δ_min (default 1e-3; < 1 so that δ = 1 is reachable). */
  minDerivative?: number;
}

/** A spline's settings, checked. */
export type SplineConfig = Required<SplineOptions>;

/**
 * Default lower limits on bin size and slope, as in nflows: small enough not to constrain the
 * fit, large enough that s_k and δ_k stay far from float32 underflow in log g'.
 */
const MIN_BIN = 1e-3;
const MIN_DERIVATIVE = 1e-3;

/** Check `options` and fill in the defaults. */
export function splineConfig(options: SplineOptions = {}): SplineConfig {
  const bins = checkPositiveInt('bins', options.bins ?? 8, 2);
  const bound = checkPositive('bound', options.bound ?? 3);
  const below = 1 / bins - Number.EPSILON; // K · min < 1: the softmax shares keep some room
  const minBinWidth = checkInRange('minBinWidth', options.minBinWidth ?? MIN_BIN, 0, below);
  const minBinHeight = checkInRange('minBinHeight', options.minBinHeight ?? MIN_BIN, 0, below);
  const minDerivative = checkInRange('minDerivative', options.minDerivative ?? MIN_DERIVATIVE, 0, 1 - 1e-6);
  return { bins, bound, minBinWidth, minBinHeight, minDerivative };
}

/** Parameters one spline takes from its conditioner: K widths + K heights + (K - 1) derivatives. */
export function splineParamCount(bins: number): number {
  return 3 * bins - 1;
}

/** The unnormalised parameters of a batch of splines. */
export interface SplineParams {
  /** θ^w: S + [K] */
  thetaW: tf.Tensor;
  /** θ^h: S + [K] */
  thetaH: tf.Tensor;
  /** θ^d: S + [K - 1] */
  thetaD: tf.Tensor;
}

/** Split a conditioner's output S + [3K - 1] into θ^w, θ^h, θ^d (in that order on the last axis). */
export function splitSplineParams(raw: tf.Tensor, bins: number): SplineParams {
  const K = bins;
  const last = raw.shape[raw.rank - 1];
  if (last !== splineParamCount(K)) {
    throw new RangeError(`raw must have 3 · bins - 1 = ${splineParamCount(K)} values on its last axis, got ${last}`);
  }
  // not tf.split: on the CPU backend a slice across the last axis is slow (see takeLast)
  return {
    thetaW: takeLast(raw, 0, K),
    thetaH: takeLast(raw, K, 2 * K),
    thetaD: takeLast(raw, 2 * K, 3 * K - 1),
  };
}

/**
 * x[..., lo:hi]: entries lo..hi-1 of the last axis. tfjs's CPU backend slices a non-contiguous
 * block with a per-element index computation, and tf.gather's gradient is a slow scatter; so the
 * forward is a gather and the gradient a zero pad. Measured on [80000, 47] -> [80000, 16] (2
 * shared cores): slice ~500 ms, gather ~110 ms, pad ~65 ms; before, the reference spline's slices
 * made flowDensity of nsf-iaf take ~22 s on 200² points.
 */
function takeLast(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  const P = x.shape[x.rank - 1]!;
  const f = (t: tf.Tensor) => ({
    value: tf.gather(t, tf.range(lo, hi, 1, 'int32'), t.rank - 1),
    gradFunc: (dy: tf.Tensor) =>
      tf.pad(dy, [...dy.shape.slice(0, -1).map((): [number, number] => [0, 0]), [lo, P - hi]]),
  });
  // tf.customGrad's typing expects (...inputs, save); this op takes one input and saves nothing
  const take = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    t: tf.Tensor,
  ) => tf.Tensor;
  return take(x);
}

/** The knots and knot derivatives of a batch of splines. */
export interface SplineKnots {
  /** x^(0..K): S + [K + 1], from -B to B */
  xk: tf.Tensor;
  /** y^(0..K): S + [K + 1], from -B to B */
  yk: tf.Tensor;
  /** δ_0..δ_K: S + [K + 1], δ_0 = δ_K = 1 */
  delta: tf.Tensor;
}

/**
 * t: S + [1] repeated K times on the last axis: S + [K], by a product with a row of ones. On the
 * CPU backend an elementwise op between S + [1] and S + [K] takes a slow per-element broadcast
 * path (about 10x a same-shape op), a matMul does not.
 */
function spreadLast(t: tf.Tensor, K: number): tf.Tensor {
  const S = t.shape.slice(0, -1);
  const rows = t.size; // one value per row of S
  return tf.reshape(tf.matMul(tf.reshape(t, [rows, 1]), tf.ones([1, K])), [...S, K]);
}

/** softmax over the last axis, exp(θ - max θ) / Σ exp(θ - max θ), with spreadLast for the broadcasts. */
function softmaxLast(theta: tf.Tensor): tf.Tensor {
  const K = theta.shape[theta.rank - 1]!;
  const e = tf.exp(tf.sub(theta, spreadLast(tf.max(theta, -1, true), K))); // S + [K], each <= 1
  return tf.div(e, spreadLast(tf.sum(e, -1, true), K));
}

/** x^(0..K) = -B, -B + 2B Σ_{j<k} w_j, ..., B from unnormalised widths θ: S + [K] -> S + [K + 1]. */
function knotsFrom(theta: tf.Tensor, minBin: number, B: number): tf.Tensor {
  const axis = theta.rank - 1;
  const K = theta.shape[axis]!;
  const w = tf.add(minBin, tf.mul(1 - K * minBin, softmaxLast(theta))); // bin shares, Σ = 1: S + [K]
  const first = tf.fill([...theta.shape.slice(0, -1), 1], -B); // x^(0) = -B: S + [1]
  const knots = tf.concat([first, tf.add(-B, tf.mul(2 * B, tf.cumsum(w, axis)))], axis); // S + [K + 1]
  // The last knot is set to exactly B, not to the rounded cumulative sum (a mask on the last axis,
  // not a slice: see takeLast).
  const isLast = tf.oneHot(K, K + 1); // [K + 1]
  return tf.add(tf.mul(knots, tf.sub(1, isLast)), tf.mul(isLast, B));
}

/** Knots and derivatives from θ^w, θ^h, θ^d (equations at the top of this file). */
export function splineKnots(params: SplineParams, config: SplineConfig): SplineKnots {
  const { bins: K, bound: B, minBinWidth, minBinHeight, minDerivative } = config;
  checkParamShapes(params, K);
  return tf.tidy(() => {
    const { thetaW, thetaH, thetaD } = params;
    const axis = thetaD.rank - 1;
    const shift = Math.log(Math.expm1(1 - minDerivative)); // softplus(shift) = 1 - δ_min
    const inner = tf.add(minDerivative, tf.softplus(tf.add(thetaD, shift))); // δ_1..δ_{K-1}
    const one = tf.ones([...thetaW.shape.slice(0, -1), 1]); // S + [1]
    return {
      xk: knotsFrom(thetaW, minBinWidth, B),
      yk: knotsFrom(thetaH, minBinHeight, B),
      delta: tf.concat([one, inner, one], axis),
    };
  });
}

function checkParamShapes(params: SplineParams, K: number): void {
  const want: [keyof SplineParams, number][] = [
    ['thetaW', K],
    ['thetaH', K],
    ['thetaD', K - 1],
  ];
  const S = params.thetaW.shape.slice(0, -1).join(', ');
  for (const [name, n] of want) {
    const shape = params[name].shape;
    if (shape[shape.length - 1] !== n || shape.slice(0, -1).join(', ') !== S) {
      throw new RangeError(`${name} must have shape [${S}, ${n}] (bins = ${K}), got [${shape.join(', ')}]`);
    }
  }
}

/** Output of the spline: g(x) (or g⁻¹) and log|g'| (or log|g⁻¹'|) per element, both of shape S. */
export interface SplineOutput {
  y: tf.Tensor;
  logDet: tf.Tensor;
}

/**
 * The spline's bin quantities at u: the ends of u's bin k on the axis searched (`knots`), and
 * x^(k), w = x^(k+1) - x^(k), y^(k), h = y^(k+1) - y^(k), δ_k, δ_{k+1}, s_k. u: S, inside [-B, B].
 */
function binOf(u: tf.Tensor, knots: tf.Tensor, { xk, yk, delta }: SplineKnots) {
  const K = xk.shape[xk.rank - 1]! - 1;
  // k = #{knots <= u} - 1 ∈ [0, K - 1] (x^(0) = -B <= u always); u = B falls in the last bin: S
  const count = tf.sum(tf.cast(tf.greaterEqual(spreadLast(tf.expandDims(u, -1), K + 1), knots), 'int32'), -1);
  const k = tf.cast(tf.clipByValue(tf.sub(count, 1), 0, K - 1), 'int32');
  // t_k and t_{k+1} by one-hot rows over all K + 1 knots (no slices: see takeLast)
  const atK = tf.oneHot(k, K + 1); // S + [K + 1]
  const atK1 = tf.oneHot(tf.add(k, tf.scalar(1, 'int32')), K + 1);
  const lo = (t: tf.Tensor) => tf.sum(tf.mul(atK, t), -1); // t_k: S
  const hi = (t: tf.Tensor) => tf.sum(tf.mul(atK1, t), -1); // t_{k+1}: S
  const [xLo, xHi, yLo] = [lo(xk), hi(xk), lo(yk)];
  const w = tf.sub(xHi, xLo);
  const h = tf.sub(hi(yk), yLo);
  return { xLo, xHi, w, yLo, h, dLo: lo(delta), dHi: hi(delta), s: tf.div(h, w) };
}

/** log g'(x) in bin k (eq. 5) from ξ and 1 - ξ (given apart: near ξ = 1, 1 - ξ is more exact). */
function logDerivative(xi: tf.Tensor, om: tf.Tensor, s: tf.Tensor, dLo: tf.Tensor, dHi: tf.Tensor): tf.Tensor {
  const xi1m = tf.mul(xi, om); // ξ(1-ξ)
  const den = tf.add(s, tf.mul(tf.sub(tf.add(dHi, dLo), tf.mul(2, s)), xi1m));
  const num = tf.addN([tf.mul(dHi, tf.square(xi)), tf.mul(tf.mul(2, s), xi1m), tf.mul(dLo, tf.square(om))]);
  return tf.sub(tf.add(tf.mul(2, tf.log(s)), tf.log(num)), tf.mul(2, tf.log(den)));
}

/**
 * The root ξ ∈ [0, 1] of a ξ² + b ξ + c = 0 (c <= 0), without cancellation. For b >= 0 the
 * paper's form 2c / (-b - √(b² - 4ac)); for b < 0 the same root as (-b + √(b² - 4ac)) / 2a, since
 * there -b - √(b² - 4ac) cancels: in a flat bin (s_k = 0.003, δ_{k+1} = 1.2) near its right end
 * the paper's form lost 2 digits in float32 (ξ off by 1.2e-5, x by 5e-5). The unused branch
 * divides by 1, so its gradient stays finite.
 */
function stableRoot(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, rootDisc: tf.Tensor): tf.Tensor {
  const bNonNeg = tf.greaterEqual(b, 0);
  const one = tf.onesLike(b);
  const paper = tf.div(tf.mul(2, c), tf.where(bNonNeg, tf.sub(tf.neg(b), rootDisc), one)); // b >= 0
  const conjugate = tf.div(tf.add(tf.neg(b), rootDisc), tf.where(bNonNeg, one, tf.mul(2, a))); // b < 0
  return tf.where(bNonNeg, paper, conjugate);
}

/**
 * y = g(x) and log g'(x) elementwise, or with `inverse` x = g⁻¹(y) and log|g⁻¹'(y)| = -log g'(x).
 * u: S; params: θ^w, θ^h: S + [K], θ^d: S + [K - 1]. Identity with log-det 0 outside [-B, B].
 */
export function rqSpline(u: tf.Tensor, params: SplineParams, config: SplineConfig, inverse = false): SplineOutput {
  const S = params.thetaW.shape.slice(0, -1).join(', ');
  if (u.shape.join(', ') !== S) throw new RangeError(`the input must have shape [${S}], got [${u.shape.join(', ')}]`);
  return tf.tidy(() => {
    const knots = splineKnots(params, config);
    const B = config.bound;
    // B >= |u|: GreaterEqual has a (zero) gradient in tfjs, LessEqual and LogicalAnd have none
    const inside = tf.greaterEqual(B, tf.abs(u)); // S
    const uc = tf.clipByValue(u, -B, B); // the tails' values stay finite in the unused branch
    const { xLo, xHi, w, yLo, h, dLo, dHi, s } = binOf(uc, inverse ? knots.yk : knots.xk, knots);
    const sum2 = tf.sub(tf.add(dHi, dLo), tf.mul(2, s)); // δ_{k+1} + δ_k - 2 s_k
    let out: tf.Tensor;
    let logDet: tf.Tensor;
    if (!inverse) {
      const xi = tf.div(tf.sub(uc, xLo), w); // ξ
      const om = tf.div(tf.sub(xHi, uc), w); // 1 - ξ
      const xi1m = tf.mul(xi, om);
      const num = tf.mul(h, tf.add(tf.mul(s, tf.square(xi)), tf.mul(dLo, xi1m)));
      out = tf.add(yLo, tf.div(num, tf.add(s, tf.mul(sum2, xi1m))));
      logDet = logDerivative(xi, om, s, dLo, dHi);
    } else {
      const dy = tf.sub(uc, yLo); // y - y^(k)
      const a = tf.add(tf.mul(h, tf.sub(s, dLo)), tf.mul(dy, sum2));
      const b = tf.sub(tf.mul(h, dLo), tf.mul(dy, sum2));
      const c = tf.neg(tf.mul(s, dy));
      const rootDisc = tf.sqrt(tf.relu(tf.sub(tf.square(b), tf.mul(4, tf.mul(a, c))))); // relu: rounding below 0
      const xi = stableRoot(a, b, c, rootDisc);
      out = tf.add(xLo, tf.mul(xi, w));
      // -log g' at the x returned, with 1 - ξ from x^(k+1) - x as in the forward pass (1 - ξ from
      // the root loses digits near ξ = 1, where log g' can move ~1e-4 per float32 step)
      logDet = tf.neg(logDerivative(tf.div(tf.sub(out, xLo), w), tf.div(tf.sub(xHi, out), w), s, dLo, dHi));
    }
    return { y: tf.where(inside, out, u), logDet: tf.where(inside, logDet, tf.zerosLike(u)) };
  });
}
