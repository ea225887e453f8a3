/// <reference lib="webworker" />
// Writes the image on a thread of its own, so the assembly worker goes on
// reading, verifying and downloading while the browser writes (a sync access
// handle blocks its thread; a writable stream is slow, ~250 MB/s in Chromium).
import type { WriteReply, WriteRequest } from './messages.ts';
import { type Writer, openWriter } from './output-writers.ts';

declare const self: DedicatedWorkerGlobalScope;

const post = (reply: WriteReply) => self.postMessage(reply);
let writer: Writer | null = null;
let failed = false;
let writeMs = 0;
let queue = Promise.resolve();

async function handle(m: WriteRequest): Promise<void> {
  if (failed && m.type !== 'discard') return; // the failure was reported once
  switch (m.type) {
    case 'open':
      writer = await openWriter(m.target);
      break;
    case 'write': {
      const t = performance.now();
      await writer!.write(m.data, () => post({ type: 'written', bytes: m.data.length }));
      writeMs += performance.now() - t;
      return;
    }
    case 'flush': {
      const t = performance.now();
      await writer!.flush();
      writeMs += performance.now() - t;
      break;
    }
    case 'commit':
      await writer!.commit();
      break;
    case 'discard':
      await writer?.discard();
      break;
  }
  post({ type: 'done', request: m.type, writeMs });
}

self.onmessage = (e: MessageEvent<WriteRequest>) => {
  queue = queue
    .then(() => handle(e.data))
    .catch((error: unknown) => {
      failed = true;
      const { name = 'Error', message = String(error) } = (error ?? {}) as { name?: string; message?: string };
      post({ type: 'failed', error: { name, message } });
    });
};
