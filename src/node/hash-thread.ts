// The hashing side of threaded-hasher.ts, run by hash-worker.mjs.
import { createHash, type Hash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import type { ChecksumAlgorithm } from '../core/manifest/manifest.ts';

export type HashRequest =
  /** `slots`: SLOTS buffers of SLOT_BYTES in shared memory; `state[i]` is 1 while slot i holds bytes to hash. */
  | { type: 'hash-init'; algorithm: ChecksumAlgorithm; slots: Uint8Array; state: Int32Array }
  | { type: 'hash-data'; slot: number; length: number }
  | { type: 'hash-digest' };
export type HashReply = { type: 'hash-freed'; slot: number } | { type: 'hash-digest'; hex: string } | { type: 'hash-error'; message: string };

/** The chunks go through a ring of slots in shared memory (no allocation per chunk): 3 x 1 MiB. */
export const SLOTS = 3;
export const SLOT_BYTES = 1 << 20;

/** Answers one thread's hash requests on `port`, in order, with Node's native hash. */
export function hashServer(port: MessagePort): (message: HashRequest) => void {
  let hash: Hash | undefined;
  let slots: Uint8Array | undefined;
  let state: Int32Array | undefined;
  return (message) => {
    try {
      if (message.type === 'hash-init') {
        hash = createHash(message.algorithm);
        ({ slots, state } = message);
      } else if (message.type === 'hash-data') {
        const start = message.slot * SLOT_BYTES;
        hash!.update(slots!.subarray(start, start + message.length));
        // The slot is free again (the main thread waits for it when it is a whole ring ahead).
        Atomics.store(state!, message.slot, 0);
        port.postMessage({ type: 'hash-freed', slot: message.slot } satisfies HashReply);
      } else {
        port.postMessage({ type: 'hash-digest', hex: hash!.digest('hex') } satisfies HashReply);
      }
    } catch (error) {
      port.postMessage({ type: 'hash-error', message: (error as Error).message } satisfies HashReply);
    }
  };
}
