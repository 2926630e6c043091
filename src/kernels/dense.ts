/**
 * Dense-layer loops for the MLP kernels (coupling.ts), on row-major float64 arrays:
 *
 *   matMulBias     out = X W + b            X: [N, I], W: [I, J], b: [J] -> out: [N, J]
 *   matMulTransB   out = G Wᵀ               G: [N, J], W: [I, J]         -> out: [N, I]
 *   addMatTMul     dW += Xᵀ G               X: [N, I], G: [N, J]         -> dW: [I, J]
 *   addColSums     db += Σ_n G[n, :]        G: [N, J]                    -> db: [J]
 *
 * (a forward layer, the backward's input gradient, weight gradient and bias gradient).
 *
 * Register tiles: each inner loop computes a 4 × 2 block of the output (4 rows of the batch, 2
 * output columns) in 8 local accumulators, so every loaded value serves 2 or 4 multiply-adds
 * and nothing is stored inside the loop. On this machine (2 shared cores, H = 32 and 128,
 * batch 128) that is ~0.45 ns per multiply-add against ~0.85 for the row-at-a-time i-k-j loop;
 * 4 × 4 tiles (16 accumulators, more than the 16 float registers with the loads) gained only 5-8%.
 * Every inner loop walks contiguous memory, as dot products of rows: matMulBias first
 * transposes W (I·J copies), addMatTMul X and G (N·(I + J) copies), against N·I·J multiply-adds.
 *
 * With WebAssembly SIMD (gemm-wasm.ts; everywhere Node runs) every product goes there instead,
 * the operands copied into its memory (zero-padded to multiples of 4 rows and columns) and the
 * output back: N = 128, H = 32 products take 18-26 µs there against 60-67 µs in the JS tiles
 * (~0.15 against ~0.45 ns per multiply-add, same machine and load ~3), copies included; the
 * thin ones of a D = 2 coupling layer (|P| = |M| = 1) padded too: fwd + bwd of K = 4 layers at
 * N = 128 from ~905 to ~820 µs of CPU time (A/B, load ~4.5). dotRows stays as the fallback.
 */
import { gemmWasm } from './gemm-wasm';

/** Rows of the batch per tile (the remainder goes one row at a time). */
const TILE_ROWS = 4;
/** Output columns per tile (the remainder goes one column at a time). */
const TILE_COLS = 2;

/**
 * out[r, c] = (accumulate ? out[r, c] : 0) + Σ_l A[r, l] B[c, l] for A: [R, L], B: [C, L]:
 * dot products of contiguous rows, in 4 × 2 tiles.
 */
function dotRows(
  A: Float64Array,
  B: Float64Array,
  out: Float64Array,
  R: number,
  C: number,
  L: number,
  accumulate: boolean,
): void {
  let r = 0;
  for (; r + TILE_ROWS <= R; r += TILE_ROWS) {
    const a0 = r * L;
    const a1 = a0 + L;
    const a2 = a1 + L;
    const a3 = a2 + L;
    let c = 0;
    for (; c + TILE_COLS <= C; c += TILE_COLS) {
      const b0 = c * L;
      const b1 = b0 + L;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let l = 0; l < L; l++) {
        const v0 = B[b0 + l]!;
        const v1 = B[b1 + l]!;
        const x0 = A[a0 + l]!;
        const x1 = A[a1 + l]!;
        const x2 = A[a2 + l]!;
        const x3 = A[a3 + l]!;
        s00 += x0 * v0;
        s01 += x0 * v1;
        s10 += x1 * v0;
        s11 += x1 * v1;
        s20 += x2 * v0;
        s21 += x2 * v1;
        s30 += x3 * v0;
        s31 += x3 * v1;
      }
      const o = r * C + c;
      if (accumulate) {
        out[o] += s00;
        out[o + 1] += s01;
        out[o + C] += s10;
        out[o + C + 1] += s11;
        out[o + 2 * C] += s20;
        out[o + 2 * C + 1] += s21;
        out[o + 3 * C] += s30;
        out[o + 3 * C + 1] += s31;
      } else {
        out[o] = s00;
        out[o + 1] = s01;
        out[o + C] = s10;
        out[o + C + 1] = s11;
        out[o + 2 * C] = s20;
        out[o + 2 * C + 1] = s21;
        out[o + 3 * C] = s30;
        out[o + 3 * C + 1] = s31;
      }
    }
    for (; c < C; c++) for (let q = r; q < r + TILE_ROWS; q++) dotInto(A, B, out, q, c, C, L, accumulate);
  }
  for (; r < R; r++) for (let c = 0; c < C; c++) dotInto(A, B, out, r, c, C, L, accumulate);
}

