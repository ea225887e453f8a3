// The command line's scan on worker threads (src/node/scan-pool.ts) against
// the one-thread scan of the engine (scanSeeds). The workers run the built
// dist/scan-worker.mjs (npm test builds it first).
import { existsSync } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_NETWORK } from '../../src/core/block-sources.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import type { Manifest } from '../../src/core/manifest/manifest.ts';
import { type RebuildEvent, scanSeeds } from '../../src/core/rebuild.ts';
import { type FileSeedReader, openFileSeed } from '../../src/node/file-seed-reader.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { scanSeedsThreaded } from '../../src/node/scan-pool.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const WORKER = new URL('../../dist/scan-worker.mjs', import.meta.url);
const BS = 2048;

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error('dist/scan-worker.mjs is missing: run `npm run build:cli` first (npm test does)');
  dir = await tempDir('tessera-pool-');
});
afterAll(() => dir.remove());

async function files(contents: Uint8Array[]): Promise<FileSeedReader[]> {
  return Promise.all(
    contents.map(async (data, i) => {
      const path = join(dir.path, `seed-${i}-${Math.random().toString(36).slice(2)}.bin`);
      await writeFile(path, data);
      return openFileSeed(path);
    }),
  );
}

/** What both scans say, per seed, in their events. */
function recorder() {
  const lines: string[] = [];
  const onEvent = (e: RebuildEvent) => {
    if (e.type === 'scan-done') lines.push(`done ${e.seedIndex}: ${e.blocksFound} blocks`);
    if (e.type === 'seed-skipped') lines.push(`skipped ${e.seed}: ${e.reason}`);
  };
  return { lines, onEvent };
}

async function bothScans(manifest: Manifest, seeds: FileSeedReader[], sliceBytes: number) {
  const one = recorder();
  const single = await scanSeeds(manifest, seeds, { onEvent: one.onEvent });
  const many = recorder();
  const threaded = await scanSeedsThreaded(manifest, seeds, { threads: 3, sliceBytes, workerUrl: WORKER, onEvent: many.onEvent });
  return { single, threaded, singleEvents: one.lines, threadedEvents: many.lines };
}

