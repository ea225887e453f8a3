import { type AssembleTimings, assembleImage } from './assemble-image.ts';
import { BlockIndex } from './block-index.ts';
import { BlockSources } from './block-sources.ts';
import { ErrorCode, TesseraError, describeError, isTesseraError } from './errors.ts';
import type { MirrorValidators } from './file-validators.ts';
import { type BlockHashFunction, createBlockHash, createWasmHasher, type StreamHasherFactory } from './hashing.ts';
import type { OutputSink, RangeFetcher, SeedReader } from './io.ts';
import { type Manifest, checksumName } from './manifest/manifest.ts';
import { type DownloadPlan, type PlanOptions, planDownload } from './plan.ts';
import { type DownloaderOptions, type MirrorReport, RangeDownloader } from './range-downloader.ts';
import { readFully } from './read-fully.ts';
import { ScanBuffers, findKeptBlocks, findZeroBlocks, scanSeed } from './scan-seed.ts';

/** What happens during a rebuild, for progress displays. */
export type RebuildEvent =
  | { type: 'scan-start'; seed: string; seedIndex: number; size: number }
  | { type: 'scan-progress'; seed: string; seedIndex: number; bytesScanned: number; size: number }
  | { type: 'scan-done'; seed: string; seedIndex: number; blocksFound: number }
  | { type: 'seed-skipped'; seed: string; reason: string }
  | { type: 'plan'; plan: DownloadPlan }
  | { type: 'progress'; bytesWritten: number; bytesFetched: number; imageLength: number }
  | { type: 'range-fetched'; start: number; end: number }
  | { type: 'retry'; mirror: string; problem: string; attempt: number }
  | { type: 'repair'; seed: string; block: number; reason: string }
  /** After a failure: verified bytes not written in order were kept aside (OutputSink.keepAside); `complete` when nothing verified was left out. */
  | { type: 'kept-aside'; bytes: number; complete: boolean }
  /** A mirror's answers first delivered verified blocks: the ETag and Last-Modified of all such so far, for a later run's DownloadOptions.earlierValidators. */
  | { type: 'validators'; validators: MirrorValidators };

export interface ScanSeedsOptions {
  signal?: AbortSignal;
  onEvent?: (event: RebuildEvent) => void;
  plan?: PlanOptions;
}

/** The result of looking through the user's files: where each block comes from, and what is left to fetch. */
export interface RebuildSession {
  readonly manifest: Manifest;
  readonly seeds: readonly SeedReader[];
  readonly sources: BlockSources;
  readonly plan: DownloadPlan;
  readonly blockHash: BlockHashFunction;
  /** Seeds that could not be read, with the reason; the others were used. */
  readonly skippedSeeds: readonly { seed: string; reason: string }[];
}

/**
 * Step 1: scan every seed for blocks of the image and plan the download.
 * Nothing is fetched or written; the plan can be shown to the user first.
 * A seed that cannot be read is skipped with a warning; the rest continue.
 */
export async function scanSeeds(manifest: Manifest, seeds: readonly SeedReader[], options: ScanSeedsOptions = {}): Promise<RebuildSession> {
  const table = manifest.blocks;
  const blockHash = await createBlockHash(table.strongHash);
  const index = new BlockIndex(table);
  const sources = new BlockSources(table.blockCount);
  findZeroBlocks(index, blockHash, sources);
  const skippedSeeds: { seed: string; reason: string }[] = [];
  const buffers = new ScanBuffers(table.blockSize);
  for (let i = 0; i < seeds.length && !sources.complete; i++) {
    const seed = seeds[i];
    options.onEvent?.({ type: 'scan-start', seed: seed.name, seedIndex: i, size: seed.size });
    try {
      // With seqMatches 2 a lone block would be missed by the rolling scan; in what an earlier run kept, look up each block on its own first.
      const kept = seed.leftover && index.seqMatches === 2 ? await findKeptBlocks(seed, i, index, blockHash, sources, options.signal) : 0;
      const result = await scanSeed(seed, i, index, blockHash, sources, {
        signal: options.signal,
        buffers,
        jumpOverKnown: seed.leftover === true,
        onProgress: (bytesScanned) => options.onEvent?.({ type: 'scan-progress', seed: seed.name, seedIndex: i, bytesScanned, size: seed.size }),
      });
      options.onEvent?.({ type: 'scan-done', seed: seed.name, seedIndex: i, blocksFound: kept + result.blocksFound });
    } catch (error) {
      if (isTesseraError(error, ErrorCode.Aborted)) throw error;
      // Blocks found in a seed that failed half-way are not trusted: roll them back
      // (sources.set never overwrites, so exactly the blocks naming seed i came from it).
      for (let k = 0; k < table.blockCount; k++) if (sources.seed[k] === i) sources.clear(k);
      const reason = describeError(error);
      skippedSeeds.push({ seed: seed.name, reason });
      options.onEvent?.({ type: 'seed-skipped', seed: seed.name, reason });
    }
  }
  const plan = planDownload(table, sources, options.plan);
  options.onEvent?.({ type: 'plan', plan });
  return { manifest, seeds, sources, plan, blockHash, skippedSeeds };
}

