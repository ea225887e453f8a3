/// <reference lib="webworker" />
// The image's checksum on a thread of its own: the assembly worker hands over
// a copy of each batch (transferred) and hears back when it is hashed.
import { type StreamHasher, createWasmHasher } from '../../core/hashing.ts';
import type { HashReply, HashRequest } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

/** Set by the first message ('init'): SHA-256, or the algorithm of a .zsync file. */
let ready: Promise<StreamHasher> = Promise.reject(new Error('the hash worker was used before init'));
ready.catch(() => {});
let queue = Promise.resolve();
let hashing = 0;

self.onmessage = (e: MessageEvent<HashRequest>) => {
  const m = e.data;
  if (m.type === 'init') {
    ready = createWasmHasher(m.algorithm);
    return;
  }
  queue = queue.then(async () => {
    const hasher = await ready;
    if (m.type === 'update') {
      const t = performance.now();
      hasher.update(m.data);
      hashing += performance.now() - t;
      self.postMessage({ type: 'hashed', bytes: m.data.length } satisfies HashReply);
    } else {
      self.postMessage({ type: 'digest', hex: await hasher.digest(), ms: hashing } satisfies HashReply);
    }
  });
};
