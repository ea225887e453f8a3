/// <reference lib="webworker" />
// The assembly worker: downloads the missing ranges, copies local blocks from
// the seed files, verifies everything and writes the image in order, so the
// page's main thread only draws progress.
import { imageKey } from '../../core/manifest/manifest.ts';
import { BlockSources, FROM_OUTPUT, FROM_ZEROS } from '../../core/block-sources.ts';
import { type BlockTable, blockLength } from '../../core/block-table.ts';
import type { SeedReader } from '../../core/io.ts';
import { ErrorCode, isTesseraError } from '../../core/errors.ts';
import { downloadAndAssemble, sessionFromSources } from '../../core/rebuild.ts';
import { createFetchRangeFetcher } from '../../platform/fetch-range-fetcher.ts';
import { explainNetworkError } from './explain-error.ts';
import { dropUnreadableSeeds } from './check-seeds.ts';
import { fileSeedReader } from './file-seed-reader.ts';
import type { AssembleReply, AssembleRequest, OutputTarget } from './messages.ts';
import { ImageFilePort } from './image-file-port.ts';
import { openInPlaceOutput } from './in-place-output.ts';
import { openOutput } from './output-client.ts';
import { builtImageMismatch } from '../../core/expected-sha256.ts';
import { openPartialWriter, openRangeLog } from '../storage/partial-store.ts';
import { joinSharedFile } from '../storage/shared-access.ts';
import { releaseBuffer } from './release-buffer.ts';

declare const self: DedicatedWorkerGlobalScope;

const post = (reply: AssembleReply) => self.postMessage(reply);