/**
 * A session from block sources found elsewhere (by a pool of scan workers that
 * each scanned part of the seeds); `seeds` must be numbered as they were.
 */
export async function sessionFromSources(
  manifest: Manifest,
  seeds: readonly SeedReader[],
  sources: BlockSources,
  options: { plan?: PlanOptions; skippedSeeds?: { seed: string; reason: string }[] } = {},
): Promise<RebuildSession> {
  const blockHash = await createBlockHash(manifest.blocks.strongHash);
  const plan = planDownload(manifest.blocks, sources, options.plan);
  return { manifest, seeds, sources, plan, blockHash, skippedSeeds: options.skippedSeeds ?? [] };
}

export interface DownloadOptions extends DownloaderOptions {
  /** Absolute http(s) URLs of the image (see resolveMirrors). */
  mirrors: readonly string[];
  fetcher: RangeFetcher;
  sink: OutputSink;
  /** Writes handed to the sink before the first is done (see AssembleInput.writeAhead; default 1). */
  writeAhead?: number;
  /** Runs of local blocks read ahead (see AssembleInput.readAhead; default 0). */
  readAhead?: number;
  /** Largest local read and write (see AssembleInput.runBytes; default 4 MiB). */
  runBytes?: number;
  /** Hashes the image (default: WebAssembly); unused when the sink hashes (sink.digest). */
  createHasher?: StreamHasherFactory;
  onEvent?: (event: RebuildEvent) => void;
}

export interface RebuildResult {
  /** True only when the written image's checksum equals the manifest's. */
  readonly ok: true;
  /** Hex checksum of the written image, in the manifest's algorithm (manifest.checksum.algorithm). */
  readonly digest: string;
  readonly bytesLocal: number;
  readonly bytesFetched: number;
  readonly requests: number;
  readonly blocksRepaired: number;
  readonly mirrors: readonly MirrorReport[];
  /** Where the assembly's time went, in milliseconds. */
  readonly timings: AssembleTimings;
}

/**
 * Step 2: write the image in order into the sink, fetching the planned
 * ranges meanwhile, and check the SHA-256 of what was written. Throws
 * ChecksumMismatch if it differs: the sink then holds an image that must not
 * be used.
 */
