/**
 * The scan's hottest loop for seqMatches 2 (rollPairToCandidate in
 * scan-seed.ts), as a small WebAssembly function: it rolls the weak sums of
 * two consecutive windows one byte at a time and stops where both bit filters
 * accept their pair key. Here it runs at about half the time per byte of the
 * JavaScript version (no bounds checks, plain 32-bit arithmetic). It works on
 * one WebAssembly memory holding the sums, the two filters and the scan's
 * window buffer. The module is assembled below, byte by byte (no build step),
 * and is checked against the readable definitions in the tests.
 *
 * Where the engine has SIMD128, a step before the byte-by-byte loop tests
 * eight positions at once: the sums of all eight as prefix sums in i16x8
 * lanes, their keys and filter positions in i32x4 lanes, and the filter
 * words read one by one (WebAssembly has no gather). Only where one of the
 * eight passes both filters does the byte-by-byte loop take them. On the
 * Debian pair (163.5 MB rolled, one thread, Node 20) the roller took 461-468
 * ms against 539-552 ms without it.
 */

import { signedLeb, unsignedLeb } from './wasm-leb128.ts';
import { MODULE_HEADER, name, OP, section, SIMD, simd } from './wasm-module.ts';

// Parameters and locals of roll(), by index.
const P = { i: 0, stop: 1, bs: 2, shift: 3, mask: 4, bits: 5, bitsShift: 6, bits2: 7, bits2Shift: 8, sums: 9 } as const;
const L = { a: 10, b: 11, a2: 12, b2: 13, key: 14, h: 15, out: 16, mid: 17, span: 18, j: 19, left: 20, acc: 21, pow: 22 } as const;
// v128 locals (SIMD module only): eight positions' sums as i16x8, then i32x4 values for one half of them.
const V = { a: 23, b: 24, a2: 25, b2: 26, out: 27, mid: 28, key: 29, h1: 30, h2: 31, at1: 32, at2: 33, mask: 34, bits: 35, bits2: 36 } as const;
const PARAMS = 10;
const I32_LOCALS = 13;
const V128_LOCALS = 14;

/** Where the SIMD step puts the eight lanes' filter positions (128 bytes), after the sums (bytes 0..15). */
const SCRATCH_AT = 16;
/** Where the filters start in the memory. */
const FILTERS_AT = 256;

/** Positions the SIMD step tests at once. */
const LANES = 8;

const get = (n: number) => [OP.localGet, n];
const set = (n: number) => [OP.localSet, n];
const c = (v: number) => [OP.i32Const, ...signedLeb(v)];
const load = (offset: number) => [OP.i32Load, 2, ...unsignedLeb(offset)];
const store = (offset: number) => [OP.i32Store, 2, ...unsignedLeb(offset)];
const i32x4 = (v: number) => simd(SIMD.v128Const, ...[0, 0, 0, 0].flatMap(() => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]));
const ZERO = simd(SIMD.v128Const, ...Array(16).fill(0));
/** i8x16.shuffle of (x, y) that moves y up by n bytes, zeros below. */
const shiftUp = (n: number) => simd(SIMD.i8x16Shuffle, ...Array.from({ length: 16 }, (_, r) => (r < n ? 0 : 16 + r - n)));
/** i8x16.shuffle of (lo16, hi16) into i32 lanes lo16[k] | hi16[k] << 16, for k = first..first + 3. */
const interleave = (first: number) => simd(SIMD.i8x16Shuffle, ...[0, 1, 2, 3].flatMap((k) => [2 * (first + k), 2 * (first + k) + 1, 16 + 2 * (first + k), 17 + 2 * (first + k)]));

/** The hash of a pair key into the first filter: imul(key, 0x9e3779b1) >>> bitsShift. */
const FILTER1_FACTOR = 0x9e3779b1;
/** And into the second: imul(key ^ key >>> 16, 0x2c1b3c6d) >>> bits2Shift. */
const FILTER2_FACTOR = 0x2c1b3c6d;
/** key = imul(weak(a, b), 0x01000193) ^ weak(a2, b2) (BlockIndex.pairKey). */
const KEY_FACTOR = 0x01000193;

