import { Worker } from 'node:worker_threads';
import { ErrorCode, TesseraError } from '../core/errors.ts';

/** Each read of the hashing thread. */
export const READ_BYTES = 1 << 20;

/** Slots of the state shared with the hashing thread (a BigInt64Array). */
export const HASH_STATE = {
  /** Bytes of the file written so far, from byte 0. */
  written: 0,
  /** WRITING, DONE or CANCELLED. */
  phase: 1,
  /** Bumped after every change to the slots above; the thread waits on it. */
  generation: 2,
} as const;
export const WRITING = 0n;
export const DONE = 1n;
export const CANCELLED = 2n;

export interface HashWorkerData {
  path: string;
  /** A node:crypto hash name ('sha256', 'sha1'). */
  algorithm: string;
  /** HASH_STATE's slots. */
  state: SharedArrayBuffer;
}

export type HashWorkerReply = { digest: string } | { error: string };

export interface FileHasher {
  /** The file now holds `bytes` bytes from byte 0 (written, in the page cache). */
  wrote(bytes: number): void;
  /** Nothing more is written: the hex checksum of the file's first `wrote` bytes, once read back. */
  digest(): Promise<string>;
  /** Stop (the file is kept or deleted unverified). */
  cancel(): Promise<void>;
}

export interface FileHasherOptions {
  /** The thread's script (default: file-hash-worker.mjs next to this bundle). */
  workerUrl?: URL;
}

/**
 * Hash the file at `path` on a thread of its own while it is written in
 * order: the thread reads back each part as soon as `wrote` says it is there.
 * The main thread keeps the download and the writes; the ~0.6 s of OpenSSL's
 * SHA-256 for a 686 MB image moves to the core the scan used.
 */
export function hashFileAsWritten(path: string, algorithm: string, options: FileHasherOptions = {}): FileHasher {
  const shared = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT);
  const state = new BigInt64Array(shared);
  const data: HashWorkerData = { path, algorithm, state: shared };
  // A small young generation: the thread allocates next to nothing (its one read buffer is outside the heap).
  const worker = new Worker(options.workerUrl ?? new URL('./file-hash-worker.mjs', import.meta.url), {
    name: 'hash',
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: 2 },
  });
  const result = new Promise<string>((resolve, reject) => {
    const failed = (why: string) =>
      reject(new TesseraError(ErrorCode.OutputWrite, `could not read back ${path} to check it: ${why}; run the same command again`, { path }));
    worker.once('message', (reply: HashWorkerReply) => ('error' in reply ? failed(reply.error) : resolve(reply.digest)));
    worker.once('error', (error) => failed(error.message));
    worker.once('exit', (code) => failed(`its thread stopped (exit code ${code})`)); // (a no-op once settled)
  });
  result.catch(() => {}); // seen by digest(), or of no interest after cancel()
  const set = (slot: number, value: bigint) => {
    Atomics.store(state, slot, value);
    Atomics.add(state, HASH_STATE.generation, 1n);
    Atomics.notify(state, HASH_STATE.generation);
  };
  return {
    wrote: (bytes) => set(HASH_STATE.written, BigInt(bytes)),
    async digest() {
      set(HASH_STATE.phase, DONE);
      try {
        return await result;
      } finally {
        await worker.terminate();
      }
    },
    async cancel() {
      set(HASH_STATE.phase, CANCELLED);
      await worker.terminate();
    },
  };
}
