/**
 * The scan's hottest loop for seqMatches 2 (rollPairToCandidate in
 * scan-seed.ts), as a small WebAssembly function: it rolls the weak sums of
 * two consecutive windows one byte at a time and stops where both bit filters
 * accept their pair key. Here it runs at about half the time per byte of the
 * JavaScript version (no bounds checks, plain 32-bit arithmetic). It works on
 * one WebAssembly memory holding the sums, the two filters and the scan's
 * window buffer. The module is assembled below, byte by byte (it is 200 bytes;
 * no build step), and is checked against the JavaScript loop in the tests.
 */

import { signedLeb, unsignedLeb } from './wasm-leb128.ts';

// The instructions used (WebAssembly 1.0 opcodes).
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Store: 0x36,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  void: 0x40,
} as const;

// Parameters and locals of roll(), by index.
const P = { i: 0, stop: 1, bs: 2, shift: 3, mask: 4, bits: 5, bitsShift: 6, bits2: 7, bits2Shift: 8, sums: 9 } as const;
const L = { a: 10, b: 11, a2: 12, b2: 13, key: 14, h: 15, out: 16, mid: 17, span: 18, j: 19 } as const;
const PARAMS = 10;
const LOCALS = 10;

/** The body of roll(i, stop, bs, shift, mask, bits, bitsShift, bits2, bits2Shift, sums) -> i. */
function rollBody(): number[] {
  const get = (n: number) => [OP.localGet, n];
  const set = (n: number) => [OP.localSet, n];
  const c = (v: number) => [OP.i32Const, ...signedLeb(v)];
  const load = (offset: number) => [OP.i32Load, 2, ...unsignedLeb(offset)];
  const store = (offset: number) => [OP.i32Store, 2, ...unsignedLeb(offset)];
  // ((x << 16) | (y & 0xffff)) & mask: the sums are kept unmasked in the loop (their low 16 bits are right, mod 2^16)
  const weak = (x: number, y: number) => [...get(x), ...c(16), OP.i32Shl, ...get(y), ...c(0xffff), OP.i32And, OP.i32Or, ...get(P.mask), OP.i32And];
  // (filter word at table + (h >>> 5) * 4) >>> h & 1
  const testBit = (table: number) => [...get(table), ...get(L.h), ...c(5), OP.i32ShrU, ...c(2), OP.i32Shl, OP.i32Add, ...load(0), ...get(L.h), OP.i32ShrU, ...c(1), OP.i32And];
  // (v & 0xffff)
  const low16 = [...c(0xffff), OP.i32And];
  return [
    // a, b, a2, b2 from sums[0..3]; span = 2 bs
    ...get(P.sums), ...load(0), ...set(L.a),
    ...get(P.sums), ...load(4), ...set(L.b),
    ...get(P.sums), ...load(8), ...set(L.a2),
    ...get(P.sums), ...load(12), ...set(L.b2),
    ...get(P.bs), ...c(1), OP.i32Shl, ...set(L.span),
    OP.block, OP.void,
    OP.loop, OP.void,
    // key = imul(weak(a, b), 0x01000193) ^ weak(a2, b2)
    ...weak(L.a, L.b), ...c(0x01000193), OP.i32Mul, ...weak(L.a2, L.b2), OP.i32Xor, ...set(L.key),
    // h = imul(key, 0x9e3779b1) >>> bitsShift
    ...get(L.key), ...c(0x9e3779b1), OP.i32Mul, ...get(P.bitsShift), OP.i32ShrU, ...set(L.h),
    ...testBit(P.bits),
    OP.if, OP.void,
    // h = imul(key ^ key >>> 16, 0x2c1b3c6d) >>> bits2Shift; both filters accept: done
    ...get(L.key), ...get(L.key), ...c(16), OP.i32ShrU, OP.i32Xor, ...c(0x2c1b3c6d), OP.i32Mul, ...get(P.bits2Shift), OP.i32ShrU, ...set(L.h),
    ...testBit(P.bits2),
    OP.brIf, 2,
    OP.end,
    // if (++i >= stop) done
    ...get(P.i), ...c(1), OP.i32Add, OP.localTee, P.i, ...get(P.stop), OP.i32GeU, OP.brIf, 1,
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
    OP.br, 0,
    OP.end, // loop
    OP.end, // block
    ...get(P.sums), ...get(L.a), ...low16, ...store(0),
    ...get(P.sums), ...get(L.b), ...low16, ...store(4),
    ...get(P.sums), ...get(L.a2), ...low16, ...store(8),
    ...get(P.sums), ...get(L.b2), ...low16, ...store(12),
    ...get(P.i),
    OP.end,
  ];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];

/** The module: imports env.memory, exports roll. */
function moduleBytes(): Uint8Array {
  const body = [1, LOCALS, 0x7f, ...rollBody()]; // one group of LOCALS i32 locals
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, PARAMS, ...Array(PARAMS).fill(0x7f), 1, 0x7f]), // type: (i32 x 10) -> i32
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
}

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly cannot run (the scan then uses its JavaScript loop). */
function compiledModule(): object | null {
  if (compiled !== undefined) return compiled;
  try {
    const host = (globalThis as { WebAssembly?: WasmHost }).WebAssembly;
    compiled = host ? new host.Module(moduleBytes()) : null;
  } catch {
    compiled = null;
  }
  return compiled;
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
    this.bitsAt = 64;
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
    const module = PairRoller.enabled ? compiledModule() : null;
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
