/**
 * SHA-256 of four independent streams at once ("multi-buffer"), in
 * WebAssembly SIMD: each 128-bit value holds the same word of four lanes, so
 * one i32x4.add, v128.xor, ... does a step of four compressions. It exists for
 * the page's checkpoint verification (sha256-chain.ts), where several 16 MiB
 * segments, each starting from a known midstate, can be hashed together.
 *
 * Only the compression function is here: a lane's state is set (8 words, as a
 * checkpoint holds them), whole 64-byte blocks are compressed into it, and the
 * state is read back. Padding and the digest are left to a one-stream hasher
 * (hash-wasm) started from that state.
 *
 * The module is assembled below at load time (about 18 KB; no build step), in
 * the style of pair-roller.ts: the 64 rounds of a block are unrolled by the
 * generator, with the working variables renamed instead of moved. Its memory:
 *
 *   0      the state: word i of lanes 0..3 at 16 i (lane L at + 4 L)
 *   128    K[0..63], each splat over four lanes
 *   1152   W[t] + K[t] for the block being compressed (the "memory" schedule)
 *   4096   the input: lane L's bytes at 4096 + L * LANE_CHUNK_BYTES
 *
 * Where SIMD is missing (WebAssembly.validate fails), create() gives null.
 *
 * Speed (bench/sha256-lanes.ts, one core of an AMD EPYC, 4 x 32 MiB): about
 * 870 MB/s over the four lanes against hash-wasm's ~440-490 MB/s for one
 * stream: 2.0x in Chromium 156, 1.8x in Node 20. SIMD128 has no rotate, so
 * each rotation is two shifts and an or; a round is ~50 vector operations, ~20
 * of them shifts, and V8 spills some of the 24+ live values. The first few
 * MiB run before V8 has tiered the module up (Liftoff, ~1/3 of that speed).
 */

import { signedLeb, unsignedLeb } from './wasm-leb128.ts';
import { MODULE_HEADER, name, OP, section, SIMD, simd } from './wasm-module.ts';

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/** SHA-256's initial state (FIPS 180-4, H(0)): the state of a stream at byte 0. */
export const SHA256_INITIAL_STATE: readonly number[] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Bytes of input per lane that the module's memory holds: update() copies its inputs in pieces of this size. */
export const LANE_CHUNK_BYTES = 64 << 10;

const STATE_AT = 0;
const K_AT = 128;
const WK_AT = K_AT + 64 * 16;
const DATA_AT = 4096;
const MEMORY_PAGES = Math.ceil((DATA_AT + 4 * LANE_CHUNK_BYTES) / 65536);

/**
 * Where the message schedule lives while a block is compressed:
 * 'locals' (the default): W[t - 16..t - 1] in 16 v128 locals, computed round
 *   by round, between the rounds' steps (TurboFan allocates the registers);
 * 'memory': first the whole schedule, W[t] + K[t] for t = 0..63, into memory,
 *   then the 64 rounds, each reading its word back (fewer live values).
 * 'locals' measured ~1.3x faster in both Node 20 (V8 11.3) and Chromium 156
 * (bench/sha256-lanes.ts); 'memory' is kept to measure on other engines.
 */
export type ScheduleVariant = 'locals' | 'memory';

// Locals of compress(blocks): the parameter, then i32 p and end, then the v128 locals.
const BLOCKS = 0;
const P = 1;
const END = 2;
const V = 3; // first v128 local
const S = [V, V + 1, V + 2, V + 3, V + 4, V + 5, V + 6, V + 7]; // working variables a..h (renamed each round)
const W = Array.from({ length: 16 }, (_, i) => V + 8 + i); // W[t] in W[t % 16]
const AB = [V + 24, V + 25]; // a ^ b of this round, b ^ c of the last (alternating)
const R = [V + 26, V + 27, V + 28, V + 29]; // the input's rows while transposing
const T = [V + 30, V + 31, V + 32, V + 33];
const V128_LOCALS = 34;

// i8x16.shuffle lane patterns.
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const BYTE_SWAP = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
const UNPACK_LO_32 = [...range(0, 4), ...range(16, 4), ...range(4, 4), ...range(20, 4)];
const UNPACK_HI_32 = [...range(8, 4), ...range(24, 4), ...range(12, 4), ...range(28, 4)];
const UNPACK_LO_64 = [...range(0, 8), ...range(16, 8)];
const UNPACK_HI_64 = [...range(8, 8), ...range(24, 8)];

