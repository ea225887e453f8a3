// renameEntry over stand-ins for the engines' file handles (the page tests rename real ones in Chromium).
import { describe, expect, it } from 'vitest';
import { renameEntry } from '../../../src/web/storage/rename-entry.ts';

const directory = { kind: 'directory', name: '' } as unknown as FileSystemDirectoryHandle;

/** A file handle whose move() accepts the argument lists `accepts` allows; every call is listed. */
function handle(accepts: ((args: unknown[]) => boolean) | null) {
  const calls: unknown[][] = [];
  const file = { kind: 'file', name: '.tessera-building-1' } as Record<string, unknown>;
  if (accepts)
    file.move = function (this: unknown, ...args: unknown[]) {
      calls.push(args);
      if (this !== file) return Promise.reject(new TypeError('Illegal invocation'));
      return accepts(args) ? Promise.resolve() : Promise.reject(new TypeError('Not enough arguments'));
    };
  return { file: file as unknown as FileSystemFileHandle, calls };
}

describe('renameEntry', () => {
  it('renames with move(directory, name), the form every engine has, first', async () => {
    const h = handle(() => true);
    expect(await renameEntry(h.file, directory, 'new.img')).toBe(true);
    expect(h.calls).toEqual([[directory, 'new.img']]);
  });

  it("renames where move() takes only a directory and a name (WebKit's)", async () => {
    const h = handle((args) => args.length === 2 && args[0] === directory);
    expect(await renameEntry(h.file, directory, 'new.img')).toBe(true);
    expect(h.calls).toEqual([[directory, 'new.img']]);
  });

  it('falls back to move(name) where only that form works', async () => {
    const h = handle((args) => args.length === 1);
    expect(await renameEntry(h.file, directory, 'new.img')).toBe(true);
    expect(h.calls).toEqual([[directory, 'new.img'], ['new.img']]);
  });

  it('says so where the file cannot be renamed: no move(), or every form fails', async () => {
    expect(await renameEntry(handle(null).file, directory, 'new.img')).toBe(false);
    const refusing = handle(() => false);
    expect(await renameEntry(refusing.file, directory, 'new.img')).toBe(false);
    expect(refusing.calls).toHaveLength(2);
  });
});
