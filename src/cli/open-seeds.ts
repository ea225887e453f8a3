import { collectSeedFiles } from '../node/collect-seed-files.ts';
import { type FileSeedReader, openFileSeed } from '../node/file-seed-reader.ts';
import type { CliIo } from './cli-io.ts';

/** Open every file under `paths` (folders searched recursively) as a seed; what cannot be opened is skipped with a warning. */
export async function openSeeds(paths: readonly string[], io: CliIo): Promise<FileSeedReader[]> {
  const collected = await collectSeedFiles(paths);
  for (const p of collected.problems) io.warn(`seed ${p.path}: ${p.reason}; skipped`);
  const readers: FileSeedReader[] = [];
  for (const f of collected.files) {
    try {
      readers.push(await openFileSeed(f.path));
    } catch (error) {
      io.warn(`seed ${f.path}: ${(error as Error).message}; skipped`);
    }
  }
  return readers;
}
