import { Worker } from 'node:worker_threads';
import type { StreamHasher, StreamHasherFactory } from '../core/hashing.ts';
import type { ChecksumAlgorithm } from '../core/manifest/manifest.ts';
import { createNativeHasher } from './native-hasher.ts';

export type HashRequest =
  /** `slots`: SLOTS buffers of SLOT_BYTES in shared memory; `state[i]` is 1 while slot i holds bytes to hash. */
  | { type: 'init'; algorithm: ChecksumAlgorithm; slots: Uint8Array; state: Int32Array }
  | { type: 'data'; slot: number; length: number }
  | { type: 'digest' };
export type HashReply = { type: 'freed'; slot: number } | { type: 'digest'; hex: string } | { type: 'error'; message: string };

/** The chunks go through a ring of slots in shared memory (no allocation per chunk): 6 x 2 MiB. */
export const SLOTS = 6;
export const SLOT_BYTES = 2 << 20;

/**
 * Node's native hash on a thread of its own (hash-worker.mjs next to this
 * bundle): update() copies the chunk and hands it over, so the main thread
 * goes on reading, verifying and writing while the image's SHA-256 is
 * computed (about 0.4 s of CPU per 700 MB here). Where the thread cannot be
 * started, the hash runs on the calling thread.
 */
export function threadedHasher(workerUrl = new URL('./hash-worker.mjs', import.meta.url)): StreamHasherFactory {
  return async (algorithm) => {
    let worker: Worker;
    try {
      worker = new Worker(workerUrl, { name: 'hash' });
    } catch {
      return createNativeHasher(algorithm);
    }
    const slots = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT_BYTES));
    const state = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    let next = 0;
    let failure: Error | undefined;
    let answer: ((hex: string) => void) | undefined;
    let reject: ((error: Error) => void) | undefined;
    worker.on('message', (reply: HashReply) => {
      if (reply.type === 'freed') {
        const resolve = waiting.get(reply.slot);
        waiting.delete(reply.slot);
        resolve?.();
      } else if (reply.type === 'digest') answer?.(reply.hex);
      else {
        failure = new Error(`hashing thread: ${reply.message}`);
        reject?.(failure);
      }
    });
    worker.on('error', (error) => {
      failure = error;
      reject?.(error);
    });
    worker.postMessage({ type: 'init', algorithm, slots, state } satisfies HashRequest);
    /** Resolves the update waiting for slot i to be free again. */
    const waiting = new Map<number, () => void>();
    const slotFree = (slot: number) =>
      Atomics.load(state, slot) === 0
        ? undefined
        : new Promise<void>((resolve) => {
            waiting.set(slot, resolve);
            // The thread may have freed it between the check and now.
            if (Atomics.load(state, slot) === 0) resolve();
          });
    const hasher: StreamHasher = {
      async update(data) {
        for (let done = 0; done < data.length; ) {
          if (failure) throw failure;
          // The next slot in the ring; wait (without blocking this thread) until the hashing thread is done with it.
          const slot = next;
          await slotFree(slot);
          if (failure) throw failure;
          const length = Math.min(SLOT_BYTES, data.length - done);
          slots.set(data.subarray(done, done + length), slot * SLOT_BYTES);
          Atomics.store(state, slot, 1);
          worker.postMessage({ type: 'data', slot, length } satisfies HashRequest);
          next = (next + 1) % SLOTS;
          done += length;
        }
      },
      async digest() {
        try {
          return await new Promise<string>((resolve, fail) => {
            if (failure) return fail(failure);
            answer = resolve;
            reject = fail;
            worker.postMessage({ type: 'digest' } satisfies HashRequest);
          });
        } finally {
          await worker.terminate();
        }
      },
    };
    return hasher;
  };
}
