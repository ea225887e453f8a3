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
