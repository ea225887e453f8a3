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
 *
 * When the image is built in place and the assembly writes what it downloads
 * straight into the image file (shared-access.ts), the data is not written a
 * second time: the visit keeps a *range log* instead (`.ranges`), which names
 * the image file and lists the ranges of it that hold verified downloaded
 * bytes (records as above, with no data). The next visit adopts that image
 * file as it is (see the controller's openImageFile).
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

/** Write a record's header (start as two u32, length; little-endian) at `at` of `view`. */
function writeRecord(view: DataView, at: number, start: number, length: number): void {
  view.setUint32(at, Math.floor(start / 2 ** 32), true);
  view.setUint32(at + 4, start >>> 0, true);
  view.setUint32(at + 8, length, true);
}

/** A record's header at `at` of `view`. */
function readRecord(view: DataView, at: number): { start: number; length: number } {
  return { start: view.getUint32(at, true) * 2 ** 32 + view.getUint32(at + 4, true), length: view.getUint32(at + 8, true) };
}

/**
 * An append-only log of tessera-partial, `head` first, written from a worker
 * through a sync access handle. A failed write (storage full, say) stops it
 * at its last complete record and is not thrown: the download goes on (the
 * error would be blamed on the mirror that sent the data). A log with no
 * record is removed when closed (nothing to list as kept work).
 */
async function openAppendLog(name: string, head: Uint8Array): Promise<{ append(...parts: Uint8Array[]): void; close(flush: boolean): void }> {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
  const access = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
  let position = 0;
  let stopped = false;
  const append = (...parts: Uint8Array[]) => {
    if (stopped) return;
    let at = position;
    try {
      for (const part of parts) {
        writeFullyAt(access, part, at);
        at += part.length;
      }
      position = at;
    } catch {
      stopped = true;
      try {
        access.truncate(position); // drop the record cut short
      } catch {
        // a torn last record is ignored when the log is read
      }
    }
  };
  append(head);
  return {
    append,
    close(flush) {
      if (flush) access.flush();
      access.close();
      if (position <= head.length) dir.removeEntry(name).catch(() => {});
    },
  };
}

/** Append to an image's log from a worker (sync access handle). */
export async function openPartialWriter(imageSha256: string): Promise<{ append(start: number, data: Uint8Array): void; close(options?: { flush?: boolean }): void }> {
  const log = await openAppendLog(`${imageSha256}-${Date.now()}.log`, new Uint8Array(0));
  const header = new Uint8Array(HEADER);
  const view = new DataView(header.buffer);
  return {
    append(start, data) {
      writeRecord(view, 0, start, data.length);
      log.append(header, data);
    },
    /** `flush: false` when the log is about to be deleted (the image is built): no waiting for the disk. */
    close: ({ flush = true } = {}) => log.close(flush),
  };
}

const RANGES = '.ranges';

/** Keep a range log for the image file `imageFileName` (from the assembly, through a sync access handle). */
export async function openRangeLog(imageSha256: string, imageFileName: string): Promise<{ append(start: number, length: number): void; close(): void }> {
  const fileName = new TextEncoder().encode(imageFileName);
  const head = new Uint8Array(4 + fileName.length);
  new DataView(head.buffer).setUint32(0, fileName.length, true);
  head.set(fileName, 4);
  const log = await openAppendLog(`${imageSha256}-${Date.now()}${RANGES}`, head);
  const record = new Uint8Array(HEADER);
  const view = new DataView(record.buffer);
  return {
    append(start, length) {
      writeRecord(view, 0, start, length);
      log.append(record);
    },
    close: () => log.close(false),
  };
}

/** A visit's range log: the image file it names, and its complete records (`offset` = `start`: the bytes are at their place). */
export interface RangeLog {
  imageFileName: string;
  spans: PartialSpan[];
}

/** Read a range log (from its File); null if it is too short to name its image file. Its spans are as recorded (not checked against the image's length). */
export async function readRangeLog(log: Blob): Promise<RangeLog | null> {
  const bytes = new Uint8Array(await log.arrayBuffer());
  if (bytes.length < 4) return null;
  const view = new DataView(bytes.buffer);
  const nameLength = view.getUint32(0, true);
  if (4 + nameLength > bytes.length) return null;
  const imageFileName = new TextDecoder().decode(bytes.subarray(4, 4 + nameLength));
  const spans: PartialSpan[] = [];
  for (let at = 4 + nameLength; at + HEADER <= bytes.length; at += HEADER) {
    const { start, length } = readRecord(view, at);
    if (length === 0) break;
    spans.push({ start, length, offset: start });
  }
  return { imageFileName, spans };
}

/**
 * The range logs kept (from earlier visits): an image's (`imageSha256`), or
 * every image's, whose image files are partial work that the page must not
 * delete as left over. Their spans are as recorded: check them against the
 * image's length before use.
 */
export async function rangeLogs(imageSha256 = ''): Promise<(RangeLog & { imageSha256: string })[]> {
  const logs: (RangeLog & { imageSha256: string })[] = [];
  for (const file of await partialFiles(imageSha256 ? `${imageSha256}-` : '', RANGES)) {
    const log = await liveRangeLog(file);
    if (log) logs.push({ ...log, imageSha256: file.name.slice(0, file.name.indexOf('-')) });
  }
  return logs;
}

/** Delete an image's range logs that name `imageFileName` (the file was emptied: their ranges no longer hold anything). */
export async function forgetRangeLogs(imageSha256: string, imageFileName: string): Promise<void> {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR).catch(() => null);
  for (const file of await partialFiles(`${imageSha256}-`, RANGES)) {
    const log = await readRangeLog(file).catch(() => null);
    if (log?.imageFileName === imageFileName) await dir?.removeEntry(file.name).catch(() => {});
  }
}

