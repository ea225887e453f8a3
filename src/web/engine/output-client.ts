import type { OutputSink } from '../../core/io.ts';
import { ErrorCode, TesseraError } from '../../core/errors.ts';
import type { ChecksumAlgorithm } from '../../core/manifest/manifest.ts';
import type { Sha256Chain } from '../../core/sha256-chain.ts';
import { explainStorageError } from './explain-error.ts';
import type { HashReply, HashRequest, OutputTarget, WriteReply, WriteRequest } from './messages.ts';

/** Writes are gathered into batches this large: 16 MB writes run ~30% faster than 4 MB ones in Chromium. */
const BATCH_BYTES = 16 << 20;
/** Batches handed over but not yet written, or not yet hashed per hash worker; bounds memory (16 MB each). */
const BATCHES_AHEAD = 3;
/** Hash workers when the manifest has SHA-256 checkpoints: one per core beside the writer, 2 to 4. */
const chainWorkers = () => Math.min(4, Math.max(2, (navigator.hardwareConcurrency || 2) - 1));

export interface OutputClient {
  /** Writes the image; the SHA-256 of what was written comes from sink.digest(). */
  readonly sink: OutputSink;
  /** The image is verified: make it the user's file. */
  commit(): Promise<void>;
  /** Something failed: throw away what was written. */
  discard(): Promise<void>;
  /** Where the time went (ms), once the digest is known. */
  readonly busy: { hash: number; write: number; idle: number };
  /** How the checksum is computed: in how many segments (1: one pass), on how many workers. */
  readonly hashing: { segments: number; workers: number };
  /** With `alsoSha256`: the SHA-256 of what was written, once sink.digest() has returned. */
  sha256(): Promise<string>;
}

/** A worker's error event has no message when its script could not be loaded (a page updated or served from a broken cache). */
const workerProblem = (e: ErrorEvent) => e.message || 'its script could not be loaded; reload the page and try again';

export interface OutputOptions {
  /** The manifest's SHA-256 checkpoints: hash segments on several workers. */
  chain?: Sha256Chain;
  /** Also compute the SHA-256 (a description with another checksum, and a SHA-256 the user expects). */
  alsoSha256?: boolean;
}

/**
 * Open the output from the assembly worker: a write worker and hash workers
 * beside it, so writing, hashing and the assembly's own reading and verifying
 * all run at once. Chunks are gathered into 16 MB batches; each batch goes to
 * the write worker and a copy to a hash worker (both transferred, not copied
 * again), and the assembly waits only when the writer or the hashing falls 3
 * batches (per worker) behind.
 *
 * With SHA-256 checkpoints (`chain`), segment s goes to hash worker s mod N,
 * which starts it from its checkpoint and reports the state at its end; the
 * digest is finished by the worker of the last segment. It is the image's
 * SHA-256 only if every segment ended on its checkpoint, which digest() checks.
 */
