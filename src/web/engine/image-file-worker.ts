/// <reference lib="webworker" />
// Owns the image file being built in the site's storage (OPFS) through a sync
// access handle: the scan workers write the blocks they find into it and the
// assembly writes the rest, through handles of their own where the browser
// lets workers share the file (shared-access.ts), else through message ports
// to this worker; either way they say on their port what is final, and its
// verifier reads that back to hash it. Requests are served in the order they
// arrive, so a 'final' sent after a write on the same port is served after
// that write. An interrupted visit's file can be taken up as it is ('adopt',
// see partial-store.ts), under a Web Lock on its name.
import { renameEntry } from '../storage/rename-entry.ts';
import { openSharedAccess } from '../storage/shared-access.ts';
import { writeFullyAt } from '../storage/sync-write.ts';
import { ImageVerifier, SegmentMismatch } from './image-verifier.ts';
import type { ImageFileControl, ImageFileReply, ImageFileRequest, ImageFileStatus, StorageErrorInfo } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

let access: FileSystemSyncAccessHandle | null = null;
let root: FileSystemDirectoryHandle | null = null;
let fileName = '';
let length = 0;
let verifier: ImageVerifier | null = null;
/** Blocks said final before there was a verifier, for the first one (later ones take their predecessor's record). */
const finalBlocks: Int32Array[] = [];
/** The hashing waits while seeds are scanned. */
let hashingHeld = false;
/** Releases the lock this worker holds on the file's name (one tab at a time works on a file). */
let releaseLock: (() => void) | null = null;

/** Hold a lock named for the file while this worker has it open, or null if another tab holds it. */
function lockFile(name: string): Promise<(() => void) | null> {
  const locks = (navigator as { locks?: LockManager }).locks;
  if (!locks) return Promise.resolve(() => {}); // (no Web Locks: the file's random name keeps tabs apart, but an adopted one is not)
  return new Promise((resolve) => {
    void locks.request(`tessera:${name}`, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      return new Promise<void>((release) => resolve(release));
    });
  });
}

function closeFile(): void {
  verifier?.terminate();
  access?.close();
  access = null;
  releaseLock?.();
  releaseLock = null;
}

const status = (s: ImageFileStatus) => self.postMessage(s);
const errorInfo = (error: unknown): StorageErrorInfo => {
  const { name = 'Error', message = String(error) } = (error ?? {}) as { name?: string; message?: string };
  return { name, message };
};

/** For the verifier: read `n` bytes at `position` (within the image: the file was sized at open), into `into` if given (its first n bytes). */
function readAt(position: number, n: number, into?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const data = into && into.length >= n ? into.subarray(0, n) : new Uint8Array(n);
  let done = 0;
  while (done < n) {
    const got = access!.read(data.subarray(done), { at: position + done });
    if (got === 0) {
      data.fill(0, done); // (a reused buffer holds older bytes)
      break;
    }
    done += got;
  }
  return data;
}

function serve(port: MessagePort, m: ImageFileRequest): void {
  const reply = (r: ImageFileReply, transfer: Transferable[] = []) => port.postMessage(r, transfer);
  if (m.type === 'final') {
    verifier?.finalUpTo(m.upTo);
    return;
  }
  if (m.type === 'final-range') {
    verifier?.finalRange(m.start, m.end);
    return;
  }
  if (m.type === 'digest') {
    if (!verifier) return reply({ type: 'failed', id: m.id, error: { name: 'InvalidStateError', message: 'the image file is not being verified' } });
    verifier.digest().then(
      (v) => reply({ type: 'digest', id: m.id, ...v }),
      (error: unknown) =>
        reply(error instanceof SegmentMismatch ? { type: 'mismatch', id: m.id, segment: error.segment, message: error.message } : { type: 'failed', id: m.id, error: errorInfo(error) }),
    );
    return;
  }
  try {
    if (!access) throw Object.assign(new Error('the image file is closed'), { name: 'InvalidStateError' });
    if (m.position < 0 || m.position + m.data.length > length) throw new RangeError(`bytes ${m.position}+ are outside the image`);
    writeFullyAt(access, m.data, m.position); // (a failed sync write is not thrown by Chromium: see sync-write.ts)
    reply({ type: 'written', id: m.id, data: m.data }, [m.data.buffer]);
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
      releaseLock = await lockFile(m.name);
      if (!releaseLock) throw new DOMException(`${m.name} is open in another tab`, 'NoModificationAllowedError');
      const file = await root.getFileHandle(m.name, { create: !m.adopt });
      const opened = m.share ? await openSharedAccess(file) : { access: await file.createSyncAccessHandle(), shared: false };
      access = opened.access;
      const adopted = m.adopt && access.getSize() === m.length;
      if (!adopted) {
        // Whatever the file held goes; the image's length is reserved at once (zeros), so a full disk shows now.
        access.truncate(0);
        access.truncate(m.length);
        // Chromium (156) does not throw when there is no room for it: the file just stays short.
        if (access.getSize() !== m.length) throw new DOMException(`no room for the image's ${m.length} bytes in the site's storage`, 'QuotaExceededError');
      }
      status({ type: 'opened', shared: opened.shared, adopted });
      return;
    }
    case 'verify': {
      // Again, with other checksums: what is final stays final.
      const earlier = verifier?.finalBlocks;
      verifier?.terminate();
      verifier = new ImageVerifier({ length, blockSize: m.blockSize, algorithm: m.algorithm, chain: m.chain, alsoSha256: m.alsoSha256, read: readAt });
      verifier.hold(hashingHeld);
      if (earlier) verifier.markFinalMap(earlier);
      for (const blocks of finalBlocks.splice(0)) verifier.markFinal(blocks);
      return;
    }
    case 'final-blocks':
      if (verifier) verifier.markFinal(m.blocks);
      else finalBlocks.push(m.blocks);
      return;
    case 'hold-hashing':
      hashingHeld = m.hold;
      verifier?.hold(m.hold);
      return;
    case 'connect':
      m.port.onmessage = (e: MessageEvent<ImageFileRequest>) => serve(m.port, e.data);
      return;
    case 'flush':
      // (Blocks this thread, not the download: the assembly's writes wait in its window meanwhile. A failure shows at keep().)
      try {
        access?.flush();
      } catch {
        // keep() flushes again and reports it
      }
      return;
    case 'keep': {
      access?.flush();
      closeFile();
      // Where the browser cannot rename it, the file keeps its working name (the page then records it: built-images.ts).
      let name = fileName;
      if (m.name !== fileName) {
        await root!.removeEntry(m.name).catch(() => {});
        if (await renameEntry(await root!.getFileHandle(fileName), root!, m.name)) name = m.name;
      }
      status({ type: 'kept', name });
      return;
    }
    case 'discard':
      closeFile();
      if (root && fileName) await root.removeEntry(fileName).catch(() => {});
      status({ type: 'discarded' });
      return;
    case 'release':
      closeFile();
      status({ type: 'released' });
      return;
  }
}

let queue = Promise.resolve();
self.onmessage = (e: MessageEvent<ImageFileControl>) => {
  queue = queue.then(() => control(e.data)).catch((error: unknown) => status({ type: 'failed', error: errorInfo(error) }));
};
