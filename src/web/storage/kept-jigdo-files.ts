/// <reference lib="webworker" />
/**
 * The files fetched for a .jigdo image, kept in the site's private storage
 * (OPFS) as soon as each is verified, so that a failed download (a server
 * that lacks a file, a closed tab) resumes without fetching them again:
 *   tessera-jigdo-files/<image checksum>/<file checksum>
 * (hex MD5 or SHA-256, as the template's), and `image-name` for the page's
 * list. They are seeds when the same image is opened again, are matched by
 * checksum like any of the user's files (so a damaged one is simply not
 * used), and are deleted once the image is built.
 */
import type { FetchedFileStore } from '../../core/jigdo/assemble-jigdo.ts';
import { fileSeedReader } from '../engine/file-seed-reader.ts';
import { renameEntry } from './rename-entry.ts';
import { writeFullyAt } from './sync-write.ts';

const DIR = 'tessera-jigdo-files';
const NAME_FILE = 'image-name';
const KEPT_NAME = /^(?:[0-9a-f]{32}|[0-9a-f]{64})$/;

type Entries = { entries(): AsyncIterable<[string, FileSystemHandle]> };

async function imagesDir(create: boolean): Promise<FileSystemDirectoryHandle> {
  return (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create });
}

/** The files kept for an image (none when there are none, or no storage). */
export async function keptJigdoFiles(imageChecksum: string): Promise<File[]> {
  const files: File[] = [];
  try {
    const dir = await (await imagesDir(false)).getDirectoryHandle(imageChecksum);
    for await (const [name, handle] of (dir as unknown as Entries).entries()) {
      if (handle.kind === 'file' && KEPT_NAME.test(name)) files.push(await (handle as FileSystemFileHandle).getFile());
    }
  } catch {
    // nothing kept for this image
  }
  return files;
}

/** Keep verified files for an image, from a worker (sync access handles). */
export async function openJigdoFileKeeper(imageChecksum: string, imageName: string): Promise<(fileChecksum: string, data: Uint8Array) => Promise<void>> {
  const dir = await (await imagesDir(true)).getDirectoryHandle(imageChecksum, { create: true });
  const write = async (name: string, data: Uint8Array) => {
    const access = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
    try {
      access.truncate(0);
      writeFullyAt(access, data, 0);
      access.flush();
    } catch (error) {
      access.close();
      await dir.removeEntry(name).catch(() => {}); // not kept half-written
      throw error;
    }
    access.close();
  };
  await write(NAME_FILE, new TextEncoder().encode(imageName));
  return (fileChecksum, data) => write(fileChecksum, data);
}

/**
 * Large files fetched for an image go straight into its folder as they
 * arrive (under a `.part` name until whole and verified, then renamed to
 * their checksum: kept like the others), and are read back from there when
 * the image's writer reaches them. From a worker (sync access handles).
 */
export async function openJigdoFileStore(imageChecksum: string, onKept?: () => void): Promise<FetchedFileStore> {
  const dir = await (await imagesDir(true)).getDirectoryHandle(imageChecksum, { create: true });
  // What a closed tab left half-written goes (one another tab is writing is locked, and stays).
  const leftovers: string[] = [];
  for await (const [name] of (dir as unknown as Entries).entries()) if (name.endsWith('.part')) leftovers.push(name);
  for (const name of leftovers) await dir.removeEntry(name).catch(() => {});
  let files = 0;
  return {
    async begin(checksumHex) {
      // (A working name of its own: two entries of one file fetched at once do not write into one file.)
      const partName = `${checksumHex}.${++files}.part`;
      const handle = await dir.getFileHandle(partName, { create: true });
      const access = await handle.createSyncAccessHandle();
      access.truncate(0);
      let at = 0;
      let open = true;
      const close = () => {
        if (open) access.close();
        open = false;
      };
      return {
        async append(data) {
          writeFullyAt(access, data, at);
          at += data.length;
        },
        async finish() {
          access.flush();
          close();
          // (Where the browser cannot rename, it is read under its working name, and not kept for a later visit.)
          const kept = await renameEntry(handle, dir, checksumHex);
          if (kept) onKept?.();
          const name = kept ? checksumHex : partName;
          return fileSeedReader(await (await dir.getFileHandle(name)).getFile(), `fetched ${checksumHex}`);
        },
        async discard() {
          close();
          await dir.removeEntry(partName).catch(() => {});
        },
      };
    },
  };
}

/** Every image's kept files, with their size and the image's name (for the page's list). */
export async function listKeptJigdoFiles(): Promise<{ imageChecksum: string; name?: string; bytes: number }[]> {
  const images: { imageChecksum: string; name?: string; bytes: number }[] = [];
  try {
    for await (const [imageChecksum, handle] of ((await imagesDir(false)) as unknown as Entries).entries()) {
      if (handle.kind !== 'directory') continue;
      let bytes = 0;
      let name: string | undefined;
      for await (const [fileName, file] of (handle as unknown as Entries).entries()) {
        if (file.kind !== 'file') continue;
        const blob = await (file as FileSystemFileHandle).getFile();
        if (fileName === NAME_FILE) name = await blob.text();
        else if (KEPT_NAME.test(fileName)) bytes += blob.size;
      }
      if (bytes > 0) images.push({ imageChecksum, name, bytes });
    }
  } catch {
    // nothing kept
  }
  return images;
}

/** Delete what is kept for an image. */
export async function deleteKeptJigdoFiles(imageChecksum: string): Promise<void> {
  try {
    await (await imagesDir(false)).removeEntry(imageChecksum, { recursive: true });
  } catch {
    // already gone
  }
}
