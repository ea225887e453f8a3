import { describe, expect, it } from 'vitest';
import { BlockSources } from '../../src/core/block-sources.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import type { MirrorValidators } from '../../src/core/file-validators.ts';
import { createBlockHash } from '../../src/core/hashing.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { planDownload } from '../../src/core/plan.ts';
import { RangeDownloader } from '../../src/core/range-downloader.ts';
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
  for (let i = 0; i < plan.ranges.length; i++) parts.push(await downloader.take(i));
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
      const data = await downloader.take(i);
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
