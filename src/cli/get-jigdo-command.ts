import { dirname, resolve as resolvePath } from 'node:path';
import { ErrorCode, TesseraError, describeError, isTesseraError } from '../core/errors.ts';
import { bytesToHex } from '../core/hashing.ts';
import { assembleJigdo, matchJigdoFiles } from '../core/jigdo/assemble-jigdo.ts';
import { decodeTemplate } from '../core/jigdo/decode-template.ts';
import { fileUrls, planJigdo } from '../core/jigdo/jigdo-plan.ts';
import { readJigdo, templateUrl, verifyTemplate } from '../core/jigdo/open-jigdo.ts';
import { checksumName } from '../core/manifest/manifest.ts';
import { checkFreeSpace, openFileOutput } from '../node/file-output.ts';
import { keepFile, keptFileStore, keptFilesFolderFor, listKeptFiles, removeKeptFiles } from '../node/kept-jigdo-files.ts';
import { loadDescriptionBytes } from '../node/load-manifest.ts';
import { createNativeHasher } from '../node/native-hasher.ts';
import { checkDescribedImage } from '../core/expected-sha256.ts';
import { commitIfExpected } from './commit-if-expected.ts';
import { platformDecompress } from '../platform/decompress.ts';
import { createFetchRangeFetcher } from '../platform/fetch-range-fetcher.ts';
import { formatBytes, formatSeconds, percent } from '../shared/format.ts';
import type { CliIo } from './cli-io.ts';
import { openSeeds } from './open-seeds.ts';
import type { GetArgs } from './get-command.ts';

/**
 * `tessera get IMAGE.jigdo`: the template gives the image's own bytes, the
 * user's files (matched by size, rsync64 and checksum) the packages it holds,
 * and the .jigdo's servers the packages they lack, fetched whole. The image is
 * checked against the template's MD5 or SHA-256 before it gets its name.
 * Each fetched file is kept beside the output as soon as it is verified, so
 * that a failed or interrupted run resumes without fetching it again.
 */
