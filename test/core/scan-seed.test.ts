import { describe, expect, it } from 'vitest';
import { BlockIndex } from '../../src/core/block-index.ts';
import { BlockSources, FROM_NETWORK, FROM_ZEROS } from '../../src/core/block-sources.ts';
import { createBlockHash } from '../../src/core/hashing.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { findZeroBlocks, scanSeed } from '../../src/core/scan-seed.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { concat, padTo, randomBytes } from '../../src/node/pseudo-random-bytes.ts';

const BS = 2048;

async function setup(target: Uint8Array) {
  const manifest = await makeManifest(memorySeed('target', target), { blockSize: BS });
  const index = new BlockIndex(manifest.blocks);
  const hash = await createBlockHash('xxh128');
  const sources = new BlockSources(manifest.blocks.blockCount);
  return { manifest, index, hash, sources };
}

describe('scanSeed', () => {
  it('finds blocks at unaligned offsets of the seed and records where', async () => {
    const target = randomBytes(BS * 40, 1);
    // The seed holds the target's blocks 10..29, 1234 bytes into the file, after other data.
    const seedData = concat([randomBytes(1234, 2), target.subarray(10 * BS, 30 * BS), randomBytes(5000, 3)]);
    const { index, hash, sources } = await setup(target);
    const result = await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources);
    expect(result.blocksFound).toBe(20);
    for (let k = 0; k < 40; k++) {
      if (k >= 10 && k < 30) {
        expect(sources.seed[k]).toBe(0);
        expect(sources.offset[k]).toBe(1234 + (k - 10) * BS);
      } else expect(sources.seed[k]).toBe(FROM_NETWORK);
    }
  });

  it('finds data moved by every small shift, across read boundaries', async () => {
    const target = randomBytes(BS * 8, 4);
    for (const shift of [1, 2, 3, 511, 2047, 2049]) {
      const { index, hash, sources } = await setup(target);
      const seedData = concat([randomBytes(shift, shift), target]);
      // A small read size forces the window across many buffer refills.
      await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources, { readSize: BS * 4 + 100 });
      expect(sources.foundCount).toBe(8);
    }
  });

  it('treats the end of a seed as zero-padded to a whole block (loose file inside an image)', async () => {
    const loose = randomBytes(BS * 3 + 700, 5); // not a whole number of blocks
    const target = concat([randomBytes(BS * 2, 6), padTo(loose, BS), randomBytes(BS, 7)]);
    const { index, hash, sources } = await setup(target);
    await scanSeed(memorySeed('loose.deb', loose), 0, index, hash, sources);
    expect([2, 3, 4, 5].map((k) => sources.seed[k])).toEqual([0, 0, 0, 0]);
    expect(sources.offset[5]).toBe(3 * BS); // the partial last block, matched via padding
    expect(sources.foundCount).toBe(4);
  });

  it('fills every target block with identical content from one match (duplicates)', async () => {
    const block = randomBytes(BS, 8);
    const target = concat([block, randomBytes(BS, 9), block, block, randomBytes(BS, 10), block]);
    const { index, hash, sources } = await setup(target);
    await scanSeed(memorySeed('seed', concat([randomBytes(99, 11), block])), 0, index, hash, sources);
    expect([0, 2, 3, 5].map((k) => sources.offset[k])).toEqual([99, 99, 99, 99]);
    expect(sources.foundCount).toBe(4);
  });

  it('marks all-zero blocks as available without any seed, including a zero partial last block', async () => {
    const target = concat([randomBytes(BS, 12), new Uint8Array(BS * 3), randomBytes(BS, 13), new Uint8Array(100)]);
    const { index, hash, sources } = await setup(target);
    expect(findZeroBlocks(index, hash, sources)).toBe(4);
    expect(Array.from(sources.seed)).toEqual([FROM_NETWORK, FROM_ZEROS, FROM_ZEROS, FROM_ZEROS, FROM_NETWORK, FROM_ZEROS]);
  });

  it('finds nothing in unrelated data', async () => {
    const { index, hash, sources } = await setup(randomBytes(BS * 16, 14));
    const result = await scanSeed(memorySeed('other', randomBytes(BS * 64, 15)), 0, index, hash, sources);
    expect(result.blocksFound).toBe(0);
  });
});

describe('scanSeed over part of a seed', () => {
  it('finds the same blocks when a seed is split into ranges scanned separately', async () => {
    const target = randomBytes(BS * 60, 61);
    // Target blocks at unaligned offsets, some straddling the split points.
    const seedData = concat([randomBytes(777, 62), target.subarray(0, BS * 30), randomBytes(3333, 63), target.subarray(BS * 30)]);
    const whole = await setup(target);
    await scanSeed(memorySeed('seed', seedData), 0, whole.index, whole.hash, whole.sources);
    const split = await setup(target);
    const cuts = [0, 10_000, 10_001, 40_000, 63_000, seedData.length];
    let progress = 0;
    for (let i = 0; i + 1 < cuts.length; i++) {
      await scanSeed(memorySeed('seed', seedData), 0, split.index, split.hash, split.sources, {
        start: cuts[i],
        end: cuts[i + 1],
        readSize: BS * 5,
        onProgress: (n) => (progress = n),
      });
      expect(progress).toBe(cuts[i + 1] - cuts[i]);
    }
    expect(split.sources.foundCount).toBe(60);
    expect(whole.sources.foundCount).toBe(60);
  });
});
