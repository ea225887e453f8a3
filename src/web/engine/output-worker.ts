/// <reference lib="webworker" />
// The output worker owns the image file: it receives the image in order, in
// large batches handed over without copying, hashes them (SHA-256) and writes
// them. The assembly worker meanwhile goes on reading and verifying.
import { createSHA256 } from 'hash-wasm';
import { explainStorageError } from './explain-error.ts';
import type { OutputReply, OutputRequest, OutputTarget } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

/** Writes in flight to a chosen file: each is a round trip to the browser process. */
const WRITES_IN_FLIGHT = 3;

interface Writer {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * A file the user chose (showSaveFilePicker). Chromium writes to a swap file
 * and only replaces the real file on close(), so an unverified image never
 * appears under the user's name: close() is called only after the SHA-256 matched.
 */
async function fileHandleWriter(handle: FileSystemFileHandle): Promise<Writer> {
  const writable = await handle.createWritable({ keepExistingData: false });
  const pending: Promise<void>[] = [];
  return {
    async write(data) {
      pending.push(writable.write(data));
      if (pending.length >= WRITES_IN_FLIGHT) await pending.shift();
    },
    async commit() {
      await Promise.all(pending);
      await writable.close();
    },
    async discard() {
      await Promise.allSettled(pending);
      await writable.abort().catch(() => {});
    },
  };
}

/** A file in the Origin Private File System, through a sync access handle (workers only). */
async function opfsWriter(name: string): Promise<Writer> {
  const root = await navigator.storage.getDirectory();
  const access = await (await root.getFileHandle(name, { create: true })).createSyncAccessHandle();
  access.truncate(0);
  let position = 0;
  return {
    async write(data) {
      let done = 0;
      while (done < data.length) done += access.write(data.subarray(done), { at: position + done });
      position += data.length;
    },
    async commit() {
      access.flush();
      access.close();
    },
    async discard() {
      access.close();
      await root.removeEntry(name).catch(() => {});
    },
  };
}

const openWriter = (target: OutputTarget) => (target.kind === 'file-handle' ? fileHandleWriter(target.handle) : opfsWriter(target.name));

let writer: Writer | undefined;
let target: OutputTarget | undefined;
const hasher = createSHA256().then((h) => {
  h.init();
  return h;
});
let queue = Promise.resolve();
let failed = false;
/** Milliseconds spent hashing, writing, and waiting for work: shown with the result's timings. */
const busy = { hash: 0, write: 0, idle: 0 };
let lastDone = performance.now();
const post = (reply: OutputReply) => self.postMessage(reply);
const name = () => (target?.kind === 'file-handle' ? target.handle.name : 'the browser storage');

async function handle(request: OutputRequest): Promise<void> {
  switch (request.type) {
    case 'open':
      target = request.target;
      writer = await openWriter(request.target);
      post({ type: 'opened' });
      break;
    case 'write': {
      const h = await hasher;
      const t0 = performance.now();
      busy.idle += t0 - lastDone;
      h.update(request.data);
      const t1 = performance.now();
      await writer!.write(request.data);
      lastDone = performance.now();
      busy.hash += t1 - t0;
      busy.write += lastDone - t1;
      post({ type: 'written', bytes: request.data.length });
      break;
    }
    case 'digest':
      post({ type: 'digest', sha256: (await hasher).digest('hex'), busy });
      break;
    case 'commit':
      await writer!.commit();
      post({ type: 'committed' });
      break;
    case 'discard':
      await writer?.discard();
      post({ type: 'discarded' });
      break;
  }
}

self.onmessage = (e: MessageEvent<OutputRequest>) => {
  const request = e.data;
  queue = queue.then(async () => {
    if (failed && request.type !== 'discard') return;
    try {
      await handle(request);
    } catch (error) {
      failed = true;
      post({ type: 'failed', message: explainStorageError(error, `writing ${name()}`) });
    }
  });
};
