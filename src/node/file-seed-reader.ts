import { open, type FileHandle } from 'node:fs/promises';
import type { SeedReader } from '../core/io.ts';

export interface FileSeedReader extends SeedReader {
  /** The open file's descriptor: scan threads read through it (the same file, even if renamed or deleted since). */
  readonly fd: number;
  close(): Promise<void>;
}

/** A seed over a local file, read with positional reads (no whole-file buffering). */
export async function openFileSeed(path: string): Promise<FileSeedReader> {
  const handle: FileHandle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    name: path,
    size,
    fd: handle.fd,
    async readInto(position, target) {
      const { bytesRead } = await handle.read(target, 0, target.length, position);
      return bytesRead;
    },
    close: () => handle.close(),
  };
}