/**
 * The SIMD step: with the sums at window index i in the scalar locals, the
 * sums at i + 1..i + 8 in i16x8 lanes (the sums only matter mod 2^16), their
 * pair keys and filter positions. Leaves acc with bit 0 set if any of the
 * eight positions passes both filters; the second filter (larger, mostly
 * outside L2) is read only where the first passed somewhere.
 */
function simdStep(): number[] {
  const local = (n: number) => [OP.localGet, n];
  const setV = (n: number) => [OP.localSet, n];
  const add16 = simd(SIMD.i16x8Add, 1);
  const sub16 = simd(SIMD.i16x8Sub, 1);
  const mul16 = simd(SIMD.i16x8Mul, 1);
  const add32 = simd(SIMD.i32x4Add, 1);
  const mul32 = simd(SIMD.i32x4Mul, 1);
  const shl32 = simd(SIMD.i32x4Shl, 1);
  const shrU32 = simd(SIMD.i32x4ShrU, 1);
  const and = simd(SIMD.v128And);
  const xor = simd(SIMD.v128Xor);
  // x (on the stack) -> its inclusive prefix sums over the eight i16 lanes
  const prefix = (tmp: number) => [
    ...setV(tmp),
    ...[2, 4, 8].flatMap((n) => [...local(tmp), ...ZERO, ...local(tmp), ...shiftUp(n), ...add16, ...setV(tmp)]),
    ...local(tmp),
  ];
  // the eight bytes at window index i (+ the local `plus`), as i16x8
  const loadBytes = (plus?: number) => [...get(P.i), ...(plus === undefined ? [] : [...get(plus), OP.i32Add]), ...simd(SIMD.v128Load8x8U, 0, 0)];
  const splat16 = (n: number) => [...get(n), ...simd(SIMD.i16x8Splat)];
  // The lanes' filter positions go through memory (SCRATCH_AT: at1, h1, at2, h2, eight lanes
  // each): reading lanes back with loads is cheaper than extracting them (which competes with
  // the shuffles).
  const spill = (first: number) =>
    [V.at1, V.h1, V.at2, V.h2].flatMap((v, n) => [...c(0), OP.localGet, v, ...simd(SIMD.v128Store, 4, ...unsignedLeb(SCRATCH_AT + 32 * n + 4 * first))]);
  const lane = (n: number, k: number) => [...c(0), ...load(SCRATCH_AT + 32 * n + 4 * k)];
  const lanes = Array.from({ length: LANES }, (_, k) => k);
  // acc |= word at at1[k] >>> h1[k], for the eight lanes k (the first filter, which stays in L2)
  const testFirst = lanes.flatMap((k) => [...lane(0, k), ...load(0), ...lane(1, k), OP.i32ShrU, ...get(L.acc), OP.i32Or, ...set(L.acc)]);
  // acc |= (word at at1[k] >>> h1[k]) & (word at at2[k] >>> h2[k]): both filters, read only when the first passed somewhere
  const testBoth = lanes.flatMap((k) => [
    ...lane(0, k), ...load(0), ...lane(1, k), OP.i32ShrU,
    ...lane(2, k), ...load(0), ...lane(3, k), OP.i32ShrU,
    OP.i32And, ...get(L.acc), OP.i32Or, ...set(L.acc),
  ]);
  // the keys of lanes first..first + 3 and their filter positions, spilled
  const half = (first: number) => [
    ...local(V.b), ...local(V.a), ...interleave(first), ...local(V.mask), ...and, ...i32x4(KEY_FACTOR), ...mul32,
    ...local(V.b2), ...local(V.a2), ...interleave(first), ...local(V.mask), ...and, ...xor, ...setV(V.key),
    ...local(V.key), ...i32x4(FILTER1_FACTOR), ...mul32, ...get(P.bitsShift), ...shrU32, ...setV(V.h1),
    ...local(V.key), ...local(V.key), ...c(16), ...shrU32, ...xor, ...i32x4(FILTER2_FACTOR), ...mul32, ...get(P.bits2Shift), ...shrU32, ...setV(V.h2),
    ...local(V.h1), ...c(5), ...shrU32, ...c(2), ...shl32, ...local(V.bits), ...add32, ...setV(V.at1),
    ...local(V.h2), ...c(5), ...shrU32, ...c(2), ...shl32, ...local(V.bits2), ...add32, ...setV(V.at2),
    ...spill(first),
  ];
  return [
    // out[k] = mem[i + k], mid[k] = mem[i + bs + k]
    ...loadBytes(), ...setV(V.out),
    ...loadBytes(P.bs), ...setV(V.mid),
    // a[k] = a + prefix(mid - out); b[k] = b + prefix(a[k] - out * 2^shift)
    ...local(V.mid), ...local(V.out), ...sub16, ...prefix(V.a), ...splat16(L.a), ...add16, ...setV(V.a),
    ...local(V.a), ...local(V.out), ...splat16(L.pow), ...mul16, ...sub16, ...prefix(V.b), ...splat16(L.b), ...add16, ...setV(V.b),
    // a2[k] = a2 + prefix(mem[i + span + k] - mid); b2[k] = b2 + prefix(a2[k] - mid * 2^shift)
    ...loadBytes(L.span), ...local(V.mid), ...sub16, ...prefix(V.a2), ...splat16(L.a2), ...add16, ...setV(V.a2),
    ...local(V.a2), ...local(V.mid), ...splat16(L.pow), ...mul16, ...sub16, ...prefix(V.b2), ...splat16(L.b2), ...add16, ...setV(V.b2),
    ...half(0),
    ...half(4),
    ...c(0), ...set(L.acc),
    ...testFirst,
    ...get(L.acc), ...c(1), OP.i32And,
    OP.if, OP.void,
    ...c(0), ...set(L.acc),
    ...testBoth,
    OP.end,
  ];
}

