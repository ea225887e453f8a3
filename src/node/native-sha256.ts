import { createHash } from 'node:crypto';
import type { StreamHasherFactory } from '../core/hashing.ts';

/** Node's OpenSSL SHA-256 (uses the CPU's SHA extensions: ~4x the WASM one here). */
export const createNativeSha256: StreamHasherFactory = async () => {
  const hash = createHash('sha256');
  return {
    update: (data) => void hash.update(data),
    digest: async () => hash.digest('hex'),
  };
};
