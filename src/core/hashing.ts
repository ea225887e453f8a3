/**
 * Hash functions behind small interfaces, so Node can plug in its native
 * SHA-256 while the browser uses WebAssembly (hash-wasm), and the engine does
 * not care which.
 */
import { createMD4, createMD5, createSHA1, createSHA256, createXXHash128, type IHasher } from 'hash-wasm';
import type { ChecksumAlgorithm } from './manifest/manifest.ts';

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

/** Full-length digest of one block, in a new array (callers may keep it; they compare a prefix). Synchronous: it runs in the scan loop. */
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
      return fromHashWasm(await createXXHash128());
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
