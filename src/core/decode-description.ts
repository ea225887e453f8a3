import { type DecodeOptions, decodeManifest } from './manifest/decode-manifest.ts';
import type { Manifest } from './manifest/manifest.ts';
import { decodeZsync } from './zsync/decode-zsync.ts';
import { zsyncManifest } from './zsync/zsync-manifest.ts';

/** "zsync: " */
const ZSYNC_START = [0x7a, 0x73, 0x79, 0x6e, 0x63, 0x3a, 0x20];

/**
 * Decode what the user pointed us at, by its content (not its name): our
 * manifest, or a zsync 0.6.2 control file. Anything else gets our manifest's
 * "not recognized" error.
 */
export async function decodeDescription(bytes: Uint8Array, source: string, options: DecodeOptions = {}): Promise<Manifest> {
  if (ZSYNC_START.every((b, i) => bytes[i] === b)) return zsyncManifest(decodeZsync(bytes, source));
  return decodeManifest(bytes, source, options);
}
