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

  const visit = async (path: string, given: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      let reason = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : String((error as Error).message);
      if (code === 'ENOENT') {
        const target = await readlink(path).catch(() => undefined);
        if (target !== undefined) reason = `a link to ${target}, which does not exist`;
      }
      if (given) problems.push({ path, reason });
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
      for (const entry of entries) await visit(join(path, entry), false);
      return;
    }
    if (!info.isFile()) {
      // A device or pipe given by name is worth a word; inside folders such entries are just passed over.
      if (given) problems.push({ path, reason: 'not a regular file or folder' });
      return;
    }
    if (info.size === 0) return;
    const real = await realpath(path);
    if (seen.has(real)) return;
    seen.add(real);
    files.push({ path, size: info.size });
  };

  for (const p of paths) await visit(p, true);
  return { files, problems };
}
