import type { SeedReader } from '../../core/io.ts';

/** Sequential reads are served from slices this large: a Blob slice costs ~1 ms of overhead, so 1 MB reads run at 330 MB/s and 16 MB reads at 830 MB/s (measured in Chromium). */
const READ_AHEAD = 16 << 20;

/**
 * A seed over a browser File (or Blob), read in slices: a File posted to a
 * worker is a reference, so nothing is loaded whole. Sequential reads are
 * served from a read-ahead slice (reading forward past a short gap, as the
 * assembly does when it skips a changed file, counts as sequential); random
 * reads read exactly what is asked.
 * A file changed on disk after it was picked fails with NotReadableError,
 * which the engine reports.
 */
export function fileSeedReader(file: Blob, name: string, readAhead = READ_AHEAD): SeedReader {
  let cache: Uint8Array | null = null;
  let cacheStart = 0;
  let nextSequential = 0;
  return {
    name,
    size: file.size,
    async readInto(position, target) {
      const end = Math.min(file.size, position + target.length);
      if (end <= position) return 0;
      if (cache && position >= cacheStart && end <= cacheStart + cache.length) {
        target.set(cache.subarray(position - cacheStart, end - cacheStart));
      } else {
        const forward = position >= nextSequential && position - nextSequential < readAhead;
        const want = forward ? Math.max(end - position, readAhead) : end - position;
        const bytes = new Uint8Array(await file.slice(position, Math.min(file.size, position + want)).arrayBuffer());
        if (bytes.length < end - position) throw new Error(`${name}: the file became shorter while it was read`);
        cache = bytes.length > end - position ? bytes : null;
        cacheStart = position;
        target.set(bytes.subarray(0, end - position));
      }
      nextSequential = end;
      return end - position;
    },
  };
}
