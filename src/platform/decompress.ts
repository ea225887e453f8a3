import { decompressBzip2 } from '../core/bzip2.ts';
import type { Decompressor } from '../core/jigdo/template-data.ts';

/**
 * Decompression for the engine (injected, so src/core keeps to plain
 * JavaScript): zlib and gzip streams through the platform's
 * DecompressionStream, which Node (>= 18) and every current browser have;
 * bzip2 through src/core/bzip2.ts.
 */
export const platformDecompress: Decompressor = async (kind, data, maxLength) => {
  if (kind === 'bzip2') return decompressBzip2(data, maxLength); // no platform has bzip2: ours, in plain JavaScript
  const stream = new Blob([data.slice()]).stream().pipeThrough(new DecompressionStream(kind === 'zlib' ? 'deflate' : 'gzip'));
  // Read chunk by chunk, so that a stream expanding past maxLength is stopped there, not held whole.
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxLength) {
      await reader.cancel();
      throw new Error(`the ${kind} data holds more than the ${maxLength} bytes expected`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
};