const get = (n: number) => [OP.localGet, ...unsignedLeb(n)];
const set = (n: number) => [OP.localSet, ...unsignedLeb(n)];
const tee = (n: number) => [OP.localTee, ...unsignedLeb(n)];
const c = (v: number) => [OP.i32Const, ...signedLeb(v)];
const add = simd(SIMD.i32x4Add);
const xor = simd(SIMD.v128Xor);
const and = simd(SIMD.v128And);
const or = simd(SIMD.v128Or);
// v128.load / store (align 2^4) at address-on-stack + offset
const load = (offset: number) => [...simd(SIMD.v128Load), 4, ...unsignedLeb(offset)];
const store = (offset: number) => [...simd(SIMD.v128Store), 4, ...unsignedLeb(offset)];
const shuffle = (lanes: number[]) => [...simd(SIMD.i8x16Shuffle), ...lanes];
const shr = (n: number) => [...c(n), ...simd(SIMD.i32x4ShrU)];
const shl = (n: number) => [...c(n), ...simd(SIMD.i32x4Shl)];

/** rotr(x, n) of local x, on the stack. */
const rotr = (x: number, n: number) => [...get(x), ...shr(n), ...get(x), ...shl(32 - n), ...or];
/** rotr(x, r1) ^ rotr(x, r2) ^ rotr(x, r3) (Σ0, Σ1). */
const bigSigma = (x: number, r1: number, r2: number, r3: number) => [...rotr(x, r1), ...rotr(x, r2), ...xor, ...rotr(x, r3), ...xor];
/** rotr(x, r1) ^ rotr(x, r2) ^ x >>> s (σ0, σ1). */
const smallSigma = (x: number, r1: number, r2: number, s: number) => [...rotr(x, r1), ...rotr(x, r2), ...xor, ...get(x), ...shr(s), ...xor];

/** W[t] for 16 <= t < 64, into its local: σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]. */
function schedule(t: number): number[] {
  const w = (back: number) => W[(t - back) & 15];
  return [...smallSigma(w(2), 17, 19, 10), ...get(w(7)), ...add, ...smallSigma(w(15), 7, 18, 3), ...add, ...get(w(16)), ...add, ...set(W[t & 15])];
}

/** W[0..15] of the block at p: each lane's 16 big-endian words, transposed so that W[t] holds word t of lanes 0..3. */
function loadBlock(): number[] {
  const out: number[] = [];
  for (let q = 0; q < 4; q++) {
    // R[L]: words 4q..4q+3 of lane L, byte-swapped to their values
    for (let lane = 0; lane < 4; lane++) out.push(...get(P), ...load(lane * LANE_CHUNK_BYTES + 16 * q), ...tee(R[lane]), ...get(R[lane]), ...shuffle(BYTE_SWAP), ...set(R[lane]));
    out.push(...get(R[0]), ...get(R[1]), ...shuffle(UNPACK_LO_32), ...set(T[0])); // r0[0] r1[0] r0[1] r1[1]
    out.push(...get(R[0]), ...get(R[1]), ...shuffle(UNPACK_HI_32), ...set(T[1])); // r0[2] r1[2] r0[3] r1[3]
    out.push(...get(R[2]), ...get(R[3]), ...shuffle(UNPACK_LO_32), ...set(T[2]));
    out.push(...get(R[2]), ...get(R[3]), ...shuffle(UNPACK_HI_32), ...set(T[3]));
    out.push(...get(T[0]), ...get(T[2]), ...shuffle(UNPACK_LO_64), ...set(W[4 * q]));
    out.push(...get(T[0]), ...get(T[2]), ...shuffle(UNPACK_HI_64), ...set(W[4 * q + 1]));
    out.push(...get(T[1]), ...get(T[3]), ...shuffle(UNPACK_LO_64), ...set(W[4 * q + 2]));
    out.push(...get(T[1]), ...get(T[3]), ...shuffle(UNPACK_HI_64), ...set(W[4 * q + 3]));
  }
  return out;
}

/**
 * Round t, with `v` the locals holding a..h and `wk` the code pushing
 * W[t] + K[t]. The new a goes into h's local, the new e into d's: the caller
 * renames (a..h become h, a, b, c, d, e, f, g's locals).
 */
