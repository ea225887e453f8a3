import { rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { makeManifest } from '../core/make-manifest.ts';
import { encodeManifest } from '../core/manifest/encode-manifest.ts';
import { MANIFEST_SUFFIX } from '../core/manifest/manifest.ts';
import { openFileSeed } from '../node/file-seed-reader.ts';
import { formatBytes, formatSeconds } from '../shared/format.ts';
import type { CliIo } from './cli-io.ts';

export interface MakeArgs {
  image: string;
  output?: string;
  urls: string[];
  blockSize?: number;
  name?: string;
  json: boolean;
}

/** `tessera make IMAGE`: describe an image in a manifest published next to it. */
export async function runMake(args: MakeArgs, io: CliIo): Promise<number> {
  const started = performance.now();
  const output = args.output ?? args.image + MANIFEST_SUFFIX;
  // With no --url the image is expected next to the manifest, under its own name.
  const mirrors = args.urls.length > 0 ? args.urls : [encodeURIComponent(basename(args.image))];
  const image = await openFileSeed(args.image);
  let manifestBytes: Uint8Array;
  let sha256: string;
  let blocks: number;
  try {
    const manifest = await makeManifest(image, {
      name: args.name ?? basename(args.image),
      mirrors,
      blockSize: args.blockSize,
      generator: `tessera ${io.version}`,
      onProgress: (done, total) => io.progress(`Reading ${args.image}: ${formatBytes(done)} of ${formatBytes(total)}`),
    });
    manifestBytes = await encodeManifest(manifest);
    sha256 = manifest.checksum.hex;
    blocks = manifest.blocks.blockCount;
    io.progressDone();
    const tmp = `${output}.tmp-${process.pid}`;
    await writeFile(tmp, manifestBytes);
    await rename(tmp, output);
    const seconds = (performance.now() - started) / 1000;
    io.info(`Wrote ${output}: ${formatBytes(manifestBytes.length)} describing ${formatBytes(image.size)} in ${blocks} blocks of ${manifest.blocks.blockSize} bytes (${formatSeconds(seconds)}).`);
    io.info(`Image SHA-256: ${sha256}`);
    io.info(`Mirrors: ${mirrors.join(', ')}${args.urls.length === 0 ? ' (relative: publish the manifest next to the image)' : ''}`);
    if (args.json) {
      io.json({ ok: true, manifest: output, manifestBytes: manifestBytes.length, imageBytes: image.size, blocks, blockSize: manifest.blocks.blockSize, sha256, mirrors, seconds });
    }
  } finally {
    await image.close();
  }
  return 0;
}
