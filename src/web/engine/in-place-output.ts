import type { ChecksumAlgorithm } from '../../core/manifest/manifest.ts';
import { explainStorageError } from './explain-error.ts';
import { HashPool } from './hash-pool.ts';
import type { ImageFilePort } from './image-file-port.ts';
import { BATCHES_AHEAD, BATCH_BYTES, type OutputClient, type OutputOptions } from './output-client.ts';

/**
 * The output when the image is built in place in the image file the scan
 * already wrote its blocks into (image-file-worker.ts): the assembly steps
 * over those (sink.skip) and writes only the rest, and the checksum is taken
 * by reading the file back, batch by batch as the assembly passes them, so
 * what is hashed is what is stored.
 */
export function openInPlaceOutput(file: ImageFilePort, algorithm: ChecksumAlgorithm, options: OutputOptions = {}): OutputClient {
  const what = 'writing to the browser storage';
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const hashes = new HashPool(algorithm, { ...options, batchBytes: BATCH_BYTES }, notify);
  const waitFor = async (ready: () => boolean) => {
    while (!ready() && !failure && !hashes.failure) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
    if (hashes.failure) throw hashes.failure;
  };
  const fail = (error: unknown) => {
    failure ??= new Error(explainStorageError(error, what));
    notify();
  };

  /** Bytes written or stepped over so far. */
  let position = 0;
  /** Contiguous bytes waiting to be written at `pendingStart`. */
  let pending = new Uint8Array(BATCH_BYTES);
  let pendingLength = 0;
  let pendingStart = 0;
  let unwritten = 0;
  /** Bytes asked back from the file for hashing; reads not yet handed to the hashing. */
  let hashedTo = 0;
  let reading = 0;
  const busy = { hash: 0, write: 0, idle: 0 };

  const writePending = () => {
    if (pendingLength === 0) return;
    const data = pendingLength === pending.length ? pending : pending.slice(0, pendingLength);
    if (data === pending) pending = new Uint8Array(BATCH_BYTES);
    unwritten++;
    file.write(pendingStart, data).then(() => {
      unwritten--;
      notify();
    }, fail);
    pendingLength = 0;
  };
  /** Read [hashedTo, hashedTo + length) back and hash it; a write before it on the port is done first. */
  const hashBack = (length: number) => {
    reading++;
    file.read(hashedTo, length).then((data) => {
      reading--;
      hashes.update(data); // replies come in order, so batches reach the hashing in order
      notify();
    }, fail);
    hashedTo += length;
  };
  const keepUp = async () => {
    while (position - hashedTo >= BATCH_BYTES) {
      if (pendingLength > 0 && pendingStart < hashedTo + BATCH_BYTES) writePending();
      hashBack(BATCH_BYTES);
    }
    const w = performance.now();
    await waitFor(() => unwritten < BATCHES_AHEAD && reading + hashes.waiting < BATCHES_AHEAD * hashes.workers);
    busy.idle += performance.now() - w;
  };

  return {
    busy,
    hashing: hashes.hashing,
    sink: {
      async write(chunk) {
        let done = 0;
        while (done < chunk.length) {
          if (pendingLength === 0) pendingStart = position;
          const n = Math.min(chunk.length - done, pending.length - pendingLength);
          pending.set(chunk.subarray(done, done + n), pendingLength);
          pendingLength += n;
          done += n;
          position += n;
          if (pendingLength === pending.length) writePending();
          await keepUp();
        }
      },
      async skip(length) {
        writePending();
        position += length;
        await keepUp();
      },
      async digest() {
        writePending();
        while (hashedTo < position) hashBack(Math.min(BATCH_BYTES, position - hashedTo));
        await waitFor(() => unwritten === 0 && reading === 0);
        const { hex, ms } = await hashes.digest(waitFor);
        busy.hash = ms;
        return hex;
      },
    },
    sha256: () => hashes.sha256(waitFor),
    async commit() {
      hashes.terminate();
    },
    async discard() {
      hashes.terminate();
    },
  };
}
