import type { BlockTable } from './block-table.ts';
import { type BlockSources, FROM_ZEROS } from './block-sources.ts';

/** Bytes [start, end) of the image, fetched by one request. */
export interface FetchRange {
  readonly start: number;
  readonly end: number;
}

export interface PlanOptions {
  /**
   * Two runs of missing blocks separated by at most this many bytes of local
   * blocks are fetched as one request (the gap is downloaded too). 0 merges
   * only runs that touch. Default 0.
   */
  mergeGap?: number;
  /** No request asks for more than this; long runs are split so that several requests can run at once. Default 4 MiB. */
  maxRequestBytes?: number;
}

/** What a download will cost, known before any byte is fetched. */
export interface DownloadPlan {
  readonly imageLength: number;
  /** Bytes written from the user's files (and zero blocks), not fetched. */
  readonly bytesLocal: number;
  /** Of bytesLocal, bytes that are all-zero blocks. */
  readonly bytesZero: number;
  /** Bytes to download: the missing blocks plus any merged gaps. */
  readonly bytesToFetch: number;
  readonly requests: number;
  readonly ranges: readonly FetchRange[];
}

export const DEFAULT_MAX_REQUEST_BYTES = 4 << 20;

/**
 * Turn the blocks no seed provided into HTTP ranges. The rule, in order:
 * 1. consecutive missing blocks form one run;
 * 2. runs whose gap (local blocks between them) is at most `mergeGap` bytes
 *    become one run, gap included;
 * 3. runs longer than `maxRequestBytes` are cut into pieces of that size
 *    (block-aligned), the last piece shorter.
 * Ranges end at the image length, never past it.
 */
export function planDownload(table: BlockTable, sources: BlockSources, options: PlanOptions = {}): DownloadPlan {
  const bs = table.blockSize;
  const mergeGap = Math.max(0, options.mergeGap ?? 0);
  const maxBytes = Math.max(bs, (options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES) - ((options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES) % bs));

  const runs: { start: number; end: number }[] = [];
  let bytesZero = 0;
  for (let k = 0; k < table.blockCount; k++) {
    if (sources.has(k)) {
      if (sources.seed[k] === FROM_ZEROS) bytesZero += Math.min(bs, table.length - k * bs);
      continue;
    }
    const start = k * bs;
    const end = Math.min(table.length, start + bs);
    const last = runs[runs.length - 1];
    if (last && start - last.end <= mergeGap) last.end = end;
    else runs.push({ start, end });
  }

  const ranges: FetchRange[] = [];
  let bytesToFetch = 0;
  for (const run of runs) {
    bytesToFetch += run.end - run.start;
    for (let s = run.start; s < run.end; s += maxBytes) ranges.push({ start: s, end: Math.min(run.end, s + maxBytes) });
  }
  return {
    imageLength: table.length,
    bytesLocal: table.length - bytesToFetch,
    bytesZero,
    bytesToFetch,
    requests: ranges.length,
    ranges,
  };
}
