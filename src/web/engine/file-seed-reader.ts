import type { SeedReader } from '../../core/io.ts';

/**
 * A seed over a browser File (or Blob), read in slices: a File posted to a
 * worker is a reference, so nothing is loaded whole. A file changed on disk
 * after it was picked fails with NotReadableError, reported by the engine.
 */
export function fileSeedReader(file: Blob, name: string): SeedReader {
  return {
    name,
    size: file.size,
    async readInto(position, target) {
      const end = Math.min(file.size, position + target.length);
      if (end <= position) return 0;
      const bytes = new Uint8Array(await file.slice(position, end).arrayBuffer());
      target.set(bytes);
      return bytes.length;
    },
  };
}
