import { dirname, resolve as resolvePath } from 'node:path';
import { ErrorCode, TesseraError } from '../core/errors.ts';
import { bytesToHex } from '../core/hashing.ts';
import { assembleJigdo, matchJigdoFiles } from '../core/jigdo/assemble-jigdo.ts';
import { decodeJigdo, isGzip, partUrls } from '../core/jigdo/decode-jigdo.ts';
import { decodeTemplate } from '../core/jigdo/decode-template.ts';
import { encodeJigdoBase64 } from '../core/jigdo/jigdo-base64.ts';
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

/** Does this look like a .jigdo file (gzipped, or jigdo's INI text)? */
export function looksLikeJigdo(bytes: Uint8Array): boolean {
  if (isGzip(bytes)) return true;
  const head = new TextDecoder().decode(bytes.subarray(0, 512));
  return /^\s*(#[^\n]*\n\s*)*\[(Jigdo|Image)\]/.test(head);
}

/**
 * `tessera get IMAGE.jigdo`: the template gives the image's own bytes, the
 * user's files (matched by size, rsync64 and checksum) the packages it holds,
 * and the .jigdo's servers the packages they lack, fetched whole. The image is
 * checked against the template's MD5 or SHA-256 before it gets its name.
 */
export async function runGetJigdo(args: GetArgs, io: CliIo, raw: Uint8Array, jigdoUrl: string | undefined): Promise<number> {
  const started = performance.now();
  const source = jigdoUrl ?? args.manifest;
  const jigdo = decodeJigdo(isGzip(raw) ? await platformDecompress('gzip', raw) : raw, source);
  // The template: relative to the .jigdo's URL, or to its folder when it was given as a path.
  const templateRef = jigdoUrl ? new URL(jigdo.image.template, jigdoUrl).href : resolvePath(dirname(args.manifest), jigdo.image.template);
  const { bytes: templateBytes } = await loadDescriptionBytes(templateRef, 'template');
  for (const [algorithm, expected] of [['md5', jigdo.image.templateMd5], ['sha256', jigdo.image.templateSha256]] as const) {
    if (!expected) continue;
    const h = await createNativeHasher(algorithm);
    h.update(templateBytes);
    if ((await h.digest()) !== bytesToHex(expected)) {
      throw new TesseraError(ErrorCode.ManifestCorrupt, `${templateRef}: the template is not the one the .jigdo names (its ${checksumName(algorithm)} differs); download both again`);
    }
  }
  const template = decodeTemplate(templateBytes, templateRef);
  const output = args.output ?? jigdo.image.filename;
  const imageSum = `${checksumName(template.algorithm)} ${bytesToHex(template.imageChecksum)}`;
  io.info(`Image: ${jigdo.image.filename}, ${formatBytes(template.imageLength)}, ${imageSum}${jigdo.image.shortInfo ? ` (${jigdo.image.shortInfo})` : ''}`);

  const readers = await openSeeds(args.seeds, io);
  try {
    io.info(`Looking for the image's ${template.entries.filter((e) => e.kind === 'file').length} files among ${readers.length} local files...`);
    const matches = await matchJigdoFiles(template, readers, createNativeHasher, { onSkip: (seed, reason) => io.warn(`seed ${seed}: ${reason}; skipped`) });
    const files = template.entries.map((e, i) => ({ e, i })).filter(({ e }) => e.kind === 'file');
    const localBytes = files.filter(({ i }) => matches.has(i)).reduce((n, { e }) => n + e.length, 0);
    const toFetch = files.filter(({ i }) => !matches.has(i));
    const fetchBytes = toFetch.reduce((n, { e }) => n + e.length, 0);
    const templateDataBytes = template.imageLength - localBytes - fetchBytes;
    io.info(
      `Plan: ${formatBytes(localBytes)} (${percent(localBytes, template.imageLength)}) from ${matches.size} of your files, ` +
        `${formatBytes(templateDataBytes)} from the template, ${formatBytes(fetchBytes)} (${percent(fetchBytes, template.imageLength)}) to download as ${toFetch.length} file${toFetch.length === 1 ? '' : 's'}.`,
    );
    if (args.dryRun) {
      if (args.json) io.json({ ok: true, dryRun: true, bytesLocal: localBytes, bytesToFetch: fetchBytes, filesToFetch: toFetch.length, [template.algorithm]: bytesToHex(template.imageChecksum) });
      return 0;
    }

    // Each file's URLs: its [Parts] alternatives through [Servers], resolved against the .jigdo's URL; http(s) only.
    const urlsFor = (i: number) => {
      const entry = template.entries[i];
      if (entry.kind !== 'file') return [];
      return partUrls(jigdo, encodeJigdoBase64(entry.checksum)).flatMap((u) => {
        try {
          const url = jigdoUrl ? new URL(u, jigdoUrl) : new URL(u);
          return url.protocol === 'http:' || url.protocol === 'https:' ? [url.href] : [];
        } catch {
          return [];
        }
      });
    };
    const out = await openFileOutput(output);
    let result;
    try {
      result = await assembleJigdo({
        template,
        templateBytes,
        matches,
        urlsFor,
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
