import { ErrorCode, TesseraError, isTesseraError } from '../core/errors.ts';
import type { SeedReader } from '../core/io.ts';
import type { RebuildEvent } from '../core/rebuild.ts';
import { type ImageChecksum, checksumName } from '../core/manifest/manifest.ts';
import { type RebuildResult, type RebuildSession, downloadAndAssemble, resolveMirrors, scanSeeds } from '../core/rebuild.ts';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type ThreadedScanStats, scanSeedsThreaded } from '../node/scan-pool.ts';
import { shareTable } from '../core/block-table.ts';
import { rm } from 'node:fs/promises';
import { checkFreeSpace, fileSize, openFileOutput, partPathFor, resumePathFor, takeOverPartialOutput } from '../node/file-output.ts';
import type { MirrorReport } from '../core/range-downloader.ts';
import type { MirrorValidators } from '../core/file-validators.ts';
import { forgetKeptValidators, readKeptValidators, writeKeptValidators } from '../node/kept-validators.ts';
import { loadDescriptionBytes } from '../node/load-manifest.ts';
import { decodeDescription } from '../core/decode-description.ts';
import { runGetJigdo } from './get-jigdo-command.ts';
import { looksLikeJigdo } from '../core/jigdo/open-jigdo.ts';
import { checkDescribedImage } from '../core/expected-sha256.ts';
import { commitIfExpected } from './commit-if-expected.ts';
import { createFetchRangeFetcher } from '../platform/fetch-range-fetcher.ts';
import type { CliIo } from './cli-io.ts';
import { openSeeds } from './open-seeds.ts';
import { formatBytes, formatSeconds, percent } from '../shared/format.ts';
import { ProgressReporter } from './progress-reporter.ts';

export interface GetArgs {
  manifest: string;
  seeds: string[];
  output?: string;
  mirrors: string[];
  dryRun: boolean;
  json: boolean;
  connections?: number;
  mergeGap?: number;
  /** The SHA-256 the user expects (from --sha256), lowercase hex. */
  sha256?: string;
  /** Seconds without a byte before a request is abandoned and retried (--stall-timeout). */
  stallTimeout?: number;
  /** Threads that scan the seeds (--threads; default one per core). */
  threads?: number;
}

/**
 * Requests of at most 2 MiB (the engine's default is 4): with 6 MiB fetched
 * ahead, 3 requests are in flight, and the ranges held in memory stay small
 * (a 4 GiB image is rebuilt in under 150 MB).
 */
