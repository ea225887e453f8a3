/// <reference lib="webworker" />
// SHA-256 of the image on its own thread, so the assembly worker only copies
// chunks here and goes on reading and writing.
import { createSHA256 } from 'hash-wasm';

declare const self: DedicatedWorkerGlobalScope;

const ready = createSHA256().then((h) => {
  h.init();
  return h;
});
let queue = Promise.resolve();

self.onmessage = (e: MessageEvent<{ type: 'update'; data: Uint8Array } | { type: 'digest' }>) => {
  const m = e.data;
  queue = queue.then(async () => {
    const hasher = await ready;
    if (m.type === 'update') hasher.update(m.data);
    else self.postMessage(hasher.digest('hex'));
  });
};
