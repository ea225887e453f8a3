import { describe, expect, it } from 'vitest';
import { BlockSources } from '../../src/core/block-sources.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import type { MirrorValidators } from '../../src/core/file-validators.ts';
import { createBlockHash } from '../../src/core/hashing.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { planDownload } from '../../src/core/plan.ts';
import { RangeDownloader, bufferBytes } from '../../src/core/range-downloader.ts';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { type Behaviour, type FaultServer, useFaultServers } from '../helpers/fault-server.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';

const mirror = useFaultServers();

/** Download every block of `image` with the given mirrors; returns the bytes and the downloader. */
async function downloadAll(image: Uint8Array, urls: string[], maxRequestBytes = 8192, validators?: MirrorValidators) {
  const manifest = await makeManifest(memorySeed('image.iso', image));
  const plan = planDownload(manifest.blocks, new BlockSources(manifest.blocks.blockCount), { maxRequestBytes });
  const downloader = new RangeDownloader(manifest.blocks, plan.ranges, urls, createFetchRangeFetcher(), await createBlockHash('xxh128'), { backoffMs: 1, connections: 2, validators });
  downloader.start();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < plan.ranges.length; i++) parts.push((await downloader.take(i))!);
  return { data: concat(parts), downloader, plan };
}

describe('RangeDownloader against real HTTP servers', () => {
  const image = randomBytes(2048 * 24 + 100, 31);

  it('fetches every range, verified, with exactly the planned bytes', async () => {
    const a = await mirror(image);
    const { data, downloader, plan } = await downloadAll(image, [a.url]);
    expectSameBytes(data, image);
    expect(a.bytesSent).toBe(plan.bytesToFetch);
    expect(downloader.requests).toBe(plan.requests);
  });

  it('spreads requests over several mirrors', async () => {
    const a = await mirror(image);
    const b = await mirror(image);
    const { data } = await downloadAll(image, [a.url, b.url]);
    expectSameBytes(data, image);
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.requests.length).toBeGreaterThan(0);
  });

  it.each<[string, Behaviour]>([
    ['answers 200 instead of 206', 'full-200'],
    ['sends a wrong Content-Range', 'wrong-range'],
    ['sends a short body', 'short'],
    ['sends corrupted bytes', 'corrupt'],
    ['answers 503', { status: 503 }],
  ])('replaces a mirror that %s by a good one', async (_, behaviour) => {
    const bad = await mirror(image, () => behaviour);
    const good = await mirror(image);
    const { data, downloader, plan } = await downloadAll(image, [bad.url, good.url]);
    expectSameBytes(data, image);
    const [badReport, goodReport] = downloader.mirrorReports;
    expect(badReport.failures).toBeGreaterThan(0);
    // What the bad mirror sent before a fault (half a short body) is kept: every byte is verified once.
    expect(badReport.bytesGood + goodReport.bytesGood).toBe(plan.bytesToFetch);
    expect(badReport.bytesGood).toBeLessThan(plan.bytesToFetch / 2);
  });

  it('retries a transient fault on the same single mirror', async () => {
    const flaky = await mirror(image, (n) => (n === 1 ? 'corrupt' : n === 3 ? { status: 503 } : 'ok'));
    const { data, downloader } = await downloadAll(image, [flaky.url]);
    expectSameBytes(data, image);
    expect(downloader.mirrorReports[0].failures).toBe(2);
  });

  it('says what each mirror did when all of them fail', async () => {
    const a = await mirror(image, () => 'full-200');
    const b = await mirror(image, () => ({ status: 404 }));
    const error = await downloadAll(image, [a.url, b.url]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.MirrorsFailed });
    const message = (error as Error).message;
    expect(message).toContain(`${a.url}: answered 200 with the whole file instead of 206`);
    expect(message).toContain(`${b.url}: HTTP 404 (not found)`);
  });

  it('with the validators of an earlier check, a file replaced since then is "changed", not "bad data", and nothing of it is kept', async () => {
    // The mirror now serves another version of the same size (other bytes, ETag "v2"); it was "v1" when first checked.
    const other = randomBytes(image.length, 32);
    const replaced = await mirror(image, () => 'ok', { changed: { from: 0, data: other } });
    const error = await downloadAll(image, [replaced.url], 8192, { [replaced.url]: { [replaced.url]: { etag: '"v1"' } } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.RemoteChanged });
    const message = (error as Error).message;
    expect(message).toContain(`${replaced.url}: the file changed on the mirror since it was first checked (ETag "v1" -> "v2")`);
    expect(message).not.toContain('bad data');
    // Set aside at its first answer: one request per connection at most.
    expect(replaced.requests.length).toBeLessThanOrEqual(2);
  });

  it('without them, the same replaced file is only seen as data that fails its checksums', async () => {
    const other = randomBytes(image.length, 32);
    const replaced = await mirror(image, () => 'ok', { changed: { from: 0, data: other } });
    const error = await downloadAll(image, [replaced.url]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.MirrorsFailed });
    expect((error as Error).message).toContain(`${replaced.url}: sent bad data (block 0,`);
  });

  it('the same validators as before: downloaded as usual', async () => {
    const same = await mirror(image);
    const { data } = await downloadAll(image, [same.url], 8192, { [same.url]: { [same.url]: { etag: '"v1"' } } });
    expectSameBytes(data, image);
  });
});