const REQUEST_BYTES = 2 << 20;

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause. */
function explainNodeFetchError(_url: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `request failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
}

/**
 * `tessera get MANIFEST`: rebuild the image from the seeds, fetch what is
 * missing, verify, and only then give it its final name.
 */
export async function runGet(args: GetArgs, io: CliIo): Promise<number> {
  const started = performance.now();
  const raw = await loadDescriptionBytes(args.manifest);
  if (looksLikeJigdo(raw.bytes)) return runGetJigdo(args, io, raw.bytes, raw.url);
  // Shared memory: the scan threads use the table as it is.
  let manifest = await decodeDescription(raw.bytes, raw.url ?? args.manifest, { shared: true });
  raw.bytes = new Uint8Array(0); // not needed any more: a 4 GiB image's manifest is 7 MB
  const manifestUrl = raw.url;
  const imageLength = manifest.blocks.length;
  const output = args.output ?? manifest.name;
  const checksum = `${checksumName(manifest.checksum.algorithm)} ${manifest.checksum.hex}`;
  io.info(`Image: ${manifest.name}, ${formatBytes(imageLength)}, ${checksum}`);
  // A manifest for another image is refused here, before anything is read or fetched.
  const hashBuiltImage = checkDescribedImage(args.sha256, manifest.checksum, raw.url ?? args.manifest);
  if (hashBuiltImage) io.info(`The ${checksumName(manifest.checksum.algorithm)} description cannot confirm --sha256 in advance; the built image's SHA-256 is checked before it is kept.`);

  // Mirrors: the manifest's (relative ones need the manifest's URL), then --mirror.
  const mirrors: string[] = [];
  for (const m of manifest.mirrors) {
    try {
      mirrors.push(...resolveMirrors([m], manifestUrl));
    } catch (error) {
      if (args.mirrors.length === 0 || !isTesseraError(error)) throw error;
      io.warn(`${(error as Error).message.split(';')[0]}; using --mirror instead`);
    }
  }
  mirrors.push(...resolveMirrors(args.mirrors));

  // Earlier interrupted work, and an existing output, are seeds too (as zsync does).
  const leftovers: string[] = [];
  if (args.dryRun) {
    for (const p of [resumePathFor(output), partPathFor(output)]) if ((await fileSize(p)) !== undefined) leftovers.push(p);
  } else {
    const resume = await takeOverPartialOutput(output);
    if (resume) {
      leftovers.push(resume);
      io.info(`Resuming: the verified part of an earlier run (${resume}) is used first.`);
    }
  }
  if ((await fileSize(output)) !== undefined) leftovers.push(output);

  const opened = await openSeeds([...leftovers, ...args.seeds], io);
  // The earlier run's kept part: if this run fails too, the new part takes over what it holds.
  const resumeSeed = leftovers[0] !== undefined && leftovers[0] === resumePathFor(output) ? leftovers[0] : undefined;
  const readers = opened.map((r) => (r.name === resumeSeed ? { ...r, leftover: true } : r));

  const reporter = new ProgressReporter(io.stderr, false);
  reporter.setScanTotal(readers.reduce((s, r) => s + r.size, 0));
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let fileOutput: Awaited<ReturnType<typeof openFileOutput>> | undefined;
  try {
    io.info(`Scanning ${readers.length} local file${readers.length === 1 ? '' : 's'} (${formatBytes(readers.reduce((s, r) => s + r.size, 0))}) for blocks of the image...`);
    const scanOptions = { signal: controller.signal, onEvent: (e: RebuildEvent) => reporter.handle(e), plan: { mergeGap: args.mergeGap, maxRequestBytes: REQUEST_BYTES } };
    // One thread per core, but not more than there is work for: a seed under 8 MB is one task.
    const tasks = readers.reduce((n, r) => n + Math.max(1, Math.ceil(r.size / (8 << 20))), 0);
    const threads = Math.min(args.threads ?? availableParallelism(), tasks);
    let session: RebuildSession;
    let scanStats: ThreadedScanStats | undefined;
    if (threads > 1) {
      // The block table moves to shared memory, for the scan threads; the copy it was decoded into is dropped.
      manifest = { ...manifest, blocks: shareTable(manifest.blocks) };
      const threaded = await scanSeedsThreaded(manifest, readers, { ...scanOptions, threads });
      session = threaded;
      scanStats = threaded.stats;
    } else session = await scanSeeds(manifest, readers as SeedReader[], scanOptions);
    reporter.done();
    // From here only the strong sums are needed (to verify): the weak ones, and the scan's
    // index and buffers, can go (~25 MB for a 4 GiB image) before the download allocates its own.
    const blocks = session.manifest.blocks;
    session = { ...session, manifest: { ...session.manifest, blocks: { ...blocks, weak: new Uint32Array(0) } } };
    manifest = session.manifest;
    collectGarbage();
      const plan = session.plan;
    const scanSeconds = (performance.now() - started) / 1000;
    io.info(
      `Plan: ${formatBytes(plan.bytesLocal)} (${percent(plan.bytesLocal, imageLength)}) from your files` +
        (plan.bytesZero > 0 ? ` (${formatBytes(plan.bytesZero)} of it zeros)` : '') +
        `, ${formatBytes(plan.bytesToFetch)} (${percent(plan.bytesToFetch, imageLength)}) to download in ${plan.requests} request${plan.requests === 1 ? '' : 's'}` +
        ` from ${mirrors.length} mirror${mirrors.length === 1 ? '' : 's'}. Scan took ${formatSeconds(scanSeconds)}.`,
    );
    if (args.dryRun) {
      if (args.json) {
        io.json({ ok: true, dryRun: true, bytesLocal: plan.bytesLocal, bytesToFetch: plan.bytesToFetch, bytesFetched: 0, requests: plan.requests, ...checksumJson(manifest.checksum), seconds: scanSeconds, mirrors, scan: scanStats });
      }
      return 0;
    }
    if (plan.bytesToFetch > 0 && mirrors.length === 0) {
      throw new TesseraError(ErrorCode.MirrorsFailed, `${formatBytes(plan.bytesToFetch)} must be downloaded, but there is no mirror to download from; add one with --mirror URL`);
    }

    await checkFreeSpace(output, imageLength);
    // The image's checksum on a thread of its own, which reads the part file back as it is written
    // (OpenSSL, ~0.6 s for 686 MB here): the scan's second core is free by then, and this thread keeps
    // the download and the writes (see docs/performance.md, "The checksum read back on its own thread").
    fileOutput = await openFileOutput(output, { hash: { algorithm: manifest.checksum.algorithm, alsoSha256: hashBuiltImage } });
    // What the mirrors' files looked like when an earlier run verified blocks from them: a file replaced since is named as such.
    const earlierValidators = await readKeptValidators(output, checksum);
    let seenValidators: MirrorValidators = {};
    let keptAside: { bytes: number; complete: boolean } | undefined;
    let result: RebuildResult;
    try {
      result = await downloadAndAssemble(session, {
        mirrors,
        fetcher: createFetchRangeFetcher({ explainNetworkError: explainNodeFetchError }),
        sink: fileOutput.sink,
        // The file is written on libuv's threads while the next runs are read, verified and hashed,
        // in runs of 1 MiB (4 run buffers); 6 MiB of ranges (3 of 2 MiB) fetched ahead of the writer.
        writeAhead: 2,
        readAhead: 1,
        runBytes: 1 << 20,
        windowBytes: 6 << 20,
        spareBuffers: 1,
        connections: args.connections,
        stallTimeoutMs: args.stallTimeout === undefined ? undefined : args.stallTimeout * 1000,
        earlierValidators,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'kept-aside') keptAside = e;
          if (e.type === 'validators') seenValidators = e.validators;
          reporter.handle(e);
        },
      });
    } catch (error) {
      reporter.done();
      if (isTesseraError(error, ErrorCode.ChecksumMismatch)) {
        await fileOutput.discard();
        await forgetKeptValidators(output);
      } else {
        await fileOutput.keep();
        // Only a better message depends on it: a failure to write it must not hide the error.
        await writeKeptValidators(output, checksum, earlierValidators, seenValidators).catch(() => {});
        // The new part holds all the earlier one did: one leftover is enough.
        if (resumeSeed && keptAside?.complete) await rm(resumeSeed, { force: true });
        const aside = resumeSeed ? 'fetched ahead or kept from the earlier run' : 'fetched ahead';
        const what = keptAside && keptAside.bytes > 0 ? `${formatBytes(fileOutput.bytes)}, of which ${formatBytes(keptAside.bytes)} ${aside}` : formatBytes(fileOutput.bytes);
        const advice = isTesseraError(error, ErrorCode.MirrorsFailed)
          ? ', with --mirror URL to add a working mirror'
          : isTesseraError(error, ErrorCode.RemoteChanged)
            ? ', with --mirror URL to add a mirror that still has this version'
            : isTesseraError(error, ErrorCode.OutputNoSpace)
              ? ' once there is space'
              : '';
        io.warn(`everything verified so far is kept in ${fileOutput.partPath} (${what}); run the same command again to resume${advice}`);
      }
      throw error;
    }
    reporter.done();
    try {
      await commitIfExpected(fileOutput, hashBuiltImage ? args.sha256 : undefined, output);
    } finally {
      await forgetKeptValidators(output); // kept or discarded: nothing is left to resume
    }
    const seconds = (performance.now() - started) / 1000;
    io.info(`Verified: ${checksumName(manifest.checksum.algorithm)} ${result.digest} matches the ${manifest.checksum.algorithm === 'sha256' ? 'manifest' : 'control file'}${args.sha256 ? ', and its SHA-256 is the one you gave' : ''}.`);
    io.info(
      `Wrote ${output}: ${formatBytes(imageLength)}, ${formatBytes(result.bytesLocal)} from your files, ` +
        `${formatBytes(result.bytesFetched)} downloaded in ${result.requests} request${result.requests === 1 ? '' : 's'}, ${formatSeconds(seconds)}.`,
    );
    for (const line of mirrorSummary(result.mirrors)) io.info(line);
    if (args.json) {
      io.json({
        ok: true,
        output,
        bytesLocal: result.bytesLocal,
        bytesFetched: result.bytesFetched,
        requests: result.requests,
        ...checksumJson({ algorithm: manifest.checksum.algorithm, hex: result.digest }),
        seconds,
        plannedBytes: plan.bytesToFetch,
        blocksRepaired: result.blocksRepaired,
        mirrors: result.mirrors,
        timings: { scanSeconds, ...result.timings },
        scan: scanStats,
      });
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(readers.map((r) => r.close().catch(() => {})));
  }
}