async function assemble(request: AssembleRequest): Promise<void> {
  const started = performance.now();
  const manifest = request.manifest;
  const table = manifest.blocks;
  const sha = imageKey(manifest.checksum);
  const target = request.output;
  // The handle of its own on the image file is opened while the plan is made (a round trip to the browser).
  const shared = target.kind === 'image-file' && target.shared;
  const joining = shared ? joinSharedFile(target.name) : Promise.resolve(null);
  const seeds: (SeedReader & { close(): void })[] = request.seeds.map((s) => fileSeedReader(s.file, s.name));
  const inPlace = target.kind === 'image-file' ? new ImageFilePort(target.port) : null;
  const { sources, fromScan } = sourcesOf(request, table, inPlace !== null);
  request.staged = undefined; // (read into the sources: a byte a block not kept through the download)
  // A seed changed or removed since the scan is left out; what the plan would have read from it is downloaded instead.
  const skippedSeeds = await dropUnreadableSeeds(request.seeds, sources);
  const session = await sessionFromSources(manifest, seeds, sources, { skippedSeeds });
  for (const skipped of skippedSeeds) post({ type: 'event', event: { type: 'seed-skipped', ...skipped } });
  if (skippedSeeds.length > 0) post({ type: 'event', event: { type: 'plan', plan: session.plan } });
  const outputOptions = { chain: manifest.sha256Chain, alsoSha256: request.expectedSha256 !== undefined };
  // (Opened beside the handle; nothing that can fail comes between this and the download, which closes it.)
  const logging = shared ? openRangeLog(sha, target.name).catch(() => undefined) : Promise.resolve(undefined);
  const direct = await joining;
  const inPlaceOutput = target.kind === 'image-file' ? openInPlaceOutput(inPlace!, direct) : null;
  const output = inPlaceOutput ?? (await openOutput(target as OutputTarget, manifest.checksum.algorithm, outputOptions));
  // Verified downloaded data is kept as it arrives, so an interrupted download resumes without fetching it again:
  // where it goes straight into the image file, a log of its ranges there; else a log of the data itself.
  let ranges = await logging;
  if (!direct) {
    ranges?.close(); // (empty: removed)
    ranges = undefined;
  }
  const partial = direct ? undefined : await openPartialWriter(sha).catch(() => undefined);
  const origin = self.location.origin;
  try {
    const result = await downloadAndAssemble(session, {
      mirrors: request.mirrors,
      // Each chunk of a body freed once copied out (release-buffer.ts), not left to the collector, and what
      // arrives checked and written in stretches of 1 MiB.
      fetcher: createFetchRangeFetcher({ explainNetworkError: (url) => explainNetworkError(url, origin), releaseChunk: releaseBuffer, bodyReadBytes: 1 << 20 }),
      sink: output.sink,
      // Downloaded bytes held until the image reaches them (built in place, only what could not be written into
      // the image file as it was verified). 48 MB was no faster than 16 (Debian corpus, built in place, 14 runs
      // each: from Start 1.05 s either way), and a large image kept all 48 MB of it filled.
      windowBytes: 16 << 20,
      connections: 6,
      stallTimeoutMs: request.stallTimeoutMs,
      validators: request.validators,
      earlierValidators: request.earlierValidators,
      onVerified: (start, data) => {
        const kept = inPlaceOutput?.keepVerified(start, data) ?? false;
        if (kept) ranges?.append(start, data.length);
        partial?.append(start, data);
        return kept;
      },
      onEvent: (event) => post({ type: 'event', event }),
    });
    // The description was checked against the SHA-256 the user gave before the download; one without a SHA-256 only now.
    if (request.expectedSha256 !== undefined && manifest.checksum.algorithm !== 'sha256') {
      const actual = await output.sha256();
      if (actual !== request.expectedSha256) throw builtImageMismatch(request.expectedSha256, actual, manifest.name);
    }
    const committing = performance.now();
    await output.commit();
    // The image is built: its resume log is deleted once the result is shown, so it is not put on disk first.
    partial?.close({ flush: false });
    ranges?.close();
    const timings = {
      ...result.timings,
      commit: performance.now() - committing,
      outputHash: output.busy.hash,
      outputWrite: output.busy.write,
      waitHash: output.busy.idle,
    };
    post({
      type: 'done',
      summary: {
        digest: result.digest,
        algorithm: manifest.checksum.algorithm,
        bytesLocal: result.bytesLocal,
        bytesFetched: result.bytesFetched,
        requests: result.requests,
        blocksRepaired: result.blocksRepaired,
        fromScan,
        mirrors: result.mirrors,
        skippedSeeds,
        seconds: (performance.now() - started) / 1000,
        hashing: output.hashing,
        // A SHA-256 manifest was compared with it before the download, and the image with the manifest now.
        expectedSha256Confirmed: request.expectedSha256 !== undefined,
        timings,
      },
    });
  } catch (error) {
    partial?.close();
    ranges?.close();
    await output.discard();
    throw error;
  } finally {
    for (const seed of seeds) seed.close();
  }
}

/**
 * Where each block comes from, as the scan planned it (request.seedOf,
 * offsetOf: copies handed over, changed in place). In place, blocks the scan
 * wrote into the image file (request.staged) are stepped over, and so are
 * zero blocks: the image file starts as zeros and the scan never writes
 * them. `fromScan`: the bytes of the former.
 */
function sourcesOf(request: AssembleRequest, table: BlockTable, inPlace: boolean): { sources: BlockSources; fromScan: number } {
  const { seedOf, offsetOf, staged } = request;
  let fromScan = 0;
  if (inPlace) {
    for (let k = 0; k < seedOf.length; k++) {
      const seed = seedOf[k];
      if ((seed >= 0 && staged?.[k]) || seed === FROM_ZEROS) {
        seedOf[k] = FROM_OUTPUT;
        offsetOf[k] = 0;
        if (seed >= 0) fromScan += blockLength(table, k);
      }
    }
  }
  return { sources: BlockSources.adopt(seedOf, offsetOf), fromScan };
}

self.onmessage = (e: MessageEvent<AssembleRequest>) => {
  assemble(e.data).catch((error: unknown) => {
    post({
      type: 'error',
      code: isTesseraError(error) ? error.code : ErrorCode.OutputWrite,
      message: error instanceof Error ? error.message : String(error),
    });
  });
};