function round(v: readonly number[], wk: number[], ab: number, bc: number): number[] {
  const [a, b, , d, e, f, g, h] = v;
  return [
    // h = T1 = h + Σ1(e) + Ch(e, f, g) + W[t] + K[t]
    ...get(h), ...bigSigma(e, 6, 11, 25), ...add,
    ...get(f), ...get(g), ...get(e), ...simd(SIMD.v128Bitselect), ...add,
    ...wk, ...add, ...set(h),
    // d = d + T1
    ...get(d), ...get(h), ...add, ...set(d),
    // h = T1 + Σ0(a) + Maj(a, b, c), with Maj = b ^ ((a ^ b) & (b ^ c))
    ...get(h), ...bigSigma(a, 2, 13, 22), ...add,
    ...get(b), ...get(a), ...get(b), ...xor, ...tee(ab), ...get(bc), ...and, ...xor, ...add, ...set(h),
  ];
}

/** The body of compress(blocks): the state at STATE_AT += `blocks` blocks of each lane from DATA_AT. */
function compressBody(variant: ScheduleVariant): number[] {
  const kAt = (t: number) => [...c(0), ...load(K_AT + 16 * t)];
  const out: number[] = [];
  out.push(...c(DATA_AT), ...set(P));
  out.push(...get(BLOCKS), ...c(6), OP.i32Shl, ...c(DATA_AT), OP.i32Add, ...set(END));
  out.push(OP.block, OP.void, ...get(BLOCKS), OP.i32Eqz, OP.brIf, 0, OP.loop, OP.void);
  out.push(...loadBlock());
  if (variant === 'memory') {
    // The schedule first: W[t] + K[t] into memory.
    for (let t = 0; t < 64; t++) {
      if (t >= 16) out.push(...schedule(t));
      out.push(...c(0), ...get(W[t & 15]), ...kAt(t), ...add, ...store(WK_AT + 16 * t));
    }
  }
  for (let i = 0; i < 8; i++) out.push(...c(0), ...load(STATE_AT + 16 * i), ...set(S[i]));
  let v = S.slice();
  out.push(...get(v[1]), ...get(v[2]), ...xor, ...set(AB[1])); // b ^ c for round 0
  for (let t = 0; t < 64; t++) {
    let wk: number[];
    if (variant === 'memory') {
      wk = [...c(0), ...load(WK_AT + 16 * t)];
    } else {
      if (t >= 16) out.push(...schedule(t));
      wk = [...get(W[t & 15]), ...kAt(t), ...add];
    }
    out.push(...round(v, wk, AB[t & 1], AB[(t + 1) & 1]));
    v = [v[7], v[0], v[1], v[2], v[3], v[4], v[5], v[6]];
  }
  // state += a..h (after 64 renamings, v is S again)
  for (let i = 0; i < 8; i++) out.push(...c(0), ...c(0), ...load(STATE_AT + 16 * i), ...get(v[i]), ...add, ...store(STATE_AT + 16 * i));
  // next block; loop while p != end
  out.push(...get(P), ...c(64), OP.i32Add, ...tee(P), ...get(END), OP.i32Ne, OP.brIf, 0);
  out.push(OP.end, OP.end, OP.end); // loop, block, function
  return out;
}

/** The module: exports memory and compress(blocks). */
export function sha256LanesModuleBytes(variant: ScheduleVariant = 'locals'): Uint8Array {
  const body = [2, 2, OP.i32, ...unsignedLeb(V128_LOCALS), OP.v128, ...compressBody(variant)]; // locals: 2 i32, then the v128s
  return new Uint8Array([
    ...MODULE_HEADER,
    ...section(1, [1, 0x60, 1, OP.i32, 0]), // type: (i32) -> ()
    ...section(3, [1, 0]), // one function of type 0
    ...section(5, [1, 0x00, ...unsignedLeb(MEMORY_PAGES)]), // one memory, min MEMORY_PAGES pages
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('compress'), 0x00, 0]),
    ...section(10, [1, ...unsignedLeb(body.length), ...body]),
  ]);
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports?: object): Promise<{ exports: unknown }>;
}
interface LanesExports {
  memory: { buffer: ArrayBuffer };
  compress(blocks: number): void;
}

const compiled = new Map<ScheduleVariant, Promise<object | null>>();

function compiledModule(variant: ScheduleVariant): Promise<object | null> {
  let module = compiled.get(variant);
  if (!module) {
    module = (async () => {
      const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
      const bytes = sha256LanesModuleBytes(variant);
      if (!wasm || !wasm.validate(bytes)) return null;
      try {
        return await wasm.compile(bytes); // asynchronously: a page's main thread may not compile 4 KB+ synchronously
      } catch {
        return null;
      }
    })();
    compiled.set(variant, module);
  }
  return module;
}

