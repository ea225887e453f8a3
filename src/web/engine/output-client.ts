import type { OutputSink } from '../../core/io.ts';
import { explainStorageError } from './explain-error.ts';
import type { HashReply, HashRequest, OutputTarget } from './messages.ts';
import { openWriter } from './output-writers.ts';

/** Writes are gathered into batches this large: 16 MB writes run ~30% faster than 4 MB ones in Chromium. */
const BATCH_BYTES = 16 << 20;
/** Batches written but not yet hashed; bounds memory (4 x 16 MB). */
const BATCHES_AHEAD = 4;

export interface OutputClient {
  /** Writes the image; the SHA-256 of what was written comes from sink.digest(). */
  readonly sink: OutputSink;
  /** The image is verified: make it the user's file. */
  commit(): Promise<void>;
  /** Something failed: throw away what was written. */
  discard(): Promise<void>;
  /** Where the time went (ms), once the digest is known. */
  readonly busy: { hash: number; write: number; idle: number };
}

/**
 * Open the output in this (assembly) worker and a SHA-256 worker beside it.
 * Chunks are gathered into 16 MB batches; each batch is written here, then
 * transferred (not copied) to the SHA-256 worker, so hashing runs on the other
 * core while this worker reads, verifies and writes the next batches.
 */
export async function openOutput(target: OutputTarget): Promise<OutputClient> {
  const what = target.kind === 'file-handle' ? `writing ${target.handle.name}` : 'writing to the browser storage';
  let writer;
  try {
    writer = await openWriter(target);
  } catch (error) {
    throw new Error(explainStorageError(error, what), { cause: error });
  }
  const hasher = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name: 'sha256' });
  let unhashed = 0;
  let wake: (() => void) | null = null;
  let digestWaiter: ((reply: Extract<HashReply, { type: 'digest' }>) => void) | null = null;
  let failure: Error | null = null;
  hasher.onmessage = (e: MessageEvent<HashReply>) => {
    const reply = e.data;
    if (reply.type === 'hashed') {
      unhashed--;
      wake?.();
      wake = null;
    } else digestWaiter?.(reply);
  };
  hasher.onerror = (e) => {
    failure = new Error(`the SHA-256 worker failed: ${e.message}`);
    wake?.();
  };
  const toHasher = (request: HashRequest, transfer: Transferable[] = []) => hasher.postMessage(request, transfer);
  const busy = { hash: 0, write: 0, idle: 0 };

  let batch = new Uint8Array(BATCH_BYTES);
  let filled = 0;
  const handOver = async () => {
    if (filled === 0) return;
    const data = filled === batch.length ? batch : batch.slice(0, filled);
    batch = new Uint8Array(BATCH_BYTES);
    filled = 0;
    unhashed++;
    const t = performance.now();
    try {
      await writer.write(data, () => toHasher({ type: 'update', data }, [data.buffer]));
    } catch (error) {
      throw new Error(explainStorageError(error, what), { cause: error });
    }
    busy.write += performance.now() - t;
    const w = performance.now();
    while (unhashed >= BATCHES_AHEAD && !failure) await new Promise<void>((resolve) => (wake = resolve));
    busy.idle += performance.now() - w;
    if (failure) throw failure;
  };

  return {
    busy,
    sink: {
      async write(chunk) {
        let done = 0;
        while (done < chunk.length) {
          const n = Math.min(chunk.length - done, batch.length - filled);
          batch.set(chunk.subarray(done, done + n), filled);
          filled += n;
          done += n;
          if (filled === batch.length) await handOver();
        }
      },
      async digest() {
        await handOver();
        try {
          await writer.flush();
        } catch (error) {
          throw new Error(explainStorageError(error, what), { cause: error });
        }
        const reply = await new Promise<Extract<HashReply, { type: 'digest' }>>((resolve) => {
          digestWaiter = resolve;
          toHasher({ type: 'digest' });
        });
        busy.hash = reply.ms;
        return reply.sha256;
      },
    },
    async commit() {
      hasher.terminate();
      await writer.commit();
    },
    async discard() {
      hasher.terminate();
      await writer.discard();
    },
  };
}
