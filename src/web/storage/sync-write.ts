/// <reference lib="webworker" />
import { MAX_WRITE_BYTES } from '../../core/io.ts';

/** The part of a sync access handle that writes (a stand-in in tests). */
export type PositionalWriter = Pick<FileSystemSyncAccessHandle, 'write'>;

/**
 * Write all of `data` at `at` through a sync access handle, in writes of at
 * most MAX_WRITE_BYTES, or throw.
 *
 * Chromium (156) does not throw when such a write fails, e.g. for want of
 * quota: it returns the error code as an unsigned byte count (2^32 - 8 for
 * "no space"), and part of the data may be missing from the file. A loop
 * that adds up the counts then believes everything was written, and the
 * page would call a file with holes verified (its checksum is computed on
 * the data, not read back). Any count that is not 1..remaining is a failure.
 */
export function writeFullyAt(access: PositionalWriter, data: Uint8Array, at: number): void {
  let done = 0;
  while (done < data.length) {
    const piece = Math.min(data.length - done, MAX_WRITE_BYTES);
    const n = access.write(data.subarray(done, done + piece), { at: at + done });
    if (!(n > 0 && n <= piece)) throw syncWriteError(n, at + done);
    done += n;
  }
}

function syncWriteError(count: number, at: number): DOMException {
  const code = count >= 2 ** 31 ? count - 2 ** 32 : count; // base::File::Error, as Chromium returns it
  if (code === -8) return new DOMException(`no space to write at byte ${at}`, 'QuotaExceededError');
  return new DOMException(`the write at byte ${at} failed (browser error ${code})`, 'InvalidStateError');
}