describe('RangeDownloader buffers', () => {
  it('keeps the larger buffer when it has room for one only, so later ranges a block longer reuse it', async () => {
    // 2048-byte blocks; found blocks 2, 6 and 10 cut the missing ones into runs of 2, 3, 3 and 3 blocks.
    const image = randomBytes(14 * 2048, 61);
    const a = await mirror(image);
    const manifest = await makeManifest(memorySeed('image.iso', image));
    const sources = new BlockSources(manifest.blocks.blockCount);
    for (const k of [2, 6, 10]) sources.set(k, 0, k * 2048);
    const plan = planDownload(manifest.blocks, sources);
    expect(plan.ranges.map((r) => r.end - r.start)).toEqual([2, 3, 3, 3].map((n) => n * 2048));
    // One range fetched at a time, as the writer takes them; one buffer kept between ranges.
    const downloader = new RangeDownloader(manifest.blocks, plan.ranges, [a.url], createFetchRangeFetcher(), await createBlockHash('xxh128'), { connections: 1, windowBytes: 1, spareBuffers: 1 });
    downloader.start();
    const taken: Uint8Array[] = [];
    for (let i = 0; i < plan.ranges.length; i++) {
      const data = (await downloader.take(i))!;
      expectSameBytes(data, image.subarray(plan.ranges[i].start, plan.ranges[i].end));
      taken.push(data);
      downloader.release(data);
    }
    // Range 2 was fetched while range 1 was held, so it has a buffer of its own; range 3 is fetched once
    // range 1 is given back, into its buffer (the kept 2-block one of range 0 is too small and makes way).
    expect(taken[3].buffer).toBe(taken[1].buffer);
    expect(taken[2].buffer).not.toBe(taken[1].buffer);
  });
});

describe('RangeDownloader with an output that keeps what is verified (the page built in place)', () => {
  it('holds no range the output already has: take() gives null, the window does not stop it, one buffer serves all', async () => {
    const image = randomBytes(12 * 2048, 67);
    const a = await mirror(image);
    const manifest = await makeManifest(memorySeed('image.iso', image));
    const plan = planDownload(manifest.blocks, new BlockSources(manifest.blocks.blockCount), { maxRequestBytes: 4096 });
    expect(plan.ranges.length).toBe(6);
    const kept = new Uint8Array(image.length);
    // The last range's bytes are not kept (a write that failed, say): it is held and handed over as before.
    const notKept = plan.ranges[5];
    const buffers = new Set<ArrayBufferLike>();
    let fetched = 0;
    let allFetched!: () => void;
    const done = new Promise<void>((resolve) => (allFetched = resolve));
    const downloader = new RangeDownloader(manifest.blocks, plan.ranges, [a.url], createFetchRangeFetcher(), await createBlockHash('xxh128'), {
      connections: 1,
      windowBytes: 4096, // one range
      spareBuffers: 1,
      onVerified: (start, data) => {
        buffers.add(data.buffer);
        if (start >= notKept.start && start < notKept.end) return false;
        kept.set(data, start);
        return true;
      },
      onRangeFetched: () => ++fetched === plan.ranges.length && allFetched(),
    });
    downloader.start();
    // Nothing taken yet, and a window of one range: only ranges the output holds let the next one start.
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${fetched} ranges fetched`)), 5000))]);
    for (let i = 0; i < plan.ranges.length; i++) {
      const data = await downloader.take(i);
      if (i === 5) {
        expectSameBytes(data!, image.subarray(notKept.start, notKept.end));
        downloader.release(data!);
      } else expect(data).toBeNull();
    }
    for (const r of plan.ranges) if (r !== notKept) expectSameBytes(kept.subarray(r.start, r.end), image.subarray(r.start, r.end));
    // Each kept range's buffer went back at once, for the next.
    expect(buffers.size).toBe(1);
    expect(a.bytesSent).toBe(image.length);
  });
});

describe('bufferBytes', () => {
  it('gives a range room for a block or two more, so ranges a block apart share buffers, for at most a quarter more memory', () => {
    const MiB = 1 << 20;
    // A 1 MiB change on the block grid, and the same off it (one 16 KiB block more): the first one's buffer serves both.
    expect(bufferBytes(MiB)).toBeGreaterThanOrEqual(MiB + 16384);
    for (const size of [1, 100, 2048, 6144, 65536, MiB - 1, MiB, 2 * MiB, 5 * MiB + 12345, 64 * MiB]) {
      expect(bufferBytes(size)).toBeGreaterThanOrEqual(size + size / 8);
      expect(bufferBytes(size)).toBeLessThanOrEqual(Math.ceil(size * 1.25) + 8);
    }
  });
});