/** One entry of dotRows outside the tiles. */
function dotInto(
  A: Float64Array,
  B: Float64Array,
  out: Float64Array,
  r: number,
  c: number,
  C: number,
  L: number,
  accumulate: boolean,
): void {
  let s = 0;
  for (let l = 0; l < L; l++) s += A[r * L + l]! * B[c * L + l]!;
  out[r * C + c] = (accumulate ? out[r * C + c]! : 0) + s;
}

/** The WebAssembly product (gemm-wasm.ts), or undefined: then every product takes dotRows. */
const compiled = gemmWasm();
let wasm = compiled;

/** Take the JS loops (false) or WebAssembly where available (true, the default): tests, A/B timing. */
export function useWasmProducts(on: boolean): void {
  wasm = on ? compiled : undefined;
}
/** Whether the products run in WebAssembly (else all in JS). */
export const WASM_PRODUCT = compiled !== undefined;
/** Tile of the WebAssembly product: it takes R and C in multiples of 4 (the rest is zero-padded). */
const WASM_TILE = 4;
/** Bytes per float64 and per WebAssembly memory page. */
const F64 = 8;
const PAGE = 65536;
let heap = new Float64Array(0);

/** The WebAssembly memory as float64, at least `doubles` long (grown on demand). */
function heapOf(memory: NonNullable<typeof compiled>['memory'], doubles: number): Float64Array {
  const missing = doubles * F64 - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / PAGE));
  if (heap.buffer !== memory.buffer) heap = new Float64Array(memory.buffer);
  return heap;
}

/** n rounded up to the tile. */
const padded = (n: number): number => Math.ceil(n / WASM_TILE) * WASM_TILE;

/** a: [R, C] into h at `at` as [Rp, Cp], zero-padded (transposed: a is [C, R], read down its columns). */
function put(
  h: Float64Array,
  at: number,
  a: Float64Array,
  R: number,
  C: number,
  Rp: number,
  Cp: number,
  transposed = false,
): void {
  if (C === Cp && !transposed) h.set(a.subarray(0, R * C), at);
  else
    for (let r = 0; r < R; r++)
      for (let c = 0; c < Cp; c++) h[at + r * Cp + c] = c < C ? a[transposed ? c * R + r : r * C + c]! : 0;
  h.fill(0, at + R * Cp, at + Rp * Cp);
}

/** The [R, C] corner of h's [., Cp] at `at` into out: [R, C]. */
function take(h: Float64Array, at: number, out: Float64Array, R: number, C: number, Cp: number): void {
  if (C === Cp) out.set(h.subarray(at, at + R * C));
  else for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[r * C + c] = h[at + r * Cp + c]!;
}

/** out: [N, I] = G: [N, J] · Wᵀ, W: [I, J]. */
export function matMulTransB(
  G: Float64Array,
  W: Float64Array,
  out: Float64Array,
  N: number,
  J: number,
  I: number,
): void {
  if (!wasm) return dotRows(G, W, out, N, I, J, false);
  const [Np, Ip] = [padded(N), padded(I)];
  const h = heapOf(wasm.memory, Np * J + J * Ip + Np * Ip); // [G | Wᵀ | out]
  put(h, 0, G, N, J, Np, J);
  put(h, Np * J, W, J, I, J, Ip, true);
  const o = Np * J + J * Ip;
  wasm.gemm(0, J * F64, F64, Np * J * F64, o * F64, Np, Ip, J, 0);
  take(h, o, out, N, I, Ip);
}