/** A checkpoint's 64 hex digits (sha256-chain.ts) as its eight state words. */
export function stateFromHex(hex: string): Uint32Array {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`a SHA-256 state is 64 hex digits, not ${JSON.stringify(hex)}`);
  const state = new Uint32Array(8);
  for (let i = 0; i < 8; i++) state[i] = parseInt(hex.slice(8 * i, 8 * i + 8), 16);
  return state;
}

/** Eight state words as a checkpoint's 64 hex digits (lower case, as sha256-chain.ts writes them). */
export function stateToHex(state: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += (state[i] >>> 0).toString(16).padStart(8, '0');
  return s;
}

/**
 * Four SHA-256 states, each advanced by whole blocks of its own stream. One per
 * worker; `update` copies its inputs into the module's memory LANE_CHUNK_BYTES
 * per lane at a time (the module holds about 260 KiB).
 */
export class Sha256Lanes {
  static readonly LANES = 4;
  private readonly bytes: Uint8Array;
  /** The state, transposed: word i of lane L at 4 i + L. */
  private readonly words: Uint32Array;
  private readonly compress: (blocks: number) => void;

  private constructor(exports: LanesExports) {
    this.bytes = new Uint8Array(exports.memory.buffer);
    this.words = new Uint32Array(exports.memory.buffer, STATE_AT, 32);
    this.compress = exports.compress;
    const k = new Uint32Array(exports.memory.buffer, K_AT, 256);
    for (let t = 0; t < 64; t++) k.fill(K[t], 4 * t, 4 * t + 4);
    for (let lane = 0; lane < 4; lane++) this.setState(lane, SHA256_INITIAL_STATE);
  }

  /** Four lanes at SHA-256's initial state, or null where WebAssembly SIMD is not available. */
  static async create(variant: ScheduleVariant = 'locals'): Promise<Sha256Lanes | null> {
    const module = await compiledModule(variant);
    if (!module) return null;
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const instance = await wasm.instantiate(module);
      return new Sha256Lanes(instance.exports as LanesExports);
    } catch {
      return null;
    }
  }

  /** Set lane's state: 8 words H0..H7 (a checkpoint's words, or SHA256_INITIAL_STATE). */
  setState(lane: number, state: ArrayLike<number>): void {
    checkLane(lane);
    if (state.length !== 8) throw new Error(`a SHA-256 state is 8 words, not ${state.length}`);
    for (let i = 0; i < 8; i++) this.words[4 * i + lane] = state[i];
  }

  /** Lane's state now: a new array of 8 words. */
  getState(lane: number): Uint32Array {
    checkLane(lane);
    const state = new Uint32Array(8);
    for (let i = 0; i < 8; i++) state[i] = this.words[4 * i + lane];
    return state;
  }

  /**
   * Compress inputs[L]'s blocks into lane L's state, for up to four inputs of
   * one length, a multiple of 64. A null (or missing) input leaves its lane's
   * state as it was.
   */
  update(inputs: readonly (Uint8Array | null)[]): void {
    if (inputs.length > 4) throw new Error(`Sha256Lanes has 4 lanes, not ${inputs.length}`);
    let length = -1;
    for (const input of inputs) {
      if (!input) continue;
      if (length >= 0 && input.length !== length) throw new Error(`Sha256Lanes: inputs of different lengths (${length}, ${input.length})`);
      length = input.length;
    }
    if (length <= 0) return;
    if (length % 64 !== 0) throw new Error(`Sha256Lanes: an input of ${length} bytes is not whole 64-byte blocks`);
    // Lanes without input compress whatever their memory holds; their states are put back after.
    const kept: (Uint32Array | null)[] = [0, 1, 2, 3].map((lane) => (inputs[lane] ? null : this.getState(lane)));
    for (let at = 0; at < length; at += LANE_CHUNK_BYTES) {
      const n = Math.min(LANE_CHUNK_BYTES, length - at);
      for (let lane = 0; lane < inputs.length; lane++) {
        const input = inputs[lane];
        if (input) this.bytes.set(n === length ? input : input.subarray(at, at + n), DATA_AT + lane * LANE_CHUNK_BYTES);
      }
      this.compress(n >>> 6);
    }
    kept.forEach((state, lane) => state && this.setState(lane, state));
  }
}

function checkLane(lane: number): void {
  if (!Number.isInteger(lane) || lane < 0 || lane > 3) throw new Error(`Sha256Lanes: no lane ${lane}`);
}