export async function downloadAndAssemble(session: RebuildSession, options: DownloadOptions): Promise<RebuildResult> {
  const { manifest, plan } = session;
  const table = manifest.blocks;
  let bytesFetched = 0;
  let bytesWritten = 0;
  let lastEvent = 0;
  const report = (force = false) => {
    const now = performance.now();
    if (!force && now - lastEvent < 100) return;
    lastEvent = now;
    options.onEvent?.({ type: 'progress', bytesWritten, bytesFetched, imageLength: table.length });
  };
  const downloader = new RangeDownloader(table, plan.ranges, options.mirrors, options.fetcher, session.blockHash, {
    ...options,
    onBytes: (n) => {
      bytesFetched += n;
      report();
    },
    onRetry: (e) => options.onEvent?.({ type: 'retry', mirror: e.mirror, problem: e.problem, attempt: e.attempt }),
    onRangeFetched: (r) => options.onEvent?.({ type: 'range-fetched', start: r.start, end: r.end }),
    onValidators: (validators) => options.onEvent?.({ type: 'validators', validators }),
  });
  const hasher = options.sink.digest ? null : await (options.createHasher ?? createWasmHasher)(manifest.checksum.algorithm);
  downloader.start();
  let result;
  try {
    result = await assembleImage({
      table,
      sources: session.sources,
      seeds: session.seeds,
      plan,
      downloader,
      sink: options.sink,
      hasher,
      blockHash: session.blockHash,
      writeAhead: options.writeAhead,
      readAhead: options.readAhead,
      runBytes: options.runBytes,
      signal: options.signal,
      onProgress: (w) => {
        bytesWritten = w;
        report();
      },
      onRepair: (e) => options.onEvent?.({ type: 'repair', ...e }),
    });
  } catch (error) {
    downloader.cancel(error);
    if (options.sink.keepAside) {
      const kept = await keepAside(session, downloader, bytesWritten, options.sink.keepAside.bind(options.sink));
      options.onEvent?.({ type: 'kept-aside', ...kept });
    }
    throw error;
  }
  report(true);
  const expected = manifest.checksum.hex;
  if (result.digest !== expected) {
    const name = checksumName(manifest.checksum.algorithm);
    throw new TesseraError(
      ErrorCode.ChecksumMismatch,
      `the rebuilt image's ${name} is ${result.digest}, but the manifest says ${expected}; the output is not the published image and must not be used`,
      { expected, actual: result.digest },
    );
  }
  return {
    ok: true,
    digest: result.digest,
    bytesLocal: table.length - plan.bytesToFetch - result.blocksRepaired * table.blockSize,
    bytesFetched: downloader.bytesFetched,
    requests: downloader.requests,
    blocksRepaired: result.blocksRepaired,
    mirrors: downloader.mirrorReports,
    timings: result.timings,
  };
}

/**
 * After a failure, hand the sink what is verified but not written: ranges
 * fetched ahead of the writer, the verified start of unfinished ones, and the
 * blocks past `written` that a leftover seed (an earlier run's kept part)
 * holds, so that this run's output can replace it.
 */
async function keepAside(
  session: RebuildSession,
  downloader: RangeDownloader,
  written: number,
  keep: (start: number, data: Uint8Array) => Promise<void>,
): Promise<{ bytes: number; complete: boolean }> {
  let bytes = 0;
  try {
    for (const piece of downloader.verifiedNotWritten()) {
      if (piece.start + piece.data.length <= written) continue;
      await keep(piece.start, piece.data);
      bytes += piece.data.length;
    }
    const { sources, seeds } = session;
    const table = session.manifest.blocks;
    const bs = table.blockSize;
    const buffer = new Uint8Array(Math.max(bs, (1 << 20) - ((1 << 20) % bs)));
    for (let k = Math.floor(written / bs); k < table.blockCount; ) {
      const seed = sources.seed[k];
      if (seed < 0 || !seeds[seed].leftover) {
        k++;
        continue;
      }
      // A run of blocks one after another in the leftover: one read.
      const offset = sources.offset[k];
      let n = 1;
      while (k + n < table.blockCount && (n + 1) * bs <= buffer.length && sources.seed[k + n] === seed && sources.offset[k + n] === offset + n * bs) n++;
      const length = Math.min(table.length, (k + n) * bs) - k * bs;
      const got = await readFully(seeds[seed], offset, buffer.subarray(0, length));
      if (got < length) return { bytes, complete: false };
      await keep(k * bs, buffer.subarray(0, length));
      bytes += length;
      k += n;
    }
  } catch {
    return { bytes, complete: false };
  }
  return { bytes, complete: true };
}

/**
 * The manifest's mirror URLs made absolute: relative ones resolve against the
 * manifest's own URL. Only http and https are accepted.
 */
export function resolveMirrors(mirrors: readonly string[], manifestUrl?: string): string[] {
  return mirrors.map((m) => {
    let url: URL;
    try {
      url = manifestUrl ? new URL(m, manifestUrl) : new URL(m);
    } catch (error) {
      throw new TesseraError(
        ErrorCode.InvalidOption,
        manifestUrl
          ? `mirror "${m}" is not a valid URL: ${describeError(error)}`
          : `mirror "${m}" is relative, and the manifest was not read from a URL to resolve it against; give the manifest's URL instead of a local copy, or a mirror with --mirror URL`,
        { mirror: m },
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TesseraError(ErrorCode.InvalidOption, `mirror "${m}" uses ${url.protocol}; only http and https mirrors are supported`, { mirror: m });
    }
    return url.href;
  });
}
