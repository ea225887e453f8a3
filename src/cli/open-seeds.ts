import { collectSeedFiles } from '../node/collect-seed-files.ts';
import { type FileSeedReader, openFileSeed } from '../node/file-seed-reader.ts';
import type { CliIo } from './cli-io.ts';

/** Open every file under `paths` (folders searched recursively) as a seed; what cannot be opened is skipped with a warning. */
export async function openSeeds(paths: readonly string[], io: CliIo): Promise<FileSeedReader[]> {
  const collected = await collectSeedFiles(paths);
  for (const p of collected.problems) io.warn(`seed ${p.path}: ${p.reason}; skipped`);
  const readers: FileSeedReader[] = [];
  // Opened 64 at a time (a folder of hundreds of packages), kept in order.
  for (let i = 0; i < collected.files.length; i += 64) {
    const batch = collected.files.slice(i, i + 64);
    const opened = await Promise.allSettled(batch.map((f) => openFileSeed(f.path)));
    opened.forEach((o, j) => {
      if (o.status === 'fulfilled') readers.push(o.value);
      else io.warn(`seed ${batch[j].path}: ${(o.reason as Error).message}; skipped`);
    });
  }
  return readers;
}
