import { describe, expect, it } from 'vitest';
import { FROM_NETWORK } from '../../src/core/block-sources.ts';
import type { SeedReader } from '../../src/core/io.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { scanSeeds } from '../../src/core/rebuild.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { memorySeed } from '../helpers/memory-seed.ts';

describe('scanSeeds', () => {
  it('skips a seed that fails while being read, with a warning, and keeps the others', async () => {
    const image = randomBytes(2048 * 64, 51);
    const manifest = await makeManifest(memorySeed('image', image));
    const good = memorySeed('good.iso', image.subarray(0, 2048 * 16));
    // Serves its first read, then fails: the blocks it gave are rolled back.
    let reads = 0;
    const broken: SeedReader = {
      name: 'broken.iso',
      size: 2048 * 48,
      async readInto(position, target) {
        if (reads++ > 0) throw new Error('EIO: i/o error');
        const part = image.subarray(2048 * 16 + position, 2048 * 16 + position + Math.min(target.length, 2048 * 8));
        target.set(part);
        return part.length;
      },
    };
    const events: string[] = [];
    const session = await scanSeeds(manifest, [good, broken], {
      onEvent: (e) => {
        if (e.type === 'seed-skipped') events.push(`${e.seed}: ${e.reason}`);
      },
    });
    expect(events).toEqual([expect.stringMatching(/^broken\.iso: broken\.iso: could not read at byte \d+: EIO: i\/o error/)]);
    expect(session.skippedSeeds.map((s) => s.seed)).toEqual(['broken.iso']);
    // Blocks 0..15 come from the good seed; nothing is credited to the broken one.
    for (let k = 0; k < 64; k++) expect(session.sources.seed[k]).toBe(k < 16 ? 0 : FROM_NETWORK);
    expect(session.plan.bytesToFetch).toBe(48 * 2048);
  });

  it('stops reading seeds once every block is found', async () => {
    const image = randomBytes(2048 * 32, 52);
    const manifest = await makeManifest(memorySeed('image', image));
    const first = memorySeed('complete.iso', concat([image]));
    const second = memorySeed('unneeded.iso', randomBytes(1 << 20, 53));
    const session = await scanSeeds(manifest, [first, second]);
    expect(session.plan.bytesToFetch).toBe(0);
    expect(second.reads).toBe(0);
  });
});
