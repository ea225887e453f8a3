type Movable = FileSystemFileHandle & { move?: (...args: unknown[]) => Promise<void> };

/**
 * Rename a file of the site's storage within `directory`; false where the
 * browser cannot (no move(): Chromium before 110). move(directory, name)
 * comes first: it is the one form every engine has (WebKit has no other:
 * move(name) there fails for want of an argument); Chromium and Firefox
 * take move(name) too.
 */
export async function renameEntry(handle: FileSystemFileHandle, directory: FileSystemDirectoryHandle, name: string): Promise<boolean> {
  const { move } = handle as Movable;
  if (typeof move !== 'function') return false;
  for (const args of [[directory, name], [name]]) {
    try {
      await move.apply(handle, args);
      return true;
    } catch {
      // the next form, if any
    }
  }
  return false;
}
