/// <reference lib="webworker" />
// SHA-256 of the image on a thread of its own: the assembly worker writes each
// batch, then hands it over (transferred, not copied) and hears back when it
// is hashed.
import { createSHA1, createSHA256, type IHasher } from 'hash-wasm';
import type { HashReply, HashRequest } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

/** Set by the first message ('init'): SHA-256, or SHA-1 for a .zsync file. */
let ready: Promise<IHasher> = Promise.reject(new Error('the SHA worker was used before init'));
ready.catch(() => {});
let queue = Promise.resolve();
let hashing = 0;

self.onmessage = (e: MessageEvent<HashRequest>) => {
  const m = e.data;
  if (m.type === 'init') {
    ready = (m.algorithm === 'sha1' ? createSHA1() : createSHA256()).then((h) => {
      h.init();
      return h;
    });
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
      self.postMessage({ type: 'digest', sha256: hasher.digest('hex'), ms: hashing } satisfies HashReply);
    }
  });
};
