/**
 * Hash functions behind small interfaces, so Node can plug in its native
 * SHA-256 while the browser uses WebAssembly (hash-wasm), and the engine does
 * not care which.
 */
import { createMD4, createMD5, createSHA1, createSHA256, createXXHash128, type IHasher } from 'hash-wasm';
import type { ChecksumAlgorithm } from './manifest/manifest.ts';
import { XXH128_WASM_BASE64 } from './xxh128-wasm.ts';

/**
 * An incremental hash of a whole stream (the image's SHA-256). update() may
 * hand the work to another thread, so `data` must be copied if kept, and the
 * digest is asynchronous.
 */
export interface StreamHasher {
  /** May return a promise (a hasher on another thread waiting for room): the next update waits for it. */
  update(data: Uint8Array): void | Promise<void>;
  /** Lowercase hex digest; the hasher cannot be updated afterwards. */
  digest(): Promise<string>;
}

/** Makes a fresh hasher of the image's checksum algorithm. */
export type StreamHasherFactory = (algorithm: ChecksumAlgorithm) => Promise<StreamHasher>;

/** Names of the per-block strong hashes a block table may use. */
export type StrongHashName = 'xxh128' | 'md4';

/**
 * Full-length digest of one block. Synchronous: it runs in the scan loop. The
 * array returned may be the hash's own buffer, valid until the next call
 * (copy what you keep; callers compare a prefix at once).
 */
export type BlockHashFunction = (block: Uint8Array) => Uint8Array;

export const strongHashDigestLength: Record<StrongHashName, number> = { xxh128: 16, md4: 16 };

function fromHashWasm(hasher: IHasher): BlockHashFunction {
  return (block) => {
    hasher.init();
    hasher.update(block);
    return hasher.digest('binary');
  };
}

/** A block hash function (a fresh WASM instance: one per worker/scan, never shared across threads). */
export async function createBlockHash(name: StrongHashName): Promise<BlockHashFunction> {
  switch (name) {
    case 'xxh128':
      return (await directXxh128()) ?? fromHashWasm(await createXXHash128());
    case 'md4':
      return fromHashWasm(await createMD4());
  }
}

/** SHA-256 (or SHA-1, MD5) through hash-wasm: works everywhere; Node swaps in its native one. */
export const createWasmHasher: StreamHasherFactory = async (algorithm) => {
  const hasher = algorithm === 'sha1' ? await createSHA1() : algorithm === 'md5' ? await createMD5() : await createSHA256();
  hasher.init();
  return {
    update: (data) => void hasher.update(data),
    digest: async () => hasher.digest('hex'),
  };
};

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i].toString(16).padStart(2, '0');
  return s;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

interface Xxh128Exports {
  memory: { buffer: ArrayBuffer };
  Hash_GetBuffer(): number;
  Hash_Init(bits: number): void;
  Hash_Update(length: number): void;
  Hash_Final(padding: number): void;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports?: object): Promise<{ exports: unknown }>;
}

let xxh128Module: Promise<object> | undefined;

/**
 * XXH3-128 of a block without allocating (xxh128-wasm.ts): the block goes
 * through the module's 16 KiB buffer, the digest is read from it. Returns the
 * buffer's first 16 bytes: valid until the next call. Null where it cannot run.
 */
async function directXxh128(): Promise<BlockHashFunction | null> {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  try {
    xxh128Module ??= wasm.compile(decodeBase64(XXH128_WASM_BASE64));
    const instance = await wasm.instantiate(await xxh128Module);
    const exports = instance.exports as Xxh128Exports;
    const CHUNK = 16 << 10;
    const io = new Uint8Array(exports.memory.buffer, exports.Hash_GetBuffer(), CHUNK);
    const digest = io.subarray(0, 16);
    return (block) => {
      io.fill(0, 0, 8); // the seed: 0
      exports.Hash_Init(0);
      for (let at = 0; at < block.length; at += CHUNK) {
        const n = Math.min(CHUNK, block.length - at);
        io.set(n === block.length ? block : block.subarray(at, at + n));
        exports.Hash_Update(n);
      }
      exports.Hash_Final(0);
      return digest;
    };
  } catch {
    return null;
  }
}

function decodeBase64(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const value = new Uint8Array(128);
  for (let i = 0; i < alphabet.length; i++) value[alphabet.charCodeAt(i)] = i;
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    acc = (acc << 6) | value[clean.charCodeAt(i)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}