/** The body of roll(i, stop, bs, shift, mask, bits, bitsShift, bits2, bits2Shift, sums) -> i. */
function rollBody(withSimd: boolean): number[] {
  // ((x << 16) | (y & 0xffff)) & mask: the sums are kept unmasked in the loop (their low 16 bits are right, mod 2^16)
  const weak = (x: number, y: number) => [...get(x), ...c(16), OP.i32Shl, ...get(y), ...c(0xffff), OP.i32And, OP.i32Or, ...get(P.mask), OP.i32And];
  // (filter word at table + (h >>> 5) * 4) >>> h & 1
  const testBit = (table: number) => [...get(table), ...get(L.h), ...c(5), OP.i32ShrU, ...c(2), OP.i32Shl, OP.i32Add, ...load(0), ...get(L.h), OP.i32ShrU, ...c(1), OP.i32And];
  // (v & 0xffff)
  const low16 = [...c(0xffff), OP.i32And];
  const lane7 = (from: number, to: number) => [OP.localGet, from, ...simd(SIMD.i16x8ExtractLaneU, LANES - 1), ...set(to)];
  // Where no position among the next eight passes both filters, skip them at once;
  // otherwise take them one by one (left counts down) so the first one that passes is where roll() stops.
  const simdSkip = withSimd
    ? [
        ...get(L.left), OP.i32Eqz, ...get(P.i), ...c(LANES + 1), OP.i32Add, ...get(P.stop), OP.i32LeU, OP.i32And,
        OP.if, OP.void,
        ...simdStep(),
        ...get(L.acc), ...c(1), OP.i32And, OP.i32Eqz,
        OP.if, OP.void,
        ...lane7(V.a, L.a), ...lane7(V.b, L.b), ...lane7(V.a2, L.a2), ...lane7(V.b2, L.b2),
        ...get(P.i), ...c(LANES), OP.i32Add, ...set(P.i),
        OP.br, 2, // to the advance loop: the position reached was tested
        OP.end,
        ...c(LANES), ...set(L.left),
        OP.end,
        // left -= left != 0
        ...get(L.left), ...get(L.left), ...c(0), OP.i32Ne, OP.i32Sub, ...set(L.left),
      ]
    : [];
  const simdSetup = withSimd
    ? [
        // pow = shift < 16 ? 1 << shift : 0 (out << shift, mod 2^16, as a product)
        ...c(1), ...get(P.shift), OP.i32Shl, ...c(0), ...get(P.shift), ...c(16), OP.i32LtU, OP.select, ...set(L.pow),
        ...get(P.mask), ...simd(SIMD.i32x4Splat), ...set(V.mask),
        ...get(P.bits), ...simd(SIMD.i32x4Splat), ...set(V.bits),
        ...get(P.bits2), ...simd(SIMD.i32x4Splat), ...set(V.bits2),
      ]
    : [];
  return [
    // a, b, a2, b2 from sums[0..3]; span = 2 bs
    ...get(P.sums), ...load(0), ...set(L.a),
    ...get(P.sums), ...load(4), ...set(L.b),
    ...get(P.sums), ...load(8), ...set(L.a2),
    ...get(P.sums), ...load(12), ...set(L.b2),
    ...get(P.bs), ...c(1), OP.i32Shl, ...set(L.span),
    ...simdSetup,
    OP.block, OP.void,
    OP.loop, OP.void, // test the position i
    // key = imul(weak(a, b), 0x01000193) ^ weak(a2, b2)
    ...weak(L.a, L.b), ...c(KEY_FACTOR), OP.i32Mul, ...weak(L.a2, L.b2), OP.i32Xor, ...set(L.key),
    // h = imul(key, 0x9e3779b1) >>> bitsShift
    ...get(L.key), ...c(FILTER1_FACTOR), OP.i32Mul, ...get(P.bitsShift), OP.i32ShrU, ...set(L.h),
    ...testBit(P.bits),
    OP.if, OP.void,
    // h = imul(key ^ key >>> 16, 0x2c1b3c6d) >>> bits2Shift; both filters accept: done
    ...get(L.key), ...get(L.key), ...c(16), OP.i32ShrU, OP.i32Xor, ...c(FILTER2_FACTOR), OP.i32Mul, ...get(P.bits2Shift), OP.i32ShrU, ...set(L.h),
    ...testBit(P.bits2),
    OP.brIf, 2,
    OP.end,
    OP.loop, OP.void, // advance from i
    ...simdSkip,
    // if (++i >= stop) done
    ...get(P.i), ...c(1), OP.i32Add, OP.localTee, P.i, ...get(P.stop), OP.i32GeU, OP.brIf, 2,
    // j = i - 1; out = mem[j]; mid = mem[j + bs]
    ...get(P.i), ...c(1), OP.i32Sub, ...set(L.j),
    ...get(L.j), OP.i32Load8U, 0, 0, ...set(L.out),
    ...get(L.j), ...get(P.bs), OP.i32Add, OP.i32Load8U, 0, 0, ...set(L.mid),
    // a = a - out + mid; b = b - (out << shift) + a (mod 2^32; masked to 16 bits where read)
    ...get(L.a), ...get(L.out), OP.i32Sub, ...get(L.mid), OP.i32Add, ...set(L.a),
    ...get(L.b), ...get(L.out), ...get(P.shift), OP.i32Shl, OP.i32Sub, ...get(L.a), OP.i32Add, ...set(L.b),
    // a2 = a2 - mid + mem[j + span]; b2 = b2 - (mid << shift) + a2
    ...get(L.a2), ...get(L.mid), OP.i32Sub, ...get(L.j), ...get(L.span), OP.i32Add, OP.i32Load8U, 0, 0, OP.i32Add, ...set(L.a2),
    ...get(L.b2), ...get(L.mid), ...get(P.shift), OP.i32Shl, OP.i32Sub, ...get(L.a2), OP.i32Add, ...set(L.b2),
    OP.br, 1, // test the new position
    OP.end, // advance loop
    OP.end, // test loop
    OP.end, // block
    ...get(P.sums), ...get(L.a), ...low16, ...store(0),
    ...get(P.sums), ...get(L.b), ...low16, ...store(4),
    ...get(P.sums), ...get(L.a2), ...low16, ...store(8),
    ...get(P.sums), ...get(L.b2), ...low16, ...store(12),
    ...get(P.i),
    OP.end,
  ];
}

