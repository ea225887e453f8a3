import { type BlockTable, strongMatches } from './block-table.ts';
import { type BlockSources, FROM_NETWORK, FROM_OUTPUT, FROM_ZEROS } from './block-sources.ts';
import { ErrorCode, TesseraError, describeError, outputWriteError } from './errors.ts';
import type { BlockHashFunction, StreamHasher } from './hashing.ts';
import type { OutputSink, SeedReader } from './io.ts';
import type { DownloadPlan } from './plan.ts';
import type { RangeDownloader } from './range-downloader.ts';
import { readFully } from './read-fully.ts';

export interface AssembleInput {
  table: BlockTable;
  sources: BlockSources;
  seeds: readonly SeedReader[];
  plan: DownloadPlan;
  downloader: RangeDownloader;
  sink: OutputSink;
  /** Hashes what is written (the image's checksum algorithm); null when the sink hashes (sink.digest). */
  hasher: StreamHasher | null;
  blockHash: BlockHashFunction;
  signal?: AbortSignal;
  /** Bytes written so far (after each write). */
  onProgress?: (bytesWritten: number) => void;
  /**
   * Writes handed to the sink before the first is done (default 1: one at a
   * time). From 2, the next chunk is read, verified and hashed while the sink
   * writes the one before (each still starts after the one before it ended).
   */
  writeAhead?: number;
  /** Runs of local blocks read ahead of the one being written (default 0: each read when its turn comes). */
  readAhead?: number;
  /** Largest local read and write in one go (default 4 MiB); there is a buffer of this size per write and read ahead. */
  runBytes?: number;
  /**
   * A seed no longer held what the scan saw (it changed, or cannot be read):
   * said once per seed, at its first bad block; its bad blocks are fetched instead.
   */
  onRepair?: (event: { seed: string; block: number; reason: string }) => void;
}

export interface AssembleResult {
  /** Hex checksum of what was written. */
  digest: string;
  bytesWritten: number;
  /** Local blocks that failed re-verification and were downloaded instead. */
  blocksRepaired: number;
  /** Milliseconds spent on each part of the work (for profiling). */
  timings: AssembleTimings;
}

export interface AssembleTimings {
  readSeeds: number;
  verifyLocal: number;
  waitNetwork: number;
  sha256: number;
  write: number;
}

/** Largest local read/write in one go. */
const RUN_BYTES = 4 << 20;

/**
 * Write the image from byte 0 to the end, in one pass: local runs are read
 * from the seeds and checked again block by block (a seed may have changed
 * since it was scanned), downloaded ranges come verified from the
 * downloader, zero blocks are written from a zero buffer. The SHA-256 is
 * computed over exactly what is written, so no second pass over the output is
 * needed. Memory: one run buffer plus the downloader's window.
 */
