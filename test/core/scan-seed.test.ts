import { describe, expect, it } from 'vitest';
import { BlockIndex } from '../../src/core/block-index.ts';
import { BlockSources, FROM_NETWORK, FROM_ZEROS } from '../../src/core/block-sources.ts';
import { createBlockHash } from '../../src/core/hashing.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { findZeroBlocks, scanSeed } from '../../src/core/scan-seed.ts';
import type { BlockTable } from '../../src/core/block-table.ts';
import { weakMask } from '../../src/core/rsum.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { concat, padTo, randomBytes } from '../../src/node/pseudo-random-bytes.ts';

const BS = 2048;

/** Blocks that match on their own (seqMatches 1, as version 1 manifests and some .zsync files say), with full-size sums. */
const SINGLE = { weakBytes: 4, strongBytes: 8, seqMatches: 1 } as const;

async function setup(target: Uint8Array) {
  const manifest = await makeManifest(memorySeed('target', target), { blockSize: BS, sums: SINGLE });
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

/** The same table with zsync-style short sums and seq_matches 2. */
function withPairs(table: BlockTable, weakBytes: number, strongBytes: number): BlockTable {
  const strong = new Uint8Array(table.blockCount * strongBytes);
  for (let k = 0; k < table.blockCount; k++) strong.set(table.strong.subarray(k * table.strongBytes, k * table.strongBytes + strongBytes), k * strongBytes);
  const weak = table.weak.map((w) => w & weakMask(weakBytes));
  return { ...table, weakBytes, strongBytes, weak, strong, seqMatches: 2 };
}

async function setupPairs(target: Uint8Array, weakBytes = 2, strongBytes = 3) {
  const manifest = await makeManifest(memorySeed('target', target), { blockSize: BS, sums: SINGLE });
  const index = new BlockIndex(withPairs(manifest.blocks, weakBytes, strongBytes));
  const hash = await createBlockHash('xxh128');
  return { index, hash, sources: new BlockSources(manifest.blocks.blockCount) };
}

describe('scanSeed with seqMatches 2 (two consecutive blocks must match)', () => {
  it("finds runs of blocks at any offset, the run's last block included, and not a lone block", async () => {
    const target = randomBytes(BS * 40, 71);
    // Blocks 5..14 as a run; block 30 alone (its neighbours are not in the seed).
    const seedData = concat([randomBytes(1001, 72), target.subarray(5 * BS, 15 * BS), randomBytes(3000, 73), target.subarray(30 * BS, 31 * BS), randomBytes(500, 74)]);
    const { index, hash, sources } = await setupPairs(target);
    const result = await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources);
    expect(result.blocksFound).toBe(10);
    for (let k = 5; k < 15; k++) expect(sources.offset[k]).toBe(1001 + (k - 5) * BS);
    expect(sources.seed[30]).toBe(FROM_NETWORK);
  });

  it("finds the image's last (partial) block after the one before it, at a seed's zero-padded end", async () => {
    const target = randomBytes(BS * 12 + 300, 75);
    const seedData = concat([randomBytes(77, 76), target.subarray(8 * BS)]);
    const { index, hash, sources } = await setupPairs(target, 3, 4);
    await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources);
    expect([8, 9, 10, 11, 12].map((k) => sources.seed[k])).toEqual([0, 0, 0, 0, 0]);
    expect(sources.offset[12]).toBe(77 + 4 * BS);
    expect(sources.foundCount).toBe(5);
  });

  it('gives the same result across read boundaries, shifts and split ranges', async () => {
    const target = randomBytes(BS * 30, 77);
    for (const shift of [1, 2047, 2049, 5000]) {
      const seedData = concat([randomBytes(shift, shift), target.subarray(0, 13 * BS), randomBytes(999, 78), target.subarray(13 * BS)]);
      const whole = await setupPairs(target);
      await scanSeed(memorySeed('seed', seedData), 0, whole.index, whole.hash, whole.sources, { readSize: BS * 4 + 100 });
      expect(whole.sources.foundCount).toBe(30);
      const split = await setupPairs(target);
      const cuts = [0, 9_000, 40_000, seedData.length];
      for (let i = 0; i + 1 < cuts.length; i++) {
        await scanSeed(memorySeed('seed', seedData), 0, split.index, split.hash, split.sources, { start: cuts[i], end: cuts[i + 1], readSize: BS * 4 });
      }
      // A run followed from before a cut goes on one block past it: a run's last block, which cannot start a pair, is not lost at a cut.
      expect(split.sources.foundCount).toBe(30);
      for (let k = 0; k < 30; k++) if (split.sources.seed[k] === 0) expect(split.sources.offset[k]).toBe(whole.sources.offset[k]);
    }
  });

  it("takes a run's last block when a range ends just before it (every cut around it)", async () => {
    const target = randomBytes(BS * 6, 84);
    // The run is blocks 0..3 at 1000; 4 and 5 are not in the seed.
    const seedData = concat([randomBytes(1000, 85), target.subarray(0, 4 * BS), randomBytes(BS * 3, 86)]);
    for (let cut = 1000 + 2 * BS; cut <= 1000 + 4 * BS; cut += BS / 2) {
      const split = await setupPairs(target);
      for (const [start, end] of [[0, cut], [cut, seedData.length]]) {
        await scanSeed(memorySeed('seed', seedData), 0, split.index, split.hash, split.sources, { start, end, readSize: BS * 4 });
      }
      expect([0, 1, 2, 3].map((k) => split.sources.offset[k]), `cut at ${cut}`).toEqual([1000, 1000 + BS, 1000 + 2 * BS, 1000 + 3 * BS]);
      expect(split.sources.foundCount).toBe(4);
    }
  });

  it('does not jump over blocks found already: blocks starting inside them, off the grid, are still found (as zsync)', async () => {
    // The image holds R twice: blocks 0..15 on the block grid, and again 777 bytes off it (blocks 17..31 inside it).
    const r = randomBytes(BS * 16, 91);
    const target = concat([r, randomBytes(777, 92), r, randomBytes(3000, 93)]);
    // The old file holds R twice too: the first time its blocks 0..15 are found (and jumped over, as new); the second time they are known.
    const seedData = concat([r, randomBytes(5000, 94), r]);
    const second = 16 * BS + 5000;
    for (const jumpOverKnown of [false, true]) {
      const { index, hash, sources } = await setupPairs(target);
      await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources, { jumpOverKnown });
      for (let k = 0; k < 16; k++) expect(sources.offset[k]).toBe(k * BS);
      if (jumpOverKnown) {
        // (What an earlier run kept: jumped over, so R's second copy in the image is left to download.)
        expect(sources.foundCount).toBe(16);
        continue;
      }
      for (let k = 17; k < 32; k++) expect(sources.offset[k]).toBe(second + (k - 16) * BS - 777);
      expect([16, 32].map((k) => sources.seed[k])).toEqual([FROM_NETWORK, FROM_NETWORK]);
      expect(sources.foundCount).toBe(31);
    }
  });

  it('fills duplicate blocks and finds nothing in unrelated data', async () => {
    const block = randomBytes(BS, 79);
    const target = concat([block, block, randomBytes(BS * 3, 80), block, block, block]);
    const dup = await setupPairs(target);
    await scanSeed(memorySeed('seed', concat([randomBytes(10, 81), block, block])), 0, dup.index, dup.hash, dup.sources);
    expect([0, 1, 5, 6, 7].map((k) => dup.sources.seed[k])).toEqual([0, 0, 0, 0, 0]);
    expect(dup.sources.foundCount).toBe(5);
    const none = await setupPairs(randomBytes(BS * 16, 82));
    expect((await scanSeed(memorySeed('other', randomBytes(BS * 64, 83)), 0, none.index, none.hash, none.sources)).blocksFound).toBe(0);
  });
});

