/// <reference lib="webworker" />

/**
 * A sync access handle that other workers may hold on the same file at the
 * same time (mode 'readwrite-unsafe': Chromium 121 and later), so that each
 * scan worker writes the blocks it finds into the image file itself. A
 * browser without modes ignores the option and gives an exclusive handle:
 * `shared` says which it is. (The image file's worker opens it so;
 * the scan and assembly workers join it with joinSharedFile.)
 */
export async function openSharedAccess(file: FileSystemFileHandle): Promise<{ access: FileSystemSyncAccessHandle; shared: boolean }> {
  const open = file.createSyncAccessHandle as (this: FileSystemFileHandle, options?: { mode: string }) => Promise<FileSystemSyncAccessHandle & { mode?: string }>;
  const access = await open.call(file, { mode: 'readwrite-unsafe' });
  return { access, shared: access.mode === 'readwrite-unsafe' };
}

/**
 * A handle of this worker's own on a file of the site's storage (OPFS root)
 * that another worker holds shared, or null when it cannot have one (the file
 * is gone, or held exclusively after all): the caller then writes through
 * that worker's port.
 */
export async function joinSharedFile(name: string): Promise<FileSystemSyncAccessHandle | null> {
  try {
    const { access, shared } = await openSharedAccess(await (await navigator.storage.getDirectory()).getFileHandle(name));
    if (shared) return access;
    access.close();
  } catch {
    // (the port will do)
  }
  return null;
}
