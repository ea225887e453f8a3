import type { FileHandle } from 'node:fs/promises';

/** Bytes written between two background flushes of the part file. */
export const FLUSH_EVERY_BYTES = 64 << 20;

/**
 * Puts what is written on the disk while the image is still being built
 * (fdatasync on libuv's threads every FLUSH_EVERY_BYTES, one at a time), so
 * that the sync before the verified image takes its name has only the last
 * part left: on the Debian corpus it took ~0.3 s of the end of each run,
 * with the whole 686 MB to put on the disk. A failed flush is not let go: the
 * kernel reports a write-back error to one sync only, so it is thrown by
 * settled(), before the commit's own sync.
 */
export function backgroundFlush(handle: Pick<FileHandle, 'datasync'>, every = FLUSH_EVERY_BYTES): { wrote(bytes: number): void; settled(): Promise<void> } {
  let flushedAt = 0;
  let running: Promise<void> | undefined;
  let failure: unknown;
  return {
    wrote(bytes) {
      if (running || bytes - flushedAt < every) return;
      flushedAt = bytes;
      running = handle
        .datasync()
        .catch((error: unknown) => void (failure ??= error))
        .finally(() => (running = undefined));
    },
    async settled() {
      await running;
      if (failure !== undefined) throw failure;
    },
  };
}
