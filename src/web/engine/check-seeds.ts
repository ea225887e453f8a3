import type { BlockSources } from '../../core/block-sources.ts';
import { describeError } from '../../core/errors.ts';
import { explainStorageError } from './explain-error.ts';
import type { SeedFile } from './messages.ts';

/** Seeds checked at once (each check is a 1-byte read, a round trip to the browser's file thread). */
const CHECKS_AT_ONCE = 16;

/** A seed left out of the download, and why (named and explained for the user). */
export interface SkippedSeed {
  seed: string;
  reason: string;
}

/**
 * Before the download: the seeds the plan still reads blocks from (those the
 * scan did not write into the image file) must still be readable. A picked file that was changed or removed on disk after it was
 * picked can no longer be read (NotReadableError, NotFoundError); each such
 * seed is taken out of `sources`, so the blocks it would have given are
 * planned as downloads (whole ranges, not block by block as a failed read in
 * the middle of the assembly would be), and it is reported.
 */
export async function dropUnreadableSeeds(seeds: readonly SeedFile[], sources: BlockSources): Promise<SkippedSeed[]> {
  // Only the user's files: blocks the scan already wrote into the image file are not read from them again.
  // (An indexed loop: this runs once, cold, over every block; a for-of over the array took ~20 ms here.)
  const used = new Uint8Array(seeds.length);
  const seedOf = sources.seed;
  for (let k = 0; k < seedOf.length; k++) {
    const s = seedOf[k];
    if (s >= 0 && s < used.length) used[s] = 1;
  }
  const unreadable = new Map<number, string>();
  const queue: number[] = [];
  used.forEach((u, i) => u && queue.push(i));
  const check = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const { file, name } = seeds[i];
      try {
        await file.slice(0, 1).arrayBuffer();
      } catch (error) {
        const known = (error as { name?: string })?.name;
        unreadable.set(i, known ? explainStorageError(error, name) : `${name}: ${describeError(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CHECKS_AT_ONCE }, check));
  if (unreadable.size === 0) return [];
  for (let k = 0; k < sources.blockCount; k++) if (unreadable.has(sources.seed[k])) sources.clear(k);
  return [...unreadable].sort((a, b) => a[0] - b[0]).map(([i, reason]) => ({ seed: seeds[i].name, reason }));
}