describe('scanSeed reporting block contents (onBlock)', () => {
  /** The target's block k as the scan hands it over: zero-padded to a whole block. */
  const blockOf = (target: Uint8Array, k: number) => {
    const out = new Uint8Array(BS);
    out.set(target.subarray(k * BS, Math.min(target.length, (k + 1) * BS)));
    return out;
  };

  for (const pairs of [false, true]) {
    it(`hands over each block it fills, once, with the target's bytes (seqMatches ${pairs ? 2 : 1})`, async () => {
      // Moved runs, a duplicated block, and a short last block at the seed's end, read in small pieces.
      const dup = randomBytes(BS, 90);
      const target = concat([randomBytes(BS * 6, 91), dup, randomBytes(BS * 5, 92), dup, dup, randomBytes(BS * 3 + 700, 93)]);
      const seedData = concat([randomBytes(333, 94), target.subarray(7 * BS, 16 * BS), randomBytes(50, 95), target.subarray(0, 7 * BS), target.subarray(16 * BS)]);
      const { index, hash, sources } = pairs ? await setupPairs(target) : await setup(target);
      const given = new Map<number, Uint8Array>();
      await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources, {
        readSize: BS * 4 + 100,
        onBlock: (k, data) => {
          expect(given.has(k)).toBe(false);
          given.set(k, data.slice());
        },
      });
      const filled = [...Array(sources.blockCount).keys()].filter((k) => sources.seed[k] === 0);
      expect(filled.length).toBe(sources.blockCount);
      expect([...given.keys()].sort((a, b) => a - b)).toEqual(filled);
      for (const [k, data] of given) expect(data).toEqual(blockOf(target, k));
    });
  }
});

