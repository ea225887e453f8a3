import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface SeedFile {
  path: string;
  size: number;
}

export interface CollectResult {
  files: SeedFile[];
  /** Paths given that could not be used, with the reason. */
  problems: { path: string; reason: string }[];
}

/**
 * Expand the user's seed arguments: files as given, folders recursively (in
 * name order), each real file once, empty files and non-files skipped.
 */
export async function collectSeedFiles(paths: readonly string[]): Promise<CollectResult> {
  const files: SeedFile[] = [];
  const problems: { path: string; reason: string }[] = [];
  const seen = new Set<string>();

  /** What is at `path` (a file's real path too): looked up for many entries at once, used in order. */
  const inspect = async (path: string) => {
    try {
      const info = await stat(path);
      const real = info.isFile() && info.size > 0 ? await realpath(path) : undefined;
      return { info, real };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      let reason = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : String((error as Error).message);
      if (code === 'ENOENT') {
        const target = await readlink(path).catch(() => undefined);
        if (target !== undefined) reason = `a link to ${target}, which does not exist`;
      }
      return { reason };
    }
  };

  const visit = async (path: string, given: boolean, found?: Awaited<ReturnType<typeof inspect>>): Promise<void> => {
    const { info, real, reason } = found ?? (await inspect(path));
    if (!info) {
      if (given) problems.push({ path, reason: reason! });
      return;
    }
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(path)).sort();
      } catch (error) {
        problems.push({ path, reason: `cannot list folder: ${(error as Error).message}` });
        return;
      }
      // A folder of hundreds of packages: their lookups run together (64 at a time), in order after.
      for (let i = 0; i < entries.length; i += 64) {
        const batch = entries.slice(i, i + 64).map((entry) => join(path, entry));
        const inspected = await Promise.all(batch.map(inspect));
        for (let j = 0; j < batch.length; j++) await visit(batch[j], false, inspected[j]);
      }
      return;
    }
    if (!info.isFile()) {
      // A device or pipe given by name is worth a word; inside folders such entries are just passed over.
      if (given) problems.push({ path, reason: 'not a regular file or folder' });
      return;
    }
    if (info.size === 0 || real === undefined) return;
    if (seen.has(real)) return;
    seen.add(real);
    files.push({ path, size: info.size });
  };

  for (const p of paths) await visit(p, true);
  return { files, problems };
}