/** A range log whose image file is still there; one whose image file is gone (deleted with a verified image, say) is deleted. */
async function liveRangeLog(file: File): Promise<RangeLog | null> {
  const log = await readRangeLog(file).catch(() => null);
  if (!log) return null;
  const root = await navigator.storage.getDirectory();
  if (await root.getFileHandle(log.imageFileName).then(() => true, () => false)) return log;
  await (await root.getDirectoryHandle(DIR)).removeEntry(file.name).catch(() => {});
  return null;
}

/** The files of tessera-partial whose name starts with `prefix` and ends with `suffix`. */
async function partialFiles(prefix: string, suffix: string): Promise<File[]> {
  const files: File[] = [];
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR);
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (handle.kind === 'file' && name.startsWith(prefix) && name.endsWith(suffix)) files.push(await (handle as FileSystemFileHandle).getFile());
    }
  } catch {
    // no partial work yet
  }
  return files;
}

/** The complete records of a log (read from its File). */
export async function readPartialSpans(log: Blob, imageLength: number): Promise<PartialSpan[]> {
  const spans: PartialSpan[] = [];
  let offset = 0;
  while (offset + HEADER <= log.size) {
    const { start, length } = readRecord(new DataView(await log.slice(offset, offset + HEADER).arrayBuffer()), 0);
    if (length === 0 || start + length > imageLength || offset + HEADER + length > log.size) break; // cut short or damaged
    spans.push({ start, length, offset: offset + HEADER });
    offset += HEADER + length;
  }
  return spans;
}

/** The data logs kept for an image (from earlier visits). */
export function partialLogFiles(imageSha256: string): Promise<File[]> {
  return partialFiles(`${imageSha256}-`, '.log');
}

/** Every image's partial work, with its size (for the page's list). */
export async function listPartialWork(): Promise<{ imageSha256: string; bytes: number }[]> {
  const sizes = new Map<string, number>();
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR);
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      if (handle.kind !== 'file') continue;
      const file = await (handle as FileSystemFileHandle).getFile();
      const sha = name.slice(0, name.indexOf('-'));
      if (name.endsWith(RANGES)) {
        // The verified bytes it lists (they are in its image file).
        const log = await liveRangeLog(file);
        const bytes = log?.spans.reduce((n, s) => n + s.length, 0) ?? 0;
        if (bytes > 0) sizes.set(sha, (sizes.get(sha) ?? 0) + bytes);
        continue;
      }
      if (!name.endsWith('.log') || file.size < HEADER) continue; // no record (being removed, or left by a closed tab)
      sizes.set(sha, (sizes.get(sha) ?? 0) + file.size);
    }
  } catch {
    // no partial work yet
  }
  return [...sizes].map(([imageSha256, bytes]) => ({ imageSha256, bytes }));
}

/**
 * Delete an image's partial work: every log of it and, with `imageFiles`, the
 * image files its range logs name (not when the image was just built: the
 * built image is that file, renamed, or under its working name).
 */
export async function deletePartialWork(imageSha256: string, { imageFiles = false } = {}): Promise<void> {
  const named = imageFiles ? (await rangeLogs(imageSha256)).map((l) => l.imageFileName) : [];
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
  const root = await navigator.storage.getDirectory().catch(() => null);
  for (const name of new Set(named)) await root?.removeEntry(name).catch(() => {}); // (one open in a tab stays)
}