export async function openOutput(target: OutputTarget, algorithm: ChecksumAlgorithm, { chain, alsoSha256 = false }: OutputOptions = {}): Promise<OutputClient> {
  const what = target.kind === 'file-handle' ? `writing ${target.handle.name}` : 'writing to the browser storage';
  const segments = algorithm === 'sha256' && chain && chain.segmentBytes % BATCH_BYTES === 0 ? chain : undefined;
  const writer = new Worker(new URL('./write-worker.ts', import.meta.url), { type: 'module', name: 'output' });
  const hashWorker = (name: string) => new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name });
  const hashers = Array.from({ length: segments ? chainWorkers() : 1 }, (_, i) => hashWorker(`hash-${i}`));
  // The extra SHA-256 runs beside the others, on a copy of every batch.
  const extra = alsoSha256 && algorithm !== 'sha256' ? hashWorker('sha256') : null;
  const all = extra ? [...hashers, extra] : hashers;
  let unwritten = 0;
  let unhashed = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let writerDone: ((reply: Extract<WriteReply, { type: 'done' }>) => void) | null = null;
  const digests: (Extract<HashReply, { type: 'digest' }> | null)[] = all.map(() => null);
  /** Segments whose end state differs from their checkpoint. */
  const badSegments: number[] = [];
  let writeMs = 0;

  writer.onmessage = (e: MessageEvent<WriteReply>) => {
    const reply = e.data;
    if (reply.type === 'written') unwritten--;
    else if (reply.type === 'failed') failure = new Error(explainStorageError(reply.error, what));
    else {
      writeMs = reply.writeMs;
      writerDone?.(reply);
    }
    notify();
  };
  all.forEach((hasher, i) => {
    hasher.onmessage = (e: MessageEvent<HashReply>) => {
      const reply = e.data;
      if (reply.type === 'hashed') unhashed--;
      else if (reply.type === 'segment') {
        if (reply.state !== segments!.states[reply.index]) badSegments.push(reply.index);
      } else digests[i] = reply;
      notify();
    };
    hasher.onerror = (e) => {
      failure = new Error(`the hash worker failed: ${workerProblem(e)}`);
      notify();
    };
  });
  writer.onerror = (e) => {
    failure = new Error(`${what}: the output worker failed: ${workerProblem(e)}`);
    notify();
  };
  const toWriter = (request: WriteRequest, transfer: Transferable[] = []) => writer.postMessage(request, transfer);
  const toHasher = (i: number, request: HashRequest, transfer: Transferable[] = []) => all[i].postMessage(request, transfer);
  for (let i = 0; i < hashers.length; i++) toHasher(i, { type: 'init', algorithm, chain: segments });
  if (extra) toHasher(hashers.length, { type: 'init', algorithm: 'sha256' });
  const stop = () => {
    writer.terminate();
    for (const h of all) h.terminate();
  };

  /** Until `ready()` holds or something failed (then throw). */
  const waitFor = async (ready: () => boolean) => {
    while (!ready() && !failure) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
  };
  /** A control request to the write worker, answered with 'done' (or a failure). */
  const control = async (type: 'open' | 'flush' | 'commit' | 'discard', request: WriteRequest = { type } as WriteRequest) => {
    let answered = false;
    writerDone = () => (answered = true);
    toWriter(request);
    await waitFor(() => answered);
  };

  const busy = { hash: 0, write: 0, idle: 0 };
  try {
    await control('open', { type: 'open', target });
  } catch (error) {
    stop();
    throw error;
  }

  let batch = new Uint8Array(BATCH_BYTES);
  let filled = 0;
  /** Bytes handed over so far. */
  let position = 0;
  const segmentOf = (offset: number) => (segments ? Math.floor(offset / segments.segmentBytes) : 0);
  const handOver = async () => {
    if (filled === 0) return;
    const data = filled === batch.length ? batch : batch.slice(0, filled);
    const copy = data.slice();
    batch = new Uint8Array(BATCH_BYTES);
    filled = 0;
    unwritten++;
    unhashed++;
    // Batches never straddle segments: segments are whole multiples of the batch size.
    const segment = segmentOf(position);
    position += data.length; // before the transfer below empties `data`
    toWriter({ type: 'write', data }, [data.buffer]);
    const endsSegment = segments !== undefined && segment < segments.states.length && position === (segment + 1) * segments.segmentBytes;
    if (extra) {
      const another = copy.slice();
      unhashed++;
      toHasher(hashers.length, { type: 'update', data: another }, [another.buffer]);
    }
    toHasher(segment % hashers.length, { type: 'update', data: copy, segment: segments ? segment : undefined, endsSegment }, [copy.buffer]);
    const w = performance.now();
    await waitFor(() => unwritten < BATCHES_AHEAD && unhashed < BATCHES_AHEAD * all.length);
    busy.idle += performance.now() - w;
  };

  return {
    busy,
    hashing: { segments: segments ? segments.states.length + 1 : 1, workers: hashers.length },
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
        await control('flush');
        busy.write = writeMs;
        for (let i = 0; i < all.length; i++) toHasher(i, { type: 'digest' });
        await waitFor(() => unhashed === 0 && digests.every((d) => d !== null));
        busy.hash = digests.reduce((sum, d) => sum + d!.ms, 0);
        const last = segmentOf(position - 1);
        if (segments && last !== segments.states.length) throw new Error(`internal: the image ended in SHA-256 segment ${last}, the manifest has ${segments.states.length + 1}`);
        if (badSegments.length > 0) {
          const s = Math.min(...badSegments);
          const size = segments!.segmentBytes;
          throw new TesseraError(
            ErrorCode.ChecksumMismatch,
            `bytes ${s * size}-${(s + 1) * size - 1} of the rebuilt image do not hash to the manifest's SHA-256 checkpoint, so the image is not the published one and must not be used`,
            { segment: s },
          );
        }
        return digests[last % hashers.length]!.hex;
      },
    },
    async sha256() {
      if (!extra) throw new Error('internal: the output was opened without alsoSha256');
      await waitFor(() => digests[hashers.length] !== null);
      return digests[hashers.length]!.hex;
    },
    async commit() {
      try {
        await control('commit');
      } finally {
        stop();
      }
    },
    async discard() {
      failure = null; // discard even after a failed write
      try {
        await control('discard');
      } catch {
        // nothing more to do: the worker is stopped below
      } finally {
        stop();
      }
    },
  };
}
