import { decompressBzip2 } from '../core/bzip2.ts';
import type { Decompressor } from '../core/jigdo/template-data.ts';

/**
 * Decompression for the engine (injected, so src/core keeps to plain
 * JavaScript): zlib and gzip streams through the platform's
 * DecompressionStream, which Node (>= 18) and every current browser have;
 * bzip2 through src/core/bzip2.ts.
 */
export const platformDecompress: Decompressor = async (kind, data) => {
  if (kind === 'bzip2') return decompressBzip2(data); // no platform has bzip2: ours, in plain JavaScript
  const stream = new Blob([data.slice()]).stream().pipeThrough(new DecompressionStream(kind === 'zlib' ? 'deflate' : 'gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};
