import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FetchedFileStore } from '../core/jigdo/assemble-jigdo.ts';
import { openFileSeed } from './file-seed-reader.ts';

/**
 * The folder beside a jigdo image's output where each file fetched for it is
 * kept as soon as it is verified, named by its checksum (hex MD5 or SHA-256,
 * as the template's). A failed run leaves it; the next run with the same
 * output uses its files as seeds; it is deleted once the image is verified.
 */
export const keptFilesFolderFor = (out: string) => `${out}.tessera-parts`;

/** Only whole files have a checksum name: a write cut short leaves a `.tmp` name, which is ignored and cleared. */
const KEPT_NAME = /^(?:[0-9a-f]{32}|[0-9a-f]{64})$/;

export interface KeptFiles {
  /** The kept files' paths. */
  paths: string[];
  bytes: number;
}

/** The files kept by earlier runs (none when there is no folder). Leftovers of a write cut short are removed. */
export async function listKeptFiles(folder: string): Promise<KeptFiles> {
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch {
    return { paths: [], bytes: 0 };
  }
  const kept: KeptFiles = { paths: [], bytes: 0 };
  for (const name of names) {
    const path = join(folder, name);
    if (!KEPT_NAME.test(name)) {
      if (name.endsWith('.tmp')) await rm(path, { force: true });
      continue;
    }
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    kept.paths.push(path);
    kept.bytes += info.size;
  }
  return kept;
}

/** Keep one verified file under its checksum (written beside, then renamed: a file under its final name is whole). */
export async function keepFile(folder: string, checksumHex: string, data: Uint8Array): Promise<void> {
  await mkdir(folder, { recursive: true });
  const path = join(folder, checksumHex);
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

/**
 * Large fetched files go straight into the folder as they arrive (under a
 * `.tmp` name until whole and verified), and are read back from there when
 * the image's writer reaches them: kept as keepFile keeps the others.
 */
export function keptFileStore(folder: string): FetchedFileStore {
  let files = 0;
  return {
    async begin(checksumHex) {
      await mkdir(folder, { recursive: true });
      const path = join(folder, checksumHex);
      // (A working name of its own: two entries of one file fetched at once do not write into one file.)
      const working = `${path}.${++files}.tmp`;
      const handle = await open(working, 'w');
      let closed = false;
      const close = async () => {
        if (!closed) {
          closed = true;
          await handle.close();
        }
      };
      return {
        async append(data) {
          for (let done = 0; done < data.length; ) done += (await handle.write(data, done)).bytesWritten;
        },
        async finish() {
          await close();
          await rename(working, path);
          return openFileSeed(path);
        },
        async discard() {
          await close();
          await rm(working, { force: true });
        },
      };
    },
  };
}

/** The image is verified: the kept files are no longer needed. */
export async function removeKeptFiles(folder: string): Promise<void> {
  // (Only the folder made for them: a file of the user's under that name is left alone.)
  if ((await stat(folder).catch(() => undefined))?.isDirectory()) await rm(folder, { recursive: true, force: true });
}
