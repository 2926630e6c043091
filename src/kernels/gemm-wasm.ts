/**
 * One float64 matrix product in WebAssembly SIMD (two doubles per instruction, no bounds
 * checks), for the dense layers' big products (dense.ts):
 *
 *   out[r, c] = (accumulate ? out[r, c] : 0) + Σ_l A[r, l] B[l, c]
 *   A: element (r, l) at a + r·aRS + l·aCS (byte strides: A or Aᵀ row-major, no transpose),
 *   B: [L, C] row-major, out: [R, C] row-major, R and C multiples of 4.
 *
 * The inner loop computes a 4 × 4 block of out in 8 two-lane accumulators: per l it loads
 * B[l, c..c+3] as two vectors and each of A's 4 entries once (splat to both lanes), 16
 * multiply-adds from 6 loads. The module is assembled here from its instructions (below), so
 * nothing is downloaded or prebuilt; `gemmWasm()` is undefined where WebAssembly SIMD is not
 * available, and dense.ts then keeps its JS loops.
 */

/** Unsigned LEB128 (the binary format's integers). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** A section or a vector: its byte length, then its bytes. */
const sized = (bytes: number[]): number[] => [...uleb(bytes.length), ...bytes];

// Instructions (the WebAssembly binary opcodes).
const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const i32 = (n: number): number[] => [0x41, n]; // small non-negative constants only
const ADD = 0x6a;
const MUL = 0x6c;
const SUB = 0x6b;
const GE_S = 0x4e;
const EQZ = 0x45;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const END = 0x0b;
const br = (depth: number): number[] => [0x0c, depth];
const brIf = (depth: number): number[] => [0x0d, depth];
const f64Load = [0x2b, 3, 0];
const v128Load = (offset: number): number[] => [0xfd, 0x00, 4, offset];
const v128Store = (offset: number): number[] => [0xfd, 0x0b, 4, offset];
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const SPLAT = [0xfd, 0x14];
const F64X2_ADD = [0xfd, 0xf0, 0x01];
const F64X2_MUL = [0xfd, 0xf2, 0x01];

