import { createHash } from 'node:crypto';
import type { StreamHasherFactory } from '../core/hashing.ts';


/** Node's OpenSSL SHA-256 or SHA-1 (uses the CPU's SHA extensions: ~4x the WASM one here). */
export const createNativeHasher: StreamHasherFactory = async (algorithm) => {
  const hash = createHash(algorithm);
  return {
    update: (data) => void hash.update(data),
    digest: async () => hash.digest('hex'),
  };
};