export async function runGetJigdo(args: GetArgs, io: CliIo, raw: Uint8Array, jigdoUrl: string | undefined): Promise<number> {
  const started = performance.now();
  const source = jigdoUrl ?? args.manifest;
  const jigdo = await readJigdo(raw, source, platformDecompress);
  // The template: relative to the .jigdo's URL, or to its folder when it was given as a path.
  const templateRef = templateUrl(jigdo, jigdoUrl) ?? resolvePath(dirname(args.manifest), jigdo.image.template);
  const { bytes: templateBytes } = await loadDescriptionBytes(templateRef, 'template');
  await verifyTemplate(jigdo, templateBytes, templateRef, createNativeHasher);
  const template = decodeTemplate(templateBytes, templateRef);
  // A .jigdo of another image is refused before any file is read or fetched (an MD5 template: once built).
  const hashBuiltImage = checkDescribedImage(args.sha256, { algorithm: template.algorithm, hex: bytesToHex(template.imageChecksum) }, source);
  if (hashBuiltImage) io.info(`The ${checksumName(template.algorithm)} template cannot confirm --sha256 in advance; the built image's SHA-256 is checked before it is kept.`);
  const output = args.output ?? jigdo.image.filename;
  const imageSum = `${checksumName(template.algorithm)} ${bytesToHex(template.imageChecksum)}`;
  io.info(`Image: ${jigdo.image.filename}, ${formatBytes(template.imageLength)}, ${imageSum}${jigdo.image.shortInfo ? ` (${jigdo.image.shortInfo})` : ''}`);

  // Files fetched and verified by an earlier run that failed: seeds like the user's own.
  const keptFolder = keptFilesFolderFor(output);
  const kept = await listKeptFiles(keptFolder);
  if (kept.paths.length > 0) {
    io.info(`Resuming: ${kept.paths.length} file${kept.paths.length === 1 ? '' : 's'}, ${formatBytes(kept.bytes)} verified earlier (kept in ${keptFolder}), are used first.`);
  }
  const readers = await openSeeds([...kept.paths, ...args.seeds], io);
  // Ctrl-C while files are fetched stops cleanly, so that what was fetched is kept and said (see below).
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  try {
    io.info(`Looking for the image's ${template.entries.filter((e) => e.kind === 'file').length} files among ${readers.length} local files...`);
    const matches = await matchJigdoFiles(template, readers, createNativeHasher, { onSkip: (seed, reason) => io.warn(`seed ${seed}: ${reason}; skipped`) });
    const plan = planJigdo(template, matches);
    io.info(
      `Plan: ${formatBytes(plan.bytesLocal)} (${percent(plan.bytesLocal, template.imageLength)}) from ${plan.filesLocal} of your files, ` +
        `${formatBytes(plan.bytesFromTemplate)} from the template, ${formatBytes(plan.bytesToFetch)} (${percent(plan.bytesToFetch, template.imageLength)}) to download as ${plan.requests} file${plan.requests === 1 ? '' : 's'}.`,
    );
    if (args.dryRun) {
      if (args.json) io.json({ ok: true, dryRun: true, bytesLocal: plan.bytesLocal, bytesToFetch: plan.bytesToFetch, filesToFetch: plan.requests, [template.algorithm]: bytesToHex(template.imageChecksum) });
      return 0;
    }

    await checkFreeSpace(output, template.imageLength);
    // The image's checksum on a thread that reads the file back as it is written (as `tessera get` does with a manifest).
    const out = await openFileOutput(output, { hash: { algorithm: template.algorithm, alsoSha256: hashBuiltImage } });
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let keepProblem = false;
    let storeProblem = false;
    let failureSaid = false;
    let result;
    try {
      result = await assembleJigdo({
        template,
        templateBytes,
        matches,
        urlsFor: fileUrls(jigdo, template, jigdoUrl),
        fetcher: createFetchRangeFetcher(),
        sink: out.sink,
        decompress: platformDecompress,
        createHasher: createNativeHasher,
        signal: controller.signal,
        onProgress: (written) => io.progress(`Writing ${output}: ${formatBytes(written)} of ${formatBytes(template.imageLength)}`),
        keepFetched: async (i, data) => {
          const entry = template.entries[i];
          if (entry.kind !== 'file') return;
          try {
            await keepFile(keptFolder, bytesToHex(entry.checksum), data);
          } catch (error) {
            if (!keepProblem) io.warn(`could not keep a fetched file in ${keptFolder} (${describeError(error)}); if this run fails, the next one fetches it again`);
            keepProblem = true;
          }
        },
        // Large packages go to the kept folder as they arrive, in range requests, instead of memory.
        largeFiles: { store: keptFileStore(keptFolder) },
        onStoreFailed: (_i, reason) => {
          if (!storeProblem) io.warn(`could not keep a large fetched file in ${keptFolder} (${describeError(reason)}); large files are fetched into memory instead, and if this run fails, the next one fetches them again`);
          storeProblem = true;
        },
        onFileFailed: () => {
          if (failureSaid) return;
          failureSaid = true;
          io.progressDone();
          io.warn(`a file could not be fetched (said below); the other missing files are still fetched and kept, so that the next run needs only those that failed`);
        },
      });
    } catch (error) {
      io.progressDone();
      // The image is written in order, so an unfinished one is of no use; the files kept beside it are.
      await out.discard();
      throw await withKeptFilesNote(error, keptFolder);
    }
    io.progressDone();
    await commitIfExpected(out, hashBuiltImage ? args.sha256 : undefined, output);
    await removeKeptFiles(keptFolder);
    const seconds = (performance.now() - started) / 1000;
    io.info(`Verified: ${checksumName(template.algorithm)} ${result.digest} matches the template.`);
    io.info(
      `Wrote ${output}: ${formatBytes(template.imageLength)}, ${formatBytes(result.bytesLocal)} from your files, ${formatBytes(result.bytesFromTemplate)} from the template, ` +
        `${formatBytes(result.bytesFetched)} downloaded in ${result.filesFetched} file${result.filesFetched === 1 ? '' : 's'}, ${formatSeconds(seconds)}.`,
    );
    if (args.json) {
      io.json({
        ok: true,
        output,
        bytesLocal: result.bytesLocal,
        bytesFromTemplate: result.bytesFromTemplate,
        bytesFetched: result.bytesFetched,
        filesFetched: result.filesFetched,
        [template.algorithm]: result.digest,
        seconds,
      });
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(readers.map((r) => r.close()));
  }
}

/** A failed run's error, saying what is kept for the next run and how to resume. */
async function withKeptFilesNote(error: unknown, keptFolder: string): Promise<unknown> {
  const kept = await listKeptFiles(keptFolder);
  if (kept.paths.length === 0 || !isTesseraError(error)) return error;
  const when = isTesseraError(error, ErrorCode.MirrorsFailed) ? ' once the servers have the files that failed (or with --seed for a folder that has them)' : '';
  return new TesseraError(
    error.code,
    `${error.message}\nThe ${kept.paths.length} file${kept.paths.length === 1 ? '' : 's'} (${formatBytes(kept.bytes)}) fetched and verified so far are kept in ${keptFolder}; ` +
      `run the same command again (same -o)${when} to resume without fetching them again.`,
    { ...error.details, keptFiles: kept.paths.length, keptFolder },
    { cause: error },
  );
}
