import { dirname, resolve as resolvePath } from 'node:path';
import { bytesToHex } from '../core/hashing.ts';
import { assembleJigdo, matchJigdoFiles } from '../core/jigdo/assemble-jigdo.ts';
import { decodeTemplate } from '../core/jigdo/decode-template.ts';
import { fileUrls, planJigdo } from '../core/jigdo/jigdo-plan.ts';
import { readJigdo, templateUrl, verifyTemplate } from '../core/jigdo/open-jigdo.ts';
import { checksumName } from '../core/manifest/manifest.ts';
import { openFileOutput } from '../node/file-output.ts';
import { loadDescriptionBytes } from '../node/load-manifest.ts';
import { createNativeHasher } from '../node/native-hasher.ts';
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
  const output = args.output ?? jigdo.image.filename;
  const imageSum = `${checksumName(template.algorithm)} ${bytesToHex(template.imageChecksum)}`;
  io.info(`Image: ${jigdo.image.filename}, ${formatBytes(template.imageLength)}, ${imageSum}${jigdo.image.shortInfo ? ` (${jigdo.image.shortInfo})` : ''}`);

  const readers = await openSeeds(args.seeds, io);
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

    const out = await openFileOutput(output);
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
        onProgress: (written) => io.progress(`Writing ${output}: ${formatBytes(written)} of ${formatBytes(template.imageLength)}`),
      });
    } catch (error) {
      io.progressDone();
      // Not resumable yet for jigdo: a failed run keeps nothing (the fetched files are not cached either).
      await out.discard();
      throw error;
    }
    io.progressDone();
    await out.commit();
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
    await Promise.all(readers.map((r) => r.close()));
  }
}