/** What each mirror did, when one of them had a problem or redirected (a failure's message lists them itself). */
function mirrorSummary(mirrors: readonly MirrorReport[]): string[] {
  if (!mirrors.some((m) => m.failures > 0 || m.redirectedTo)) return [];
  const lines = ['Mirrors:'];
  for (const m of mirrors) {
    let line = `  ${m.url}: ${m.requests} request${m.requests === 1 ? '' : 's'}, ${formatBytes(m.bytesGood)} verified`;
    if (m.redirectedTo) line += `, redirected to ${m.redirectedTo.join(', ')}`;
    if (m.failures > 0) line += `, ${m.failures} failed (${m.problems.join('; ')})`;
    if (m.disabled) line += `; set aside: ${m.disabled}`;
    if (m.rangesTakenOver > 0) line += `; ${m.rangesTakenOver} of its ranges fetched from the other mirrors`;
    lines.push(line);
  }
  return lines;
}

/** The checksum in --json output: `sha256` (as before) or `sha1`, named by its algorithm. */
function checksumJson(checksum: ImageChecksum): Record<string, string> {
  return { [checksum.algorithm]: checksum.hex };
}

/**
 * A full garbage collection, where V8 lets us ask for one: between the scan
 * and the download it frees the scan's block index and buffers (~20 MB for a
 * 4 GiB image) before the download allocates its own, instead of whenever V8
 * next collects (after the download's buffers are there: a higher peak).
 */
function collectGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // not available: V8 collects in its own time
  }
}
