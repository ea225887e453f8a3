import { type UseStore, createStore, del, entries, set } from 'idb-keyval';

/**
 * Images built in place in the site's storage (browsers without "Save as"):
 * once verified, the image file is renamed to the image's name in the
 * storage's root and offered as a download in its tab. They stay there until
 * deleted, so they are listed in "Kept in this browser" to be downloaded again
 * or deleted: each takes the image's full size of the site's quota.
 *
 * The page's own files in the root start with a dot (image files being
 * built, `.tessera-building-*`); its other stores are directories. Where the
 * browser cannot rename a file (no move()), a built image keeps its working
 * name and is recorded here under the image's name, so that it is listed,
 * and spared by the clean-up of image files left unfinished.
 * (The storages are the last arguments, for tests.)
 */
export interface BuiltImage {
  /** The image's name, as the user knows it. */
  name: string;
  /** Its file in the site's storage: the same name, or its working name where it could not be renamed. */
  file: string;
  bytes: number;
}

const siteRoot = () => navigator.storage.getDirectory();

let defaultRecords: UseStore | undefined;
/** Working name of a built image that could not be renamed → the image's name. */
function records(): UseStore {
  defaultRecords ??= createStore('tessera-built-images', 'unrenamed');
  return defaultRecords;
}

type Listable = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };

/** A verified image left under its working name `file` (the browser could not rename it), to be listed as `name`. */
export async function recordUnrenamed(file: string, name: string, kept = records()): Promise<void> {
  await set(file, name, kept);
}

/** The working names of the built images that could not be renamed (none where IndexedDB cannot be read). */
export async function unrenamedFiles(kept = records()): Promise<Set<string>> {
  return new Set((await entries<string, string>(kept).catch(() => [])).map(([file]) => file));
}

/** The images built in the site's storage, by name. */
export async function listBuiltImages(root: Promise<FileSystemDirectoryHandle> = siteRoot(), kept = records()): Promise<BuiltImage[]> {
  const unrenamed = new Map(await entries<string, string>(kept).catch(() => []));
  const images: BuiltImage[] = [];
  for await (const [file, handle] of (await root as Listable).entries()) {
    if (handle.kind !== 'file') continue;
    const name = file.startsWith('.') ? unrenamed.get(file) : file;
    if (name !== undefined) images.push({ name, file, bytes: (await (handle as FileSystemFileHandle).getFile()).size });
    unrenamed.delete(file);
  }
  // (Records of files no longer there: deleted by other means.)
  for (const file of unrenamed.keys()) await del(file, kept).catch(() => {});
  return images.sort((a, b) => a.name.localeCompare(b.name) || a.file.localeCompare(b.file));
}

/** Delete a built image (it frees its room in the site's quota). */
export async function deleteBuiltImage(image: BuiltImage, root: Promise<FileSystemDirectoryHandle> = siteRoot(), kept = records()): Promise<void> {
  await (await root).removeEntry(image.file);
  if (image.file !== image.name) await del(image.file, kept).catch(() => {});
}
