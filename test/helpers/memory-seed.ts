import type { SeedReader } from '../../src/core/io.ts';

/** A seed held in memory, counting reads (for unit tests of the engine). */
export function memorySeed(name: string, data: Uint8Array): SeedReader & { reads: number; bytesRead: number } {
  const seed = {
    name,
    size: data.length,
    reads: 0,
    bytesRead: 0,
    async readInto(position: number, target: Uint8Array) {
      const part = data.subarray(position, position + target.length);
      target.set(part);
      seed.reads++;
      seed.bytesRead += part.length;
      return part.length;
    },
  };
  return seed;
}