/** The module: imports env.memory, exports roll; with or without the SIMD step. */
function moduleBytes(withSimd: boolean): Uint8Array {
  const locals = withSimd ? [2, I32_LOCALS, OP.i32, V128_LOCALS, OP.v128] : [1, I32_LOCALS, OP.i32];
  const body = [...locals, ...rollBody(withSimd)];
  return new Uint8Array([
    ...MODULE_HEADER,
    ...section(1, [1, 0x60, PARAMS, ...Array(PARAMS).fill(OP.i32), 1, OP.i32]), // type: (i32 x 10) -> i32
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]), // import memory, min 1 page
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name('roll'), 0x00, 0]), // export it as "roll"
    ...section(10, [1, ...unsignedLeb(body.length), ...body]),
  ]);
}

interface WasmHost {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  validate(bytes: Uint8Array): boolean;
}

const compiled = new Map<boolean, object | null>();

/**
 * The compiled module (the SIMD one where the engine has SIMD128, else the
 * plain one), or null where WebAssembly cannot run (the scan then uses its
 * JavaScript loop).
 */
function compiledModule(wantSimd: boolean): object | null {
  const cached = compiled.get(wantSimd);
  if (cached !== undefined) return cached;
  let module: object | null = null;
  try {
    const host = (globalThis as { WebAssembly?: WasmHost }).WebAssembly;
    if (host) {
      const simdBytes = wantSimd ? moduleBytes(true) : null;
      module = new host.Module(simdBytes && host.validate(simdBytes) ? simdBytes : moduleBytes(false));
    }
  } catch {
    module = null;
  }
  compiled.set(wantSimd, module);
  return module;
}

