import { Worker } from 'node:worker_threads';
import type { StreamHasher, StreamHasherFactory } from '../core/hashing.ts';
import { type HashReply, type HashRequest, SLOTS, SLOT_BYTES } from './hash-thread.ts';
import { createNativeHasher } from './native-hasher.ts';

/**
 * Node's native hash on a thread of its own: update() copies the chunk into
 * shared memory and hands it over, so the main thread goes on reading,
 * verifying and writing while the image's SHA-256 is computed (about 0.4 s of
 * CPU per 700 MB here). The thread runs hash-worker.mjs (next to this bundle);
 * where it cannot start, the hash runs on the calling thread. (A scan worker
 * kept for it instead would save starting a thread, but holds ~25 MB more.)
 */
export function threadedHasher(options: { workerUrl?: URL } = {}): StreamHasherFactory {
  return async (algorithm) => {
    let worker: Worker;
    try {
      worker = new Worker(options.workerUrl ?? new URL('./hash-worker.mjs', import.meta.url), { name: 'hash', resourceLimits: { maxYoungGenerationSizeMb: 2 } });
    } catch {
      return createNativeHasher(algorithm);
    }
    const slots = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT_BYTES));
    const state = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    let next = 0;
    let failure: Error | undefined;
    let answer: ((hex: string) => void) | undefined;
    let reject: ((error: Error) => void) | undefined;
    /** Wakes the update waiting for a slot (updates come one at a time, so one waits at most). */
    let wake: (() => void) | undefined;
    worker.on('message', (reply: HashReply) => {
      if (reply.type === 'hash-freed') wake?.();
      else if (reply.type === 'hash-digest') answer?.(reply.hex);
      else if (reply.type === 'hash-error') fail(new Error(`hashing thread: ${reply.message}`));
    });
    worker.on('error', fail);
    /** The thread failed: an update waiting for a slot, or the digest, gets the error. */
    function fail(error: Error): void {
      failure = error;
      reject?.(error);
      wake?.();
    }
    worker.postMessage({ type: 'hash-init', algorithm, slots, state } satisfies HashRequest);
    /**
     * Wait until the thread is done with the slot. Its state in shared memory
     * decides, not a message: a slot found free by its state is used again
     * before the message that freed it is read, and that message, read later,
     * must not release the slot's next use (it did: the image's SHA-256 then
     * came out wrong in about one run in 25 on a busy machine). A message only
     * wakes the wait to look again.
     */
    const slotFree = async (slot: number) => {
      while (Atomics.load(state, slot) !== 0 && !failure) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          // The thread may have freed it between the check and now.
          if (Atomics.load(state, slot) === 0) resolve();
        });
      }
      wake = undefined;
    };
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
          worker.postMessage({ type: 'hash-data', slot, length } satisfies HashRequest);
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
            worker.postMessage({ type: 'hash-digest' } satisfies HashRequest);
          });
        } finally {
          await worker.terminate();
        }
      },
    };
    return hasher;
  };
}
