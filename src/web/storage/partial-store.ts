/// <reference lib="webworker" />
/**
 * Verified downloaded data kept in the site's private storage (OPFS), one log
 * per image, so an interrupted download resumes without fetching it again.
 * The log is self-describing and append-only: records of
 *   u32 start / 2^32, u32 start mod 2^32, u32 length (LE), then `length` bytes
 * of the image from `start`. A record cut short by a closed tab is ignored.
 * Each visit writes a log of its own (a file being written under a sync
 * access handle cannot be read as a seed at the same time); all of an image's
 * logs are seeds for the next visit, and are deleted once the image is built.
 */
import { writeFullyAt } from './sync-write.ts';

const DIR = 'tessera-partial';
const HEADER = 12;

/** A piece of the image kept in the log: image bytes [start, start + length) at `offset` in the log. */
export interface PartialSpan {
  start: number;
  length: number;
  offset: number;
}

/** Append to an image's log from a worker (sync access handle). */
export async function openPartialWriter(imageSha256: string): Promise<{ append(start: number, data: Uint8Array): void; close(options?: { flush?: boolean }): void }> {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
  const name = `${imageSha256}-${Date.now()}.log`;
  const access = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
  let position = 0;
  /** Keeping stopped (a write failed, e.g. storage full): the log keeps its complete records, the download goes on. */
  let stopped = false;
  const header = new Uint8Array(HEADER);
  const view = new DataView(header.buffer);
  return {
    append(start, data) {
      if (stopped) return;
      view.setUint32(0, Math.floor(start / 2 ** 32), true);
      view.setUint32(4, start >>> 0, true);
      view.setUint32(8, data.length, true);
      try {
        writeFullyAt(access, header, position);
        writeFullyAt(access, data, position + HEADER);
        position += HEADER + data.length;
      } catch {
        // Never fail the download for its resume log (the error would be blamed on the mirror that sent the data).
        stopped = true;
        try {
          access.truncate(position); // drop the record cut short
        } catch {
          // a torn last record is ignored when the log is read
        }
      }
    },
    /** `flush: false` when the log is about to be deleted (the image is built): no waiting for the disk. */
    close({ flush = true } = {}) {
      if (flush) access.flush();
      access.close();
      // Nothing verified (every mirror failed at once): no empty log to list as kept work.
      if (position === 0) dir.removeEntry(name).catch(() => {});
    },
  };
}

/** The complete records of a log (read from its File). */
export async function readPartialSpans(log: Blob, imageLength: number): Promise<PartialSpan[]> {
  const spans: PartialSpan[] = [];
  let offset = 0;
  while (offset + HEADER <= log.size) {
    const view = new DataView(await log.slice(offset, offset + HEADER).arrayBuffer());
    const start = view.getUint32(0, true) * 2 ** 32 + view.getUint32(4, true);
    const length = view.getUint32(8, true);
    if (length === 0 || start + length > imageLength || offset + HEADER + length > log.size) break; // cut short or damaged
    spans.push({ start, length, offset: offset + HEADER });
    offset += HEADER + length;
  }
  return spans;
}

/** The logs kept for an image (from earlier visits). */
export async function partialLogFiles(imageSha256: string): Promise<File[]> {
  const files: File[] = [];
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR);
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (handle.kind === 'file' && name.startsWith(`${imageSha256}-`)) files.push(await (handle as FileSystemFileHandle).getFile());
    }
  } catch {
    // no partial work yet
  }
  return files;
}

/** Every image's partial work, with its size (for the page's list). */
export async function listPartialWork(): Promise<{ imageSha256: string; bytes: number }[]> {
  const sizes = new Map<string, number>();
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR);
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (handle.kind !== 'file' || !name.endsWith('.log')) continue;
      const size = (await (handle as FileSystemFileHandle).getFile()).size;
      if (size < HEADER) continue; // no record (being removed, or left by a closed tab)
      const sha = name.slice(0, name.indexOf('-'));
      sizes.set(sha, (sizes.get(sha) ?? 0) + size);
    }
  } catch {
    // no partial work yet
  }
  return [...sizes].map(([imageSha256, bytes]) => ({ imageSha256, bytes }));
}

/** Delete an image's partial work (every log of it). */
export async function deletePartialWork(imageSha256: string): Promise<void> {
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR);
    const names: string[] = [];
    for await (const [name] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (name.startsWith(`${imageSha256}-`)) names.push(name);
    }
    for (const name of names) await dir.removeEntry(name);
  } catch {
    // already gone
  }
}
