/**
 * Images built in place in the site's storage (browsers without "Save as"):
 * once verified, the image file is renamed to the image's name in the
 * storage's root and offered as a download in its tab. They stay there until
 * deleted, so they are listed in "Kept in this browser" to be downloaded again
 * or deleted: each takes the image's full size of the site's quota.
 *
 * The page's own files in the root start with a dot (image files being
 * built, `.tessera-building-*`); its other stores are directories.
 * (The storage is the last argument, for tests.)
 */
export interface BuiltImage {
  name: string;
  bytes: number;
}

const siteRoot = () => navigator.storage.getDirectory();

type Listable = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };

/** The images built in the site's storage, by name. */
export async function listBuiltImages(root: Promise<FileSystemDirectoryHandle> = siteRoot()): Promise<BuiltImage[]> {
  const images: BuiltImage[] = [];
  for await (const [name, handle] of (await root as Listable).entries()) {
    if (handle.kind !== 'file' || name.startsWith('.')) continue;
    images.push({ name, bytes: (await (handle as FileSystemFileHandle).getFile()).size });
  }
  return images.sort((a, b) => a.name.localeCompare(b.name));
}

/** Delete a built image (it frees its room in the site's quota). */
export async function deleteBuiltImage(name: string, root: Promise<FileSystemDirectoryHandle> = siteRoot()): Promise<void> {
  await (await root).removeEntry(name);
}