/** Reusable transpose buffers (grown on demand, never shrunk). */
let wT = new Float64Array(0);
let xT = new Float64Array(0);
let gT = new Float64Array(0);

/** out: [N, J] = X: [N, I] · W: [I, J] + b: [J] (dot products of X's rows with Wᵀ's). */
export function matMulBias(
  X: Float64Array,
  W: Float64Array,
  b: Float64Array,
  out: Float64Array,
  N: number,
  I: number,
  J: number,
): void {
  if (wasm) {
    const [Np, Jp] = [padded(N), padded(J)];
    const h = heapOf(wasm.memory, Np * I + I * Jp + Np * Jp); // [X | W | out]
    put(h, 0, X, N, I, Np, I);
    put(h, Np * I, W, I, J, I, Jp);
    const o = Np * I + I * Jp;
    for (let j = 0; j < Jp; j++) h[o + j] = j < J ? b[j]! : 0; // out's rows start as b
    for (let n = Jp; n < Np * Jp; n *= 2) h.copyWithin(o + n, o, o + Math.min(n, Np * Jp - n));
    wasm.gemm(0, I * F64, F64, Np * I * F64, o * F64, Np, Jp, I, 1);
    take(h, o, out, N, J, Jp);
    return;
  }
  if (wT.length < I * J) wT = new Float64Array(I * J);
  transposeInto(W, wT, I, J); // wT: [J, I]
  for (let n = 0; n < N; n++) for (let j = 0; j < J; j++) out[n * J + j] = b[j]!;
  dotRows(X, wT, out, N, J, I, true);
}

/** a: [R, C] -> into: [C, R]. */
function transposeInto(a: Float64Array, into: Float64Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) into[c * R + r] = a[r * C + c]!;
}

/** dW: [I, J] += Xᵀ · G, X: [N, I], G: [N, J]. */
export function addMatTMul(X: Float64Array, G: Float64Array, dW: Float64Array, N: number, I: number, J: number): void {
  if (wasm) {
    const [Ip, Jp] = [padded(I), padded(J)];
    const h = heapOf(wasm.memory, N * Ip + N * Jp + Ip * Jp); // [X | G | dW]; A = Xᵀ by its strides
    put(h, 0, X, N, I, N, Ip);
    put(h, N * Ip, G, N, J, N, Jp);
    const o = N * Ip + N * Jp;
    put(h, o, dW, I, J, Ip, Jp);
    wasm.gemm(0, F64, Ip * F64, N * Ip * F64, o * F64, Ip, Jp, N, 1);
    take(h, o, dW, I, J, Jp);
    return;
  }
  if (xT.length < N * I) xT = new Float64Array(N * I);
  if (gT.length < N * J) gT = new Float64Array(N * J);
  transposeInto(X, xT, N, I); // xT: [I, N]
  transposeInto(G, gT, N, J); // gT: [J, N]
  dotRows(xT, gT, dW, I, J, N, true);
}

/** db: [J] += Σ_n G[n, :], G: [N, J]. */
export function addColSums(G: Float64Array, db: Float64Array, N: number, J: number): void {
  for (let j = 0; j < J; j++) {
    let [s0, s1, s2, s3] = [0, 0, 0, 0]; // four independent sums down the column (no add chain)
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      s0 += G[n * J + j]!;
      s1 += G[(n + 1) * J + j]!;
      s2 += G[(n + 2) * J + j]!;
      s3 += G[(n + 3) * J + j]!;
    }
    for (; n < N; n++) s0 += G[n * J + j]!;
    db[j] += s0 + s1 + (s2 + s3);
  }
}