describe('scanning seeds on worker threads', () => {
  it('gives the same sources, plan and per-seed results as the one-thread scan (small files and a large one in slices)', async () => {
    const image = randomBytes(BS * 400 + 123, 201);
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const at = (k: number, n: number) => image.subarray(k * BS, (k + n) * BS);
    const seeds = await files([
      // Small files: parts of the image at odd offsets, overlapping one another.
      concat([randomBytes(333, 202), at(0, 30)]),
      concat([at(20, 40), randomBytes(5000, 203), at(100, 3)]),
      randomBytes(BS * 10, 204), // nothing of the image
      // A large file cut into slices: most of the image, shifted, with foreign data between runs.
      concat([randomBytes(1001, 205), at(50, 120), randomBytes(77, 206), at(170, 150), randomBytes(3000, 207), image.subarray(330 * BS)]),
      concat([at(390, 5), at(60, 8)]), // only blocks found before
    ]);
    const { single, threaded, singleEvents, threadedEvents } = await bothScans(manifest, seeds, 100_000);
    expect(threaded.stats.tasks).toBeGreaterThan(seeds.length); // the large seed was sliced
    expect(Array.from(threaded.sources.seed)).toEqual(Array.from(single.sources.seed));
    expect(Array.from(threaded.sources.offset)).toEqual(Array.from(single.sources.offset));
    expect(threaded.plan).toEqual(single.plan);
    expect(threadedEvents).toEqual(singleEvents);
    expect(single.plan.bytesToFetch).toBeLessThan(image.length / 10);
    await Promise.all(seeds.map((s) => s.close()));
  });

  it('skips a seed that fails in a worker, with its reason, takes back what it gave, and keeps the others', async () => {
    const image = randomBytes(BS * 64, 211);
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const [good, shrinking, later] = await files([image.subarray(0, BS * 16), image.subarray(BS * 16), image.subarray(BS * 40, BS * 48)]);
    // The second seed loses its end after it was opened (its size was taken): its last slice's read fails.
    await truncate(shrinking.name, BS * 30);
    const events = recorder();
    const session = await scanSeedsThreaded(manifest, [good, shrinking, later], { threads: 2, sliceBytes: BS * 12, workerUrl: WORKER, scanHere: false, onEvent: events.onEvent });
    expect(session.skippedSeeds).toEqual([{ seed: shrinking.name, reason: expect.stringContaining(`${shrinking.name}: the file became shorter while it was read`) }]);
    expect(events.lines).toContainEqual(`skipped ${shrinking.name}: ${session.skippedSeeds[0].reason}`);
    // Nothing is credited to the failed seed, not even from its slices that were read; the third seed still gives its blocks.
    for (let k = 0; k < 64; k++) expect(session.sources.seed[k], `block ${k}`).toBe(k < 16 ? 0 : k >= 40 && k < 48 ? 2 : FROM_NETWORK);
    expect(session.plan.bytesToFetch).toBe((64 - 24) * BS);
    await Promise.all([good, shrinking, later].map((s) => s.close()));
  });

  it('reads a seed deleted after it was opened through its descriptor, as the one-thread scan does; opens one by name when it has none', async () => {
    const image = randomBytes(BS * 32, 221);
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const [gone, kept] = await files([image.subarray(0, BS * 16), image.subarray(BS * 16)]);
    const { rm } = await import('node:fs/promises');
    await rm(gone.name);
    const threaded = await scanSeedsThreaded(manifest, [gone, kept], { threads: 3, sliceBytes: BS * 4, workerUrl: WORKER });
    expect(threaded.skippedSeeds).toEqual([]);
    expect(threaded.sources.foundCount).toBe(32);
    // Without a descriptor, a worker opens the seed by its name: gone, it is skipped with the reason.
    const byName = { name: gone.name, size: gone.size, readInto: gone.readInto };
    const events = recorder();
    const session = await scanSeedsThreaded(manifest, [byName, kept], { threads: 2, sliceBytes: BS * 4, workerUrl: WORKER, scanHere: false, onEvent: events.onEvent });
    expect(session.skippedSeeds).toEqual([{ seed: gone.name, reason: expect.stringMatching(/ENOENT/) }]);
    expect(events.lines).toContainEqual(`skipped ${gone.name}: ${session.skippedSeeds[0].reason}`);
    for (let k = 0; k < 32; k++) expect(session.sources.seed[k]).toBe(k < 16 ? FROM_NETWORK : 1);
    await Promise.all([gone, kept].map((s) => s.close().catch(() => {})));
  });

  it('finds the lone blocks an earlier run kept (leftover seed), as the one-thread scan does', async () => {
    const image = randomBytes(BS * 40, 231);
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const block = (k: number) => image.subarray(k * BS, (k + 1) * BS);
    const [part] = await files([concat([block(0), block(1), block(9), block(30), block(17)])]);
    const leftover = { ...part, leftover: true };
    const single = await scanSeeds(manifest, [leftover]);
    const threaded = await scanSeedsThreaded(manifest, [leftover], { threads: 2, workerUrl: WORKER });
    expect([0, 1, 9, 30, 17].map((k) => threaded.sources.offset[k])).toEqual([0, BS, 2 * BS, 3 * BS, 4 * BS]);
    expect(Array.from(threaded.sources.seed)).toEqual(Array.from(single.sources.seed));
    expect(threaded.sources.foundCount).toBe(5);
    await part.close();
  });
  it('a block one task found is no reason for a later task to jump: what starts inside it off the grid is found', async () => {
    // As the bench's synthetic pairs: the old file holds R twice, and the image holds R on the block grid and again 777 bytes off it.
    const r = randomBytes(BS * 64, 211);
    const image = concat([r, randomBytes(777, 212), r, randomBytes(3000, 213)]);
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const seeds = await files([concat([r, randomBytes(BS * 8, 214), r])]);
    try {
      // One worker, slices of 64 KiB: R's second copy is scanned by later tasks than its first.
      const threaded = await scanSeedsThreaded(manifest, seeds, { threads: 1, scanHere: false, sliceBytes: 32 * BS, workerUrl: WORKER });
      const single = await scanSeeds(manifest, seeds);
      // Blocks 0..63 (R on the grid) and 65..127 (inside the copy off it); 64 and 128 straddle other data.
      expect(single.sources.foundCount).toBe(127);
      expect(threaded.sources.foundCount).toBe(127);
      expect(threaded.plan.bytesToFetch).toBe(single.plan.bytesToFetch);
      expect([64, 128].map((k) => threaded.sources.seed[k])).toEqual([FROM_NETWORK, FROM_NETWORK]);
    } finally {
      for (const s of seeds) await s.close();
    }
  });
});
