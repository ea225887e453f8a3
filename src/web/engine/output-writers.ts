/// <reference lib="webworker" />
// The two ways the page writes the image: a file the user chose, or a file in
// the site's private storage. Used inside the assembly worker.
import { writeFullyAt } from '../storage/sync-write.ts';
import type { OutputTarget } from './messages.ts';

/** Writes in flight to a chosen file: each is a round trip to the browser process. */
const WRITES_IN_FLIGHT = 3;

export interface Writer {
  /** Write `data`; `written` is called once it is written (the data may then be handed on). */
  write(data: Uint8Array<ArrayBuffer>, written: () => void): Promise<void>;
  /** Wait for the writes in flight. */
  flush(): Promise<void>;
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
    async write(data, written) {
      const write = writable.write(data).then(written);
      // Once one write fails the others do too: they are awaited below or dropped, never left as unhandled rejections (reported to the page).
      write.catch(() => {});
      pending.push(write);
      if (pending.length >= WRITES_IN_FLIGHT) await pending.shift();
    },
    async flush() {
      await Promise.all(pending.splice(0));
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
    async write(data, written) {
      writeFullyAt(access, data, position);
      position += data.length;
      written();
    },
    async flush() {},
    async commit() {
      access.flush();
      // The last guard before the file is offered as the verified image: it holds exactly what was hashed.
      const size = access.getSize();
      access.close();
      if (size !== position) throw new DOMException(`the file holds ${size} bytes, but ${position} were written`, 'InvalidStateError');
    },
    async discard() {
      access.close();
      await root.removeEntry(name).catch(() => {});
    },
  };
}

export const openWriter = (target: OutputTarget): Promise<Writer> => (target.kind === 'file-handle' ? fileHandleWriter(target.handle) : opfsWriter(target.name));

