// The image's SHA-256 (or SHA-1, MD5) on its own thread, for `tessera get`
// (threaded-hasher.ts): the chunks arrive in order, transferred, and are
// hashed with Node's native hash while the main thread reads, verifies and
// writes the next ones.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type HashReply, type HashRequest, SLOT_BYTES } from './threaded-hasher.ts';

const port = parentPort;
if (!port) throw new Error('hash-worker.mjs runs as a worker thread of tessera');
let hash: Hash | undefined;
let slots: Uint8Array | undefined;
let state: Int32Array | undefined;

port.on('message', (message: HashRequest) => {
  try {
    if (message.type === 'init') {
      hash = createHash(message.algorithm);
      ({ slots, state } = message);
    } else if (message.type === 'data') {
      const start = message.slot * SLOT_BYTES;
      hash!.update(slots!.subarray(start, start + message.length));
      // The slot is free again (the main thread waits for it when it is a whole ring ahead).
      Atomics.store(state!, message.slot, 0);
      port.postMessage({ type: 'freed', slot: message.slot } satisfies HashReply);
    } else {
      port.postMessage({ type: 'digest', hex: hash!.digest('hex') } satisfies HashReply);
    }
  } catch (error) {
    port.postMessage({ type: 'error', message: (error as Error).message } satisfies HashReply);
  }
});
