import { ErrorCode, TesseraError } from '../../core/errors.ts';
import { type PositionalWriter, writeFullyAt } from '../storage/sync-write.ts';
import { explainStorageError } from './explain-error.ts';
import type { ImageFilePort } from './image-file-port.ts';
import { BATCHES_AHEAD, BATCH_BYTES, type OutputClient } from './output-client.ts';

/** Pieces at least this long are written through the assembly's own handle, when it has one. */
const DIRECT_BYTES = 64 << 10;
/** Pieces written early are said final to the image file's verifier in stretches of about this much (it hashes pieces of up to 1 MiB). */
const FINAL_BATCH_BYTES = 1 << 20;

/**
 * The output when the image is built in place in the image file the scan
 * already wrote its blocks into (image-file-worker.ts): the assembly steps
 * over those (sink.skip) and writes only the rest. The file's own verifier
 * (image-verifier.ts) hashes it: the scan's blocks as they were written,
 * the rest as the assembly passes it, so what is hashed is what is stored.
 *
 * With `direct`, a handle of the assembly's own on the file (shared-access.ts),
 * pieces of DIRECT_BYTES or more (what is downloaded) are written straight
 * from the downloader's buffers, with no copy and no message; smaller ones
 * (blocks copied from the seeds one by one) are gathered into batches for
 * the image file's worker, as every write is without it.
 */
export function openInPlaceOutput(file: ImageFilePort, direct: (PositionalWriter & Pick<FileSystemSyncAccessHandle, 'flush' | 'close'>) | null = null): OutputClient & { keepVerified(start: number, data: Uint8Array): boolean } {
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const waitFor = async (ready: () => boolean) => {
    while (!ready() && !failure) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
  };

  /** Bytes written or stepped over so far. */
  let position = 0;
  /** Contiguous bytes waiting to be written at `pendingStart` (a batch buffer, taken when first needed: with a handle of its own the assembly may need none). */
  let pending: Uint8Array<ArrayBuffer> | null = null;
  /** Buffers handed back by the image file once written, for the next batches. */
  const spare: Uint8Array<ArrayBuffer>[] = [];
  let pendingLength = 0;
  let pendingStart = 0;
  let unwritten = 0;
  const busy = { hash: 0, write: 0, idle: 0 };
  const hashing = { segments: 1, workers: 1 };
  let sha256: string | undefined;
  /** Downloaded pieces written as soon as they were verified (start -> end), not yet reached by the sink. */
  const early = new Map<number, number>();
  /** Bytes written early and not yet said final: one stretch, said once it is FINAL_BATCH_BYTES long or another one starts (fewer messages). */
  let finalFrom = 0;
  let finalTo = 0;
  const sayFinal = () => {
    if (finalTo > finalFrom) file.finalRange(finalFrom, finalTo);
    finalFrom = finalTo = 0;
  };
  /** If [from, to) was all written early, forget those pieces and say so. */
  const writtenEarly = (from: number, to: number): boolean => {
    let at = from;
    while (at < to && early.has(at)) at = early.get(at)!;
    if (at < to) return false;
    for (let k = from; k < to; ) {
      const end = early.get(k)!;
      early.delete(k);
      k = end;
    }
    return true;
  };

  /** Write through the assembly's own handle, timed (`busy.write`: 0 when every write goes through the port); throws as writeFullyAt does. */
  const writeDirect = (data: Uint8Array, at: number) => {
    const w = performance.now();
    writeFullyAt(direct!, data, at);
    busy.write += performance.now() - w;
  };

  /** Hand the pending bytes to the file, then say all before `position` is final (served after the write). */
  const writePending = () => {
    sayFinal();
    if (pendingLength > 0 && pending) {
      const data = pending.subarray(0, pendingLength);
      pending = null;
      unwritten++;
      file.write(pendingStart, data).then(
        (back) => {
          if (back.buffer.byteLength === BATCH_BYTES) spare.push(new Uint8Array(back.buffer));
          unwritten--;
          notify();
        },
        (error: unknown) => {
          failure ??= new Error(explainStorageError(error, 'writing to the browser storage'));
          notify();
        },
      );
      pendingLength = 0;
    }
    file.finalUpTo(position);
  };
  const keepUp = async () => {
    const w = performance.now();
    await waitFor(() => unwritten < BATCHES_AHEAD);
    busy.idle += performance.now() - w;
  };

  return {
    busy,
    hashing,
    /** A verified downloaded piece: with a handle of its own, written into the file at once, and its whole blocks final; true if so. */
    keepVerified(start, data) {
      if (!direct || failure) return false;
      try {
        writeDirect(data, start);
      } catch {
        return false; // (written again in order, through the sink)
      }
      early.set(start, start + data.length);
      if (start !== finalTo) {
        sayFinal();
        finalFrom = start;
      }
      finalTo = start + data.length;
      if (finalTo - finalFrom >= FINAL_BATCH_BYTES) sayFinal();
      return true;
    },
    sink: {
      async write(chunk) {
        if (early.size > 0 && writtenEarly(position, position + chunk.length)) {
          writePending();
          position += chunk.length;
          file.finalUpTo(position);
          return;
        }
        if (direct && chunk.length >= DIRECT_BYTES) {
          writePending();
          try {
            writeDirect(chunk, position);
          } catch (error) {
            failure ??= new Error(explainStorageError(error, 'writing to the browser storage'));
            throw failure;
          }
          position += chunk.length;
          file.finalUpTo(position); // (on the port: served after the batch handed over just before)
          return;
        }
        let done = 0;
        while (done < chunk.length) {
          pending ??= spare.pop() ?? new Uint8Array(BATCH_BYTES);
          if (pendingLength === 0) pendingStart = position;
          const n = Math.min(chunk.length - done, pending.length - pendingLength);
          pending.set(chunk.subarray(done, done + n), pendingLength);
          pendingLength += n;
          done += n;
          position += n;
          if (pendingLength === pending.length) {
            writePending();
            await keepUp();
          }
        }
      },
      async skip(length) {
        writePending();
        // (A downloaded range written early, not held for the sink: its pieces are forgotten.)
        if (early.size > 0) writtenEarly(position, position + length);
        position += length;
        file.finalUpTo(position);
      },
      async digest() {
        writePending();
        await waitFor(() => unwritten === 0);
        const w = performance.now();
        const verifying = file.digest();
        // All is written: put it on disk while the last segments are hashed (the hash workers), so that
        // keeping the file then finds nothing left to flush (a flush syncs the file, whichever handle wrote).
        try {
          direct?.flush();
        } catch {
          // (keeping the file flushes it again, and says what went wrong)
        }
        const verified = await verifying;
        busy.idle += performance.now() - w;
        if (verified.type === 'mismatch') throw new TesseraError(ErrorCode.ChecksumMismatch, verified.message, { segment: verified.segment });
        busy.hash = verified.hashMs;
        hashing.segments = verified.segments;
        hashing.workers = verified.workers;
        sha256 = verified.sha256;
        return verified.hex;
      },
    },
    async sha256() {
      if (sha256 === undefined) throw new Error('internal: the image file was verified without its SHA-256');
      return sha256;
    },
    // The file is kept or deleted by its owner once every handle on it is closed.
    async commit() {
      direct?.close();
    },
    async discard() {
      direct?.close();
    },
  };
}