export async function assembleImage(input: AssembleInput): Promise<AssembleResult> {
  const { table, sources, seeds, plan, downloader, sink, hasher, blockHash } = input;
  const bs = table.blockSize;
  const maxRunBlocks = Math.max(1, Math.floor((input.runBytes ?? RUN_BYTES) / bs));
  const ahead = Math.max(1, Math.floor(input.writeAhead ?? 1));
  const readAhead = Math.max(0, Math.floor(input.readAhead ?? 0));
  // Run buffers: one per write that can be in flight and per run read ahead (and one to spare);
  // a buffer is filled again only once its write is done. Made when first needed: an image built
  // in place (the page) or wholly downloaded reads no run, and needs none.
  const runBuffers = ahead + readAhead + 1;
  const freeBuffers: Uint8Array<ArrayBuffer>[] = [];
  let madeBuffers = 0;
  const freeBuffer = (): Uint8Array<ArrayBuffer> | undefined => freeBuffers.pop() ?? (madeBuffers < runBuffers ? (madeBuffers++, new Uint8Array(maxRunBlocks * bs)) : undefined);
  let zeroBuffer: Uint8Array | undefined; // only if there are zero blocks
  let written = 0;
  let queued = 0;
  let repaired = 0;
  const timings: AssembleTimings = { readSeeds: 0, verifyLocal: 0, waitNetwork: 0, sha256: 0, write: 0 };
  let t = performance.now();
  /** Add the time since the last lap to `part`. */
  const lap = (part: keyof AssembleTimings) => {
    const now = performance.now();
    timings[part] += now - t;
    t = now;
  };

  /** Writes handed to the sink and not known to be done, oldest first; each starts when the one before it ended. */
  const inFlight: Promise<void>[] = [];
  /** Wait until at most `max` writes are in flight; a failed write is thrown here. */
  const drain = async (max: number) => {
    while (inFlight.length > max) await inFlight.shift();
  };
  /** Hash `chunk` and write it after what was queued before; `done` runs once the sink is done with it. */
  const emit = async (chunk: Uint8Array, done?: () => void) => {
    lap('verifyLocal');
    await hasher?.update(chunk);
    lap('sha256');
    const at = queued;
    queued += chunk.length;
    const previous = inFlight.at(-1) ?? Promise.resolve();
    const write = previous.then(async () => {
      try {
        await sink.write(chunk);
      } catch (error) {
        throw outputWriteError(error, at);
      }
      written += chunk.length;
      input.onProgress?.(written);
      done?.();
    });
    write.catch(() => {}); // thrown by drain()
    inFlight.push(write);
    await drain(ahead - 1);
    lap('write');
  };
  const imageBytes = (firstBlock: number, blocks: number) => Math.min(table.length, (firstBlock + blocks) * bs) - firstBlock * bs;

  /** Seeds that failed a read during assembly, with the reason: not read again. */
  const unreadable = new Map<number, string>();
  /** Seeds whose problem was already reported. */
  const warned = new Set<number>();
  type Segment =
    | { kind: 'range'; r: number }
    | { kind: 'output'; k: number; n: number }
    | { kind: 'zeros'; k: number; n: number }
    | { kind: 'seed'; k: number; n: number; seed: number; start: number };
  /** The image from byte 0, as pieces each written in one go: planned ranges, blocks in the output, zeros, runs from one seed. */
  function* segments(): Generator<Segment> {
    let k = 0;
    let r = 0;
    while (k < table.blockCount) {
      const range = plan.ranges[r];
      if (range && range.start === k * bs) {
        yield { kind: 'range', r };
        r++;
        k = Math.ceil(range.end / bs);
        continue;
      }
      const stop = range ? range.start / bs : table.blockCount;
      const seed = sources.seed[k];
      if (seed === FROM_NETWORK) throw new Error(`internal: block ${k} is neither local nor planned`);
      let n = 1;
      if (seed === FROM_OUTPUT) {
        while (k + n < stop && sources.seed[k + n] === FROM_OUTPUT) n++;
        yield { kind: 'output', k, n };
      } else if (seed === FROM_ZEROS) {
        while (k + n < stop && n < maxRunBlocks && sources.seed[k + n] === FROM_ZEROS) n++;
        yield { kind: 'zeros', k, n };
      } else {
        // A run of blocks that sit one after another in the same seed: one read.
        const start = sources.offset[k];
        while (k + n < stop && n < maxRunBlocks && sources.seed[k + n] === seed && sources.offset[k + n] === start + n * bs) n++;
        yield { kind: 'seed', k, n, seed, start };
      }
      k += n;
    }
  }

  /** Segments coming up; runs from seeds among them are read ahead into their own buffers. */
  interface Pending {
    segment: Segment;
    buffer?: Uint8Array<ArrayBuffer>;
    read?: Promise<number | { error: unknown }>;
  }
  const queue: Pending[] = [];
  const upcoming = segments();
  let exhausted = false;
  const startRead = (p: Pending) => {
    const s = p.segment;
    if (p.read || s.kind !== 'seed' || unreadable.has(s.seed)) return;
    p.buffer = freeBuffer();
    if (!p.buffer) return;
    p.read = readFully(seeds[s.seed], s.start, p.buffer.subarray(0, s.n * bs)).then(
      (got) => got,
      (error: unknown) => ({ error }),
    );
  };
  const topUp = () => {
    let runs = 0;
    for (const p of queue) if (p.segment.kind === 'seed') runs++;
    while (!exhausted && runs <= readAhead && queue.length < 256) {
      const next = upcoming.next();
      if (next.done) exhausted = true;
      else {
        queue.push({ segment: next.value });
        if (next.value.kind === 'seed') runs++;
      }
    }
    for (const p of queue) startRead(p);
  };
  /** A run buffer for a run not read ahead: one is free once the writes before it are done. */
  const takeBuffer = async (p: Pending) => {
    if (!p.buffer && freeBuffers.length === 0 && madeBuffers === runBuffers) await drain(0);
    p.buffer ??= freeBuffer() ?? new Uint8Array(maxRunBlocks * bs);
    return p.buffer;
  };

  /** Step over `bytes` already in the output. Only a sink that hashes what is in the file (not what passes through) can. */
  const stepOver = async (what: string, bytes: number) => {
    if (!sink.skip || hasher) throw new Error(`internal: ${what} is already in the output, but the output cannot step over it`);
    await drain(0);
    await sink.skip(bytes);
    lap('write');
    written += bytes;
    queued += bytes;
    input.onProgress?.(written);
  };

  try {
    for (topUp(); queue.length > 0; topUp()) {
      if (input.signal?.aborted) throw new TesseraError(ErrorCode.Aborted, 'cancelled');
      const p = queue.shift()!;
      const s = p.segment;
      if (s.kind === 'range') {
        lap('verifyLocal');
        const data = await downloader.take(s.r);
        lap('waitNetwork');
        if (data) await emit(data, () => downloader.release(data)); // once the sink is done with it (OutputSink's contract)
        // (null: written into the output as it was verified, the page's image file)
        else await stepOver(`range ${s.r}`, plan.ranges[s.r].end - plan.ranges[s.r].start);
        continue;
      }
      const { k, n } = s;
      if (s.kind === 'output') {
        lap('verifyLocal');
        await stepOver(`block ${k}`, imageBytes(k, n));
        continue;
      }
      if (s.kind === 'zeros') {
        zeroBuffer ??= new Uint8Array(maxRunBlocks * bs);
        await emit(zeroBuffer.subarray(0, imageBytes(k, n)));
        continue;
      }

      const { seed } = s;
      const reader = seeds[seed];
      let problem = unreadable.get(seed);
      lap('verifyLocal');
      if (problem === undefined) {
        startRead(p);
        if (!p.read) {
          await takeBuffer(p);
          startRead(p);
          p.read ??= readFully(reader, s.start, p.buffer!.subarray(0, n * bs)).then(
            (got) => got,
            (error: unknown) => ({ error }),
          );
        }
        const got = await p.read;
        if (typeof got === 'number') p.buffer!.fill(0, got, n * bs); // past the seed's end it reads as zeros, as in the scan
        else {
          // Not read again: its remaining blocks are fetched.
          problem = `could not be read again (${describeError(got.error)})`;
          unreadable.set(seed, problem);
        }
      }
      lap('readSeeds');
      const buffer = await takeBuffer(p);
      const buf = buffer.subarray(0, n * bs);
      // Blocks that fail re-verification are fetched, consecutive ones in one request.
      for (let i = 0; i < n; ) {
        if (problem === undefined && strongMatches(table, k + i, blockHash(buf.subarray(i * bs, (i + 1) * bs)))) {
          i++;
          continue;
        }
        let j = i + 1;
        while (j < n && (problem !== undefined || !strongMatches(table, k + j, blockHash(buf.subarray(j * bs, (j + 1) * bs))))) j++;
        if (!warned.has(seed)) {
          warned.add(seed);
          input.onRepair?.({ seed: reader.name, block: k + i, reason: problem ?? `changed since it was scanned (block ${k + i} differs)` });
        }
        const fetched = await downloader.fetchNow({ start: (k + i) * bs, end: Math.min(table.length, (k + j) * bs) });
        const part = buf.subarray(i * bs, j * bs);
        part.fill(0);
        part.set(fetched);
        repaired += j - i;
        i = j;
      }
      await emit(buf.subarray(0, imageBytes(k, n)), () => freeBuffers.push(buffer));
    }
    await drain(0);
    lap('write');
  } catch (error) {
    // Whatever happens next (keeping verified work aside) must not race with writes or reads still going on.
    await Promise.allSettled([...inFlight, ...queue.map((p) => p.read)]);
    throw error;
  }
  const digest = hasher ? await hasher.digest() : await sink.digest!();
  lap('sha256');
  return { digest, bytesWritten: written, blocksRepaired: repaired, timings };
}
