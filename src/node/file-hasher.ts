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
  /** node:crypto hash names ('sha256', 'sha1', 'md5'), each computed over the same reads. */
  algorithms: readonly string[];
  /** HASH_STATE's slots. */
  state: SharedArrayBuffer;
}

export type HashWorkerReply = { digests: string[] } | { error: string };

export interface FileHasher {
  /** The file now holds `bytes` bytes from byte 0 (written, in the page cache). */
  wrote(bytes: number): void;
  /** Nothing more is written: the hex checksum of the file's first `wrote` bytes, once read back. */
  digest(): Promise<string>;
  /** Once digest() is asked for: the same bytes' SHA-256, where it is the algorithm or `alsoSha256` was given; else undefined. */
  sha256(): Promise<string> | undefined;
  /** Stop (the file is kept or deleted unverified). */
  cancel(): Promise<void>;
}

export interface FileHasherOptions {
  /** The thread's script (default: file-hash-worker.mjs next to this bundle). */
  workerUrl?: URL;
  /** Compute the SHA-256 too, in the same reads (for an expected SHA-256 the algorithm cannot confirm). */
  alsoSha256?: boolean;
}

/**
 * Hash the file at `path` on a thread of its own while it is written in
 * order: the thread reads back each part as soon as `wrote` says it is there.
 * The main thread keeps the download and the writes; the ~0.6 s of OpenSSL's
 * SHA-256 for a 686 MB image moves to the core the scan used.
 */
export function hashFileAsWritten(path: string, algorithm: string, options: FileHasherOptions = {}): FileHasher {
  const algorithms = algorithm !== 'sha256' && options.alsoSha256 ? [algorithm, 'sha256'] : [algorithm];
  const shared = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT);
  const state = new BigInt64Array(shared);
  const data: HashWorkerData = { path, algorithms, state: shared };
  // A small young generation: the thread allocates next to nothing (its one read buffer is outside the heap).
  const worker = new Worker(options.workerUrl ?? new URL('./file-hash-worker.mjs', import.meta.url), {
    name: 'hash',
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: 2 },
  });
  const result = new Promise<string[]>((resolve, reject) => {
    const failed = (why: string) =>
      reject(new TesseraError(ErrorCode.OutputWrite, `could not read back ${path} to check it: ${why}; run the same command again`, { path }));
    worker.once('message', (reply: HashWorkerReply) => ('error' in reply ? failed(reply.error) : resolve(reply.digests)));
    worker.once('error', (error) => failed(error.message));
    worker.once('exit', (code) => failed(`its thread stopped (exit code ${code})`)); // (a no-op once settled)
  });
  result.catch(() => {}); // seen by digest(), or of no interest after cancel()
  const set = (slot: number, value: bigint) => {
    Atomics.store(state, slot, value);
    Atomics.add(state, HASH_STATE.generation, 1n);
    Atomics.notify(state, HASH_STATE.generation);
  };
  const sha256At = algorithms.indexOf('sha256');
  return {
    wrote: (bytes) => set(HASH_STATE.written, BigInt(bytes)),
    async digest() {
      set(HASH_STATE.phase, DONE);
      try {
        return (await result)[0];
      } finally {
        await worker.terminate();
      }
    },
    sha256: () => (sha256At < 0 ? undefined : result.then((digests) => digests[sha256At])),
    async cancel() {
      set(HASH_STATE.phase, CANCELLED);
      await worker.terminate();
    },
  };
}