type RollFunction = (i: number, stop: number, bs: number, shift: number, mask: number, bits: number, bitsShift: number, bits2: number, bits2Shift: number, sums: number) => number;

/**
 * One scan's WebAssembly memory: the sums (bytes 0..15), the two filters of
 * an index, and the window buffer, with roll() working on them. Made for a
 * window size and filter sizes; the filters are copied in by load().
 */
export class PairRoller {
  /** Tests set this to false to run the JavaScript loop instead. */
  static enabled = true;
  /** Tests set this to false to run the WebAssembly loop without its SIMD step. */
  static simd = true;
  readonly window: Uint8Array;
  readonly sums: Int32Array;
  /** Byte offsets in the memory. */
  readonly windowAt: number;
  readonly bitsAt: number;
  readonly bits2At: number;
  private readonly rollFn: RollFunction;
  private readonly memory: Uint8Array;
  private loaded: Int32Array | undefined;

  private constructor(module: object, windowBytes: number, bitsBytes: number, bits2Bytes: number) {
    const host = (globalThis as unknown as { WebAssembly: WasmHost }).WebAssembly;
    this.bitsAt = FILTERS_AT;
    this.bits2At = this.bitsAt + bitsBytes;
    this.windowAt = this.bits2At + bits2Bytes;
    const pages = Math.ceil((this.windowAt + windowBytes) / 65536);
    const memory = new host.Memory({ initial: pages });
    const instance = new host.Instance(module, { env: { memory } });
    this.rollFn = instance.exports.roll as RollFunction;
    this.memory = new Uint8Array(memory.buffer);
    this.window = new Uint8Array(memory.buffer, this.windowAt, windowBytes);
    this.sums = new Int32Array(memory.buffer, 0, 4);
  }

  /** A roller for this window size and these filters, or null where WebAssembly is not available. */
  static create(windowBytes: number, bits: Int32Array, bits2: Int32Array): PairRoller | null {
    const module = PairRoller.enabled ? compiledModule(PairRoller.simd) : null;
    if (!module) return null;
    try {
      return new PairRoller(module, windowBytes, bits.byteLength, bits2.byteLength);
    } catch {
      return null;
    }
  }

  /** Can this roller serve filters of these sizes? */
  fits(bits: Int32Array, bits2: Int32Array): boolean {
    return this.bits2At - this.bitsAt === bits.byteLength && this.windowAt - this.bits2At === bits2.byteLength;
  }

  /** Copy an index's filters in (once per index). */
  load(bits: Int32Array, bits2: Int32Array): void {
    if (this.loaded === bits) return;
    this.memory.set(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), this.bitsAt);
    this.memory.set(new Uint8Array(bits2.buffer, bits2.byteOffset, bits2.byteLength), this.bits2At);
    this.loaded = bits;
  }

  /**
   * rollPairToCandidate on the window: from window index i, with `sums`
   * holding the pair's sums there, to the first index where both filters
   * accept, or `stop`. Returns that index; `sums` hold the sums there.
   */
  roll(i: number, stop: number, bs: number, shift: number, mask: number, bitsShift: number, bits2Shift: number): number {
    const at = this.windowAt;
    return this.rollFn(at + i, at + stop, bs, shift, mask, this.bitsAt, bitsShift, this.bits2At, bits2Shift, 0) - at;
  }
}
