/// <reference lib="webworker" />

/**
 * A sync access handle that other workers may hold on the same file at the
 * same time (mode 'readwrite-unsafe': Chromium 121 and later), so that each
 * scan worker writes the blocks it finds into the image file itself. A
 * browser without modes ignores the option and gives an exclusive handle:
 * `shared` says which it is.
 */
export async function openSharedAccess(file: FileSystemFileHandle): Promise<{ access: FileSystemSyncAccessHandle; shared: boolean }> {
  const open = file.createSyncAccessHandle as (this: FileSystemFileHandle, options?: { mode: string }) => Promise<FileSystemSyncAccessHandle & { mode?: string }>;
  const access = await open.call(file, { mode: 'readwrite-unsafe' });
  return { access, shared: access.mode === 'readwrite-unsafe' };
}
