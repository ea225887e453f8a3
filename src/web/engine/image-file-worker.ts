/// <reference lib="webworker" />
// Owns the image file being built in the site's storage (OPFS) through a sync
// access handle, which only one thread may hold: the scan workers write the
// blocks they find into it, and the assembly writes the rest, reads it back to
// hash it, or copies from it, all through message ports to this worker.
// Requests are served in the order they arrive, so a read sent after a write
// on the same port sees that write.
import type { ImageFileControl, ImageFileReply, ImageFileRequest, ImageFileStatus, StorageErrorInfo } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

let access: FileSystemSyncAccessHandle | null = null;
let root: FileSystemDirectoryHandle | null = null;
let fileName = '';
let length = 0;

const status = (s: ImageFileStatus) => self.postMessage(s);
const errorInfo = (error: unknown): StorageErrorInfo => {
  const { name = 'Error', message = String(error) } = (error ?? {}) as { name?: string; message?: string };
  return { name, message };
};

function serve(port: MessagePort, m: ImageFileRequest): void {
  const reply = (r: ImageFileReply, transfer: Transferable[] = []) => port.postMessage(r, transfer);
  try {
    if (!access) throw Object.assign(new Error('the image file is closed'), { name: 'InvalidStateError' });
    if (m.position < 0 || m.position + (m.type === 'write' ? m.data.length : m.length) > length) throw new RangeError(`bytes ${m.position}+ are outside the image`);
    if (m.type === 'write') {
      let done = 0;
      while (done < m.data.length) done += access.write(m.data.subarray(done), { at: m.position + done });
      reply({ type: 'written', id: m.id });
    } else {
      const data = new Uint8Array(m.length);
      let done = 0;
      while (done < data.length) {
        const n = access.read(data.subarray(done), { at: m.position + done });
        if (n === 0) break; // cannot happen within `length`: the file was sized at open
        done += n;
      }
      reply({ type: 'read', id: m.id, data }, [data.buffer]);
    }
  } catch (error) {
    reply({ type: 'failed', id: m.id, error: errorInfo(error) });
  }
}

async function control(m: ImageFileControl): Promise<void> {
  switch (m.type) {
    case 'open': {
      root = await navigator.storage.getDirectory();
      fileName = m.name;
      length = m.length;
      access = await (await root.getFileHandle(m.name, { create: true })).createSyncAccessHandle();
      // Whatever the file held goes; the image's length is reserved at once (zeros), so a full disk shows now.
      access.truncate(0);
      access.truncate(m.length);
      status({ type: 'opened' });
      return;
    }
    case 'connect':
      m.port.onmessage = (e: MessageEvent<ImageFileRequest>) => serve(m.port, e.data);
      return;
    case 'keep': {
      access?.flush();
      access?.close();
      access = null;
      // move() renames within the site's storage (Chromium, Firefox); elsewhere the file keeps its working name.
      let name = fileName;
      const handle = (await root!.getFileHandle(fileName)) as FileSystemFileHandle & { move?: (name: string) => Promise<void> };
      if (handle.move && m.name !== fileName) {
        await root!.removeEntry(m.name).catch(() => {});
        name = await handle.move(m.name).then(
          () => m.name,
          () => fileName,
        );
      }
      status({ type: 'kept', name });
      return;
    }
    case 'discard':
      access?.close();
      access = null;
      if (root && fileName) await root.removeEntry(fileName).catch(() => {});
      status({ type: 'discarded' });
      return;
  }
}

let queue = Promise.resolve();
self.onmessage = (e: MessageEvent<ImageFileControl>) => {
  queue = queue.then(() => control(e.data)).catch((error: unknown) => status({ type: 'failed', error: errorInfo(error) }));
};
