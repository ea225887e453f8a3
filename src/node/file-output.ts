import { open, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, TesseraError, describeError } from '../core/errors.ts';
import { MAX_WRITE_BYTES, type OutputSink } from '../core/io.ts';
import { formatBytes } from '../shared/format.ts';
import { backgroundFlush } from './background-flush.ts';
import { type FileHasher, type FileHasherOptions, hashFileAsWritten } from './file-hasher.ts';
import { sha256OfFile } from './native-hasher.ts';

/** While an image is written it lives here; it becomes OUT only once verified. */
export const partPathFor = (out: string) => `${out}.tessera-part`;
/** The verified prefix of an interrupted earlier run, used as a seed to resume. */
export const resumePathFor = (out: string) => `${out}.tessera-resume`;

/** The size of a regular file, or undefined when there is none at `path`. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keep what an interrupted run wrote: its part file (every byte of which was
 * verified before it was written) becomes the resume seed, so nothing already
 * downloaded is fetched again. Of two leftovers the longer holds more (writes
 * go in order). Returns the resume seed's path, if there is one.
 */
export async function takeOverPartialOutput(out: string): Promise<string | undefined> {
  const part = partPathFor(out);
  const resume = resumePathFor(out);
  const partSize = await fileSize(part);
  const resumeSize = await fileSize(resume);
  if (partSize !== undefined) {
    if (resumeSize !== undefined && resumeSize >= partSize) await rm(part, { force: true });
    else await rename(part, resume);
  }
  return (await fileSize(resume)) !== undefined ? resume : undefined;
}

export interface FileOutput {
  readonly sink: OutputSink;
  readonly partPath: string;
  /** Bytes in the part file: written in order, then any kept aside. */
  readonly bytes: number;
  /** The SHA-256 of the whole part file: from the checksum thread if it computed one, else read now. Once nothing more is written. */
  sha256(): Promise<string>;
  /** The image is verified: move it to its final name and drop the resume seed. */
  commit(): Promise<void>;
  /** Stop, keeping the verified prefix for a later resume. */
  keep(): Promise<void>;
  /** Stop and delete what was written (it is wrong). */
  discard(): Promise<void>;
}

export interface FileOutputOptions {
  /**
   * Hash the part file on a thread of its own as it is written (the sink's
   * digest()), with this node:crypto algorithm; without it the sink does not hash.
   * With `alsoSha256` the thread gives sha256() too.
   */
  hash?: { algorithm: string } & FileHasherOptions;
}

/** Write the image to OUT.tessera-part, sequentially. */
export async function openFileOutput(out: string, options: FileOutputOptions = {}): Promise<FileOutput> {
  const partPath = partPathFor(out);
  let handle: FileHandle;
  try {
    handle = await open(partPath, 'w');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `the folder ${dirname(resolve(out))} does not exist` : code === 'EACCES' ? 'permission denied' : describeError(error);
    throw new TesseraError(ErrorCode.OutputWrite, `cannot write ${partPath}: ${why}; choose another place with -o PATH`, { path: partPath }, { cause: error });
  }
  let closed = false;
  let bytes = 0;
  const flushing = backgroundFlush(handle);
  const hasher: FileHasher | undefined = options.hash && hashFileAsWritten(partPath, options.hash.algorithm, options.hash);
  const close = async () => {
    if (!closed) {
      closed = true;
      await hasher?.cancel();
      await flushing.settled().catch(() => undefined); // (kept or discarded: a failed flush only matters to commit())
      await handle.close();
    }
  };
  const write = async (chunk: Uint8Array) => {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, done, Math.min(chunk.length - done, MAX_WRITE_BYTES));
      done += bytesWritten;
      bytes += bytesWritten;
    }
    flushing.wrote(bytes);
    hasher?.wrote(bytes);
  };
  return {
    partPath,
    get bytes() {
      return bytes;
    },
    sink: {
      write,
      // After what was written in order: the part file is a seed for the resume, read by content.
      keepAside: (_start, data) => write(data),
      ...(hasher && { digest: () => hasher.digest() }),
    },
    sha256: () => hasher?.sha256() ?? sha256OfFile(partPath),
    async commit() {
      await flushing.settled();
      await handle.sync();
      await close();
      await rename(partPath, out);
      await rm(resumePathFor(out), { force: true });
    },
    keep: close,
    async discard() {
      await close();
      await rm(partPath, { force: true });
    },
  };
}

/** Refuse to start when the folder that will hold `out` has less free space than `bytes` (said now rather than when the disk fills up half-way). */
export async function checkFreeSpace(out: string, bytes: number): Promise<void> {
  const free = await freeSpaceFor(out);
  if (!free || free.bytes >= bytes) return;
  throw new TesseraError(
    ErrorCode.OutputNoSpace,
    `not enough free space in ${free.folder}: the image needs ${formatBytes(bytes)} (${bytes} bytes), only ${formatBytes(free.bytes)} is free; ` +
      `free ${formatBytes(bytes - free.bytes)} more, or write the image elsewhere with -o PATH`,
    { folder: free.folder, needed: bytes, free: free.bytes },
  );
}

/** Bytes free for this user in the folder that will hold `out`, or undefined when that cannot be told. */
export async function freeSpaceFor(out: string): Promise<{ folder: string; bytes: number } | undefined> {
  const folder = dirname(resolve(out));
  try {
    const s = await statfs(folder);
    return { folder, bytes: s.bavail * s.bsize };
  } catch {
    return undefined;
  }
}
