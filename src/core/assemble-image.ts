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
  const maxRunBlocks = Math.max(1, Math.floor(RUN_BYTES / bs));
  const runBuffer = new Uint8Array(maxRunBlocks * bs);
  const zeroBuffer = new Uint8Array(maxRunBlocks * bs);
  let written = 0;
  let repaired = 0;
  const timings: AssembleTimings = { readSeeds: 0, verifyLocal: 0, waitNetwork: 0, sha256: 0, write: 0 };
  let t = performance.now();
  /** Add the time since the last lap to `part`. */
  const lap = (part: keyof AssembleTimings) => {
    const now = performance.now();
    timings[part] += now - t;
    t = now;
  };

  const emit = async (chunk: Uint8Array) => {
    lap('verifyLocal');
    hasher?.update(chunk);
    lap('sha256');
    try {
      await sink.write(chunk);
    } catch (error) {
      throw outputWriteError(error, written);
    }
    lap('write');
    written += chunk.length;
    input.onProgress?.(written);
  };
  const imageBytes = (firstBlock: number, blocks: number) => Math.min(table.length, (firstBlock + blocks) * bs) - firstBlock * bs;

  /** Seeds that failed a read during assembly, with the reason: not read again. */
  const unreadable = new Map<number, string>();
  /** Seeds whose problem was already reported. */
  const warned = new Set<number>();
  let k = 0;
  let r = 0;
  while (k < table.blockCount) {
    if (input.signal?.aborted) throw new TesseraError(ErrorCode.Aborted, 'cancelled');
    const range = plan.ranges[r];
    if (range && range.start === k * bs) {
      lap('verifyLocal');
      const data = await downloader.take(r);
      lap('waitNetwork');
      await emit(data);
      downloader.release(data); // the sink is done with it (OutputSink's contract)
      r++;
      k = Math.ceil(range.end / bs);
      continue;
    }
    const stop = range ? range.start / bs : table.blockCount;
    const seed = sources.seed[k];
    if (seed === FROM_NETWORK) throw new Error(`internal: block ${k} is neither local nor planned`);

    if (seed === FROM_OUTPUT) {
      // Only a sink that hashes what is in the file (not what passes through) can step over bytes.
      if (!sink.skip || hasher) throw new Error(`internal: block ${k} is already in the output, but the output cannot step over it`);
      let n = 1;
      while (k + n < stop && sources.seed[k + n] === FROM_OUTPUT) n++;
      const bytes = imageBytes(k, n);
      lap('verifyLocal');
      await sink.skip(bytes);
      lap('write');
      written += bytes;
      input.onProgress?.(written);
      k += n;
      continue;
    }

    if (seed === FROM_ZEROS) {
      let n = 1;
      while (k + n < stop && n < maxRunBlocks && sources.seed[k + n] === FROM_ZEROS) n++;
      await emit(zeroBuffer.subarray(0, imageBytes(k, n)));
      k += n;
      continue;
    }

    // A run of blocks that sit one after another in the same seed: one read.
    const start = sources.offset[k];
    let n = 1;
    while (k + n < stop && n < maxRunBlocks && sources.seed[k + n] === seed && sources.offset[k + n] === start + n * bs) n++;
    const reader = seeds[seed];
    const buf = runBuffer.subarray(0, n * bs);
    let problem = unreadable.get(seed);
    lap('verifyLocal');
    if (problem === undefined) {
      try {
        const got = await readFully(reader, start, buf);
        buf.fill(0, got); // past the seed's end it reads as zeros, as in the scan
      } catch (error) {
        // Not read again: its remaining blocks are fetched.
        problem = `could not be read again (${describeError(error)})`;
        unreadable.set(seed, problem);
      }
    }
    lap('readSeeds');
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
    await emit(buf.subarray(0, imageBytes(k, n)));
    k += n;
  }
  const digest = hasher ? await hasher.digest() : await sink.digest!();
  lap('sha256');
  return { digest, bytesWritten: written, blocksRepaired: repaired, timings };
}