// Parameters and locals of gemm (indices).
const [A, ARS, ACS, B, OUT, R, C, L, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const [r, c, l, pa, pb, ldb, po, aRS2, aRS3] = [9, 10, 11, 12, 13, 14, 15, 16, 17];
const acc = (row: number, half: number): number => 18 + 2 * row + half; // 18..25
const [AV, BV0, BV1] = [26, 27, 28];
const I32_LOCALS = 9;
const V128_LOCALS = 11;

/** One row of the tile: av = splat(A[r + row, l]); acc(row, ·) += av · B[l, c..c+3]. */
function tileRow(row: number): number[] {
  const address = row === 0 ? get(pa) : [...get(pa), ...get([ARS, aRS2, aRS3][row - 1]!), ADD];
  return [
    ...address,
    ...f64Load,
    ...SPLAT,
    ...set(AV),
    ...[0, 1].flatMap((h) => [
      ...get(acc(row, h)),
      ...get(AV),
      ...get(h === 0 ? BV0 : BV1),
      ...F64X2_MUL,
      ...F64X2_ADD,
      ...set(acc(row, h)),
    ]),
  ];
}

/** Store the tile's row `row` at po + row·ldb, first adding what is there when accumulating. */
function storeRow(row: number): number[] {
  const p = [...get(po), ...get(ldb), ...i32(row), MUL, ADD];
  const add = [0, 1].flatMap((h) => [
    ...get(acc(row, h)),
    ...p,
    ...v128Load(16 * h),
    ...F64X2_ADD,
    ...set(acc(row, h)),
  ]);
  return [...get(ACC), ...IF, ...add, END, ...[0, 1].flatMap((h) => [...p, ...get(acc(row, h)), ...v128Store(16 * h)])];
}

/** x = y + z (i32 locals). */
const setSum = (x: number, y: number, z: number): number[] => [...get(y), ...get(z), ADD, ...set(x)];

/** for (x = 0; x < bound; x += step) body, as block/loop. */
// prettier-ignore
const forLoop = (x: number, bound: number, step: number, body: number[]): number[] => [
  ...i32(0), ...set(x),
  ...BLOCK, ...LOOP,
  ...get(x), ...get(bound), GE_S, ...brIf(1), // exit when x >= bound
  ...body,
  ...get(x), ...i32(step), ADD, ...set(x), ...br(0),
  END, END,
];

// prettier-ignore
function gemmBody(): number[] {
  const inner = [
    ...get(pb), ...v128Load(0), ...set(BV0), // B[l, c..c+1]
    ...get(pb), ...v128Load(16), ...set(BV1), // B[l, c+2..c+3]
    ...[0, 1, 2, 3].flatMap(tileRow),
    ...setSum(pa, pa, ACS), // next l
    ...setSum(pb, pb, ldb),
    ...get(l), ...i32(1), SUB, ...set(l),
  ];
  const tile = [
    ...[0, 1, 2, 3].flatMap((row) => [0, 1].flatMap((h) => [...V128_ZERO, ...set(acc(row, h))])),
    ...get(A), ...get(r), ...get(ARS), MUL, ADD, ...set(pa), // pa = a + r·aRS
    ...get(B), ...get(c), ...i32(8), MUL, ADD, ...set(pb), // pb = b + 8c
    ...get(L), ...set(l),
    ...BLOCK, ...LOOP, ...get(l), EQZ, ...brIf(1), ...inner, ...br(0), END, END, // L times
    ...get(OUT), ...get(r), ...get(ldb), MUL, ADD, ...get(c), ...i32(8), MUL, ADD, ...set(po),
    ...[0, 1, 2, 3].flatMap(storeRow),
  ];
  return [
    ...get(C), ...i32(8), MUL, ...set(ldb), // bytes per row of B and out
    ...setSum(aRS2, ARS, ARS),
    ...setSum(aRS3, aRS2, ARS),
    ...forLoop(r, R, 4, forLoop(c, C, 4, tile)),
    END,
  ];
}

/** The module: memory "mem" (exported, growable) and gemm(a, aRS, aCS, b, out, R, C, L, accumulate). */
function gemmModuleBytes(): Uint8Array {
  const I32 = 0x7f;
  const V128 = 0x7b;
  const section = (id: number, bytes: number[]): number[] => [id, ...sized(bytes)];
  const name = (s: string): number[] => sized([...s].map((ch) => ch.charCodeAt(0)));
  const body = sized([2, ...uleb(I32_LOCALS), I32, ...uleb(V128_LOCALS), V128, ...gemmBody()]);
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // "\0asm", version 1
    ...section(1, [1, 0x60, 9, ...new Array<number>(9).fill(I32), 0]), // type 0: (i32 × 9) -> ()
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, 1]), // one memory, at least 1 page
    ...section(7, [2, ...name('gemm'), 0, 0, ...name('mem'), 2, 0]), // exports
    ...section(10, [1, ...body]),
  ]);
}

/** The little of the WebAssembly API used here (the library compiles without DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
export type Gemm = (
  a: number,
  aRS: number,
  aCS: number,
  b: number,
  out: number,
  R: number,
  C: number,
  L: number,
  accumulate: number,
) => void;

/** The compiled product and its memory, or undefined without WebAssembly SIMD. */
export function gemmWasm(): { gemm: Gemm; memory: WasmMemory } | undefined {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) return undefined;
  try {
    const { exports } = new api.Instance(new api.Module(gemmModuleBytes()));
    return { gemm: exports.gemm as Gemm, memory: exports.mem as WasmMemory };
  } catch {
    return undefined; // no SIMD (or no WebAssembly compilation allowed): the JS loops
  }
}