describe('scan tasks merged in order (what scan workers do)', () => {
  it('FoundBlocks per task, merged seed by seed and slice by slice, gives the sources of one scan after another', async () => {
    const { FoundBlocks, mergeFound } = await import('../../src/core/block-sources.ts');
    const target = randomBytes(BS * 50, 101);
    const dup = target.subarray(3 * BS, 4 * BS);
    // Seeds overlapping each other, one holding a duplicate of another's block, one split into slices.
    const seeds = [
      concat([randomBytes(500, 102), target.subarray(0, 20 * BS)]),
      concat([target.subarray(10 * BS, 35 * BS), dup, randomBytes(3000, 103)]),
      concat([randomBytes(77, 104), target.subarray(30 * BS)]),
    ];
    for (const pairs of [false, true]) {
      const one = pairs ? await setupPairs(target) : await setup(target);
      for (let i = 0; i < seeds.length; i++) await scanSeed(memorySeed(`s${i}`, seeds[i]), i, one.index, one.hash, one.sources);
      const many = pairs ? await setupPairs(target) : await setup(target);
      const known = new Uint8Array(many.sources.blockCount);
      const found = new FoundBlocks(many.sources.blockCount, known);
      for (let i = 0; i < seeds.length; i++) {
        const cuts = i === 1 ? [0, 7 * BS + 5, 16 * BS, seeds[i].length] : [0, seeds[i].length];
        for (let c = 0; c + 1 < cuts.length; c++) {
          await scanSeed(memorySeed(`s${i}`, seeds[i]), i, many.index, many.hash, found, { start: cuts[c], end: cuts[c + 1] });
          mergeFound(many.sources, i, found.take(), known);
        }
      }
      expect(Array.from(many.sources.seed)).toEqual(Array.from(one.sources.seed));
      expect(Array.from(many.sources.offset)).toEqual(Array.from(one.sources.offset));
      expect(many.sources.foundCount).toBe(50);
    }
  });
});

describe('findKeptBlocks (what an earlier run kept, with seqMatches 2)', () => {
  it('finds blocks kept alone, at whole-block offsets, that the pair scan cannot take', async () => {
    const { findKeptBlocks } = await import('../../src/core/scan-seed.ts');
    const target = concat([randomBytes(BS * 12, 111), randomBytes(700, 112)]); // a short last block
    // A kept part: blocks 0..2 in order, then lone blocks 7, 5 and the last one (12), as kept aside.
    const block = (k: number) => target.subarray(k * BS, (k + 1) * BS);
    const kept = concat([block(0), block(1), block(2), block(7), block(5), block(12)]);
    const pairs = await setupPairs(target);
    await scanSeed(memorySeed('part', kept), 0, pairs.index, pairs.hash, pairs.sources);
    expect([5, 7, 12].map((k) => pairs.sources.seed[k])).toEqual([FROM_NETWORK, FROM_NETWORK, FROM_NETWORK]);
    expect(await findKeptBlocks(memorySeed('part', kept), 0, pairs.index, pairs.hash, pairs.sources)).toBe(3);
    expect([0, 1, 2, 5, 7, 12].map((k) => pairs.sources.offset[k])).toEqual([0, BS, 2 * BS, 4 * BS, 3 * BS, 5 * BS]);
    expect(pairs.sources.foundCount).toBe(6);
  });
});

describe('the pair loop in WebAssembly (PairRoller)', () => {
  it('finds exactly what the JavaScript loop finds, for 2, 3 and 4 weak bytes, across reads and ranges', async () => {
    const { PairRoller } = await import('../../src/core/pair-roller.ts');
    expect(PairRoller.create(1 << 16, new Int32Array(2048), new Int32Array(4096)), 'the module compiles and instantiates').not.toBeNull();
    const target = concat([randomBytes(BS * 40, 121), new Uint8Array(BS * 3), randomBytes(BS * 20 + 99, 122)]);
    const seedData = concat([randomBytes(3, 123), target.subarray(BS * 5, BS * 30), randomBytes(5555, 124), target.subarray(BS * 31), randomBytes(BS * 9, 125), target.subarray(0, BS * 2)]);
    for (const weakBytes of [2, 3, 4]) {
      const results = [];
      for (const wasm of [false, true]) {
        PairRoller.enabled = wasm;
        try {
          const { index, hash, sources } = await setupPairs(target, weakBytes, 3);
          let candidates = 0;
          for (const [start, end] of [[0, 30_000], [30_000, seedData.length]]) {
            const r = await scanSeed(memorySeed('seed', seedData), 0, index, hash, sources, { start, end, readSize: BS * 5 });
            candidates += r.candidates;
          }
          results.push({ seed: Array.from(sources.seed), offset: Array.from(sources.offset), candidates });
        } finally {
          PairRoller.enabled = true;
        }
      }
      expect(results[1], `${weakBytes} weak bytes`).toEqual(results[0]);
      expect(results[0].seed.filter((s) => s === 0).length).toBeGreaterThan(55);
    }
  });
});
