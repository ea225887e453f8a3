/// <reference lib="webworker" />
import type { OutputSink } from '../../core/io.ts';
import { explainStorageError } from './explain-error.ts';
import type { OutputTarget } from './messages.ts';

/** An output that is only made visible once the image is verified. */
export interface CommittableSink {
  sink: OutputSink;
  /** The image is verified: make it the user's file. */
  commit(): Promise<void>;
  /** Something failed: throw away what was written. */
  discard(): Promise<void>;
}

/**
 * A file the user chose (showSaveFilePicker). Chromium writes to a swap file
 * and only replaces the real file on close(), so an unverified image never
 * appears under the user's name: close() is called only after the SHA-256 matched.
 */
async function fileHandleSink(handle: FileSystemFileHandle): Promise<CommittableSink> {
  const writable = await handle.createWritable({ keepExistingData: false });
  return {
    sink: {
      write: async (chunk) => {
        try {
          await writable.write(chunk as Uint8Array<ArrayBuffer>);
        } catch (error) {
          throw new Error(explainStorageError(error, `writing ${handle.name}`), { cause: error });
        }
      },
    },
    commit: () => writable.close(),
    discard: () => writable.abort().catch(() => {}),
  };
}

/** A file in the Origin Private File System, written through a sync access handle (workers only). */
async function opfsSink(name: string): Promise<CommittableSink> {
  const root = await navigator.storage.getDirectory();
  const handle = await root.getFileHandle(name, { create: true });
  const access = await handle.createSyncAccessHandle();
  access.truncate(0);
  let position = 0;
  return {
    sink: {
      write: async (chunk) => {
        try {
          let done = 0;
          while (done < chunk.length) done += access.write(chunk.subarray(done), { at: position + done });
        } catch (error) {
          throw new Error(explainStorageError(error, 'writing to the browser storage'), { cause: error });
        }
        position += chunk.length;
      },
    },
    commit: async () => {
      access.flush();
      access.close();
    },
    discard: async () => {
      access.close();
      await root.removeEntry(name).catch(() => {});
    },
  };
}

export function openOutput(target: OutputTarget): Promise<CommittableSink> {
  return target.kind === 'file-handle' ? fileHandleSink(target.handle) : opfsSink(target.name);
}
