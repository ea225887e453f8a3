import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { OutputSink } from '../core/io.ts';

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
  /** The image is verified: move it to its final name and drop the resume seed. */
  commit(): Promise<void>;
  /** Stop, keeping the verified prefix for a later resume. */
  keep(): Promise<void>;
  /** Stop and delete what was written (it is wrong). */
  discard(): Promise<void>;
}

/** Write the image to OUT.tessera-part, sequentially. */
export async function openFileOutput(out: string): Promise<FileOutput> {
  const partPath = partPathFor(out);
  const handle: FileHandle = await open(partPath, 'w');
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  return {
    partPath,
    sink: {
      async write(chunk) {
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
          done += bytesWritten;
        }
      },
    },
    async commit() {
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
