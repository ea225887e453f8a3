import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { encodeManifest } from '../../src/core/manifest/encode-manifest.ts';
import type { Manifest } from '../../src/core/manifest/manifest.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from './expect-bytes.ts';
import { memorySeed } from './memory-seed.ts';
import { tempDir } from './temp-dir.ts';

export const BS = 2048;
export const CHUNK = 8192;
export const CHUNKS = 24;

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * An image of 24 random 8 KiB chunks and an "old" file holding the even ones
 * (between junk): the plan fetches the 12 odd chunks, one 8 KiB request each.
 * `changed` is another file of the same size (a new version on a mirror).
 */
export function faultImages() {
  const chunks = Array.from({ length: CHUNKS }, (_, i) => randomBytes(CHUNK, 900 + i));
  const image = concat(chunks);
  const old = concat(chunks.flatMap((c, i) => (i % 2 === 0 ? [randomBytes(1000 + i, 2000 + i), c] : [])));
  const changed = concat(chunks.map((c, i) => (i % 2 === 1 ? randomBytes(CHUNK, 3000 + i) : c)));
  return { image, old, changed, missingBytes: (CHUNKS / 2) * CHUNK, missingRanges: CHUNKS / 2 };
}

/** The image's blocks, by content: a kept file made only of them holds nothing but verified image data. */
export function blockSet(image: Uint8Array): Set<string> {
  const set = new Set<string>();
  for (let o = 0; o < image.length; o += BS) set.add(Buffer.from(image.subarray(o, o + BS)).toString('base64'));
  return set;
}

/** How many of `wanted` blocks (image block numbers) `file`, read in whole blocks, holds; fails if it holds anything else. */
export function countKeptBlocks(file: Uint8Array, image: Uint8Array, wanted: (block: number) => boolean): number {
  const index = new Map<string, number>();
  for (let k = 0; k * BS < image.length; k++) index.set(Buffer.from(image.subarray(k * BS, (k + 1) * BS)).toString('base64'), k);
  expect(file.length % BS, 'kept file is whole blocks').toBe(0);
  const found = new Set<number>();
  for (let o = 0; o < file.length; o += BS) {
    const k = index.get(Buffer.from(file.subarray(o, o + BS)).toString('base64'));
    expect(k, `kept bytes ${o}-${o + BS - 1} are a block of the image`).toBeDefined();
    if (wanted(k!)) found.add(k!);
  }
  return found.size;
}

/** A block of the image the plan fetches (an odd chunk). */
export const missingBlock = (k: number) => Math.floor((k * BS) / CHUNK) % 2 === 1;

/** A temp folder with old.iso and image.iso.tessera (no mirror of its own: runs give --mirror). */
export async function faultFixture() {
  const images = faultImages();
  const dir = await tempDir('tessera-faults-');
  const manifest: Manifest = await makeManifest(memorySeed('image.iso', images.image));
  const manifestPath = join(dir.path, 'image.iso.tessera');
  await writeFile(manifestPath, await encodeManifest(manifest));
  const oldPath = join(dir.path, 'old.iso');
  await writeFile(oldPath, images.old);
  return { ...images, dir, manifest, manifestPath, oldPath };
}

/** The file at `path` is the image, byte for byte, with its SHA-256. */
export async function expectImage(path: string, image: Uint8Array): Promise<void> {
  const bytes = await readFile(path);
  expect(sha256(bytes)).toBe(sha256(image));
  expectSameBytes(bytes, image);
}
