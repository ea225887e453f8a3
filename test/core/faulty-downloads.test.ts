import { open, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockSources } from '../../src/core/block-sources.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { createBlockHash } from '../../src/core/hashing.ts';
import type { OutputSink, SeedReader } from '../../src/core/io.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { planDownload } from '../../src/core/plan.ts';
import { RangeDownloader } from '../../src/core/range-downloader.ts';
import { type RebuildEvent, downloadAndAssemble, scanSeeds } from '../../src/core/rebuild.ts';
import { openFileSeed } from '../../src/node/file-seed-reader.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { BS, CHUNK, faultFixture, sha256 } from '../helpers/fault-fixture.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { type Behaviour, type FaultServer, useFaultServers } from '../helpers/fault-server.ts';
import { memorySeed } from '../helpers/memory-seed.ts';

/** The engine (scan, download, assemble) against real HTTP mirrors, with sinks and seeds that fail on purpose. */
let fx: Awaited<ReturnType<typeof faultFixture>>;
const mirror = useFaultServers();
beforeAll(async () => {
  fx = await faultFixture();
});
afterAll(async () => {
  await fx.dir.remove();
});

/** A sink in memory: what was written in order, and what was kept aside after a failure. */
function memorySink(failAfter = Infinity) {
  const written: Uint8Array[] = [];
  const aside: { start: number; data: Uint8Array }[] = [];
  let bytes = 0;
  const sink: OutputSink = {
    async write(chunk) {
      if (bytes + chunk.length > failAfter) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      written.push(chunk.slice());
      bytes += chunk.length;
    },
    async keepAside(start, data) {
      aside.push({ start, data: data.slice() }); // unlike a full disk: the test sees all the engine would keep
    },
  };
  return { sink, written, aside, bytes: () => bytes, output: () => concat(written) };
}

async function rebuild(seeds: SeedReader[], mirrors: FaultServer[], sink: OutputSink, options: { stallTimeoutMs?: number; connections?: number } = {}) {
  const events: RebuildEvent[] = [];
  const session = await scanSeeds(fx.manifest, seeds);
  const result = downloadAndAssemble(session, {
    mirrors: mirrors.map((m) => m.url),
    fetcher: createFetchRangeFetcher(),
    sink,
    backoffMs: 1,
    ...options,
    onEvent: (e) => events.push(e),
  });
  return { session, events, result: await result.catch((e: unknown) => e as Error) };
}

describe('engine: faults during a rebuild', () => {
  it('a full disk: E_NO_SPACE said plainly; the written part and every range verified ahead are kept', async () => {
    const m = await mirror(fx.image);
    const out = memorySink(3 * CHUNK);
    const { events, result } = await rebuild([memorySeed('old.iso', fx.old)], [m], out.sink);
    expect(result).toMatchObject({ code: ErrorCode.OutputNoSpace });
    expect((result as Error).message).toBe(
      `the disk is full: could not write the image at byte ${3 * CHUNK} (ENOSPC: no space left on device, write); free some space, or write the image elsewhere`,
    );
    expectSameBytes(out.output(), fx.image.subarray(0, 3 * CHUNK));
    // Kept aside: verified image bytes only, covering every range the downloader had verified.
    for (const piece of out.aside) expectSameBytes(piece.data, fx.image.subarray(piece.start, piece.start + piece.data.length));
    const covered = (start: number, end: number) => end <= 3 * CHUNK || out.aside.some((p) => p.start <= start && p.start + p.data.length >= end);
    const fetched = events.filter((e) => e.type === 'range-fetched');
    expect(fetched.length).toBeGreaterThan(1);
    for (const r of fetched) expect(covered(r.start, r.end), `range ${r.start}-${r.end} kept`).toBe(true);
    const kept = events.find((e) => e.type === 'kept-aside');
    expect(kept).toEqual({ type: 'kept-aside', bytes: out.aside.reduce((s, p) => s + p.data.length, 0), complete: true });
    recordFaultOutcome(import.meta.url, {
      surface: 'engine',
      fault: 'disk full while writing (a sink that throws ENOSPC)',
      cases: 1,
      outcome: `E_NO_SPACE "the disk is full" with the byte offset; the ${3 * CHUNK} bytes written and all ${fetched.length} ranges verified by then kept (${kept && 'bytes' in kept ? kept.bytes : 0} bytes set aside)`,
    });
  });

  it('a seed rewritten between scan and assembly: named once, the changed blocks fetched in one request per run, image verified', async () => {
    const path = join(fx.dir.path, 'rewritten.iso');
    await writeFile(path, fx.old);
    const seed = await openFileSeed(path);
    try {
      const session = await scanSeeds(fx.manifest, [seed]);
      // Overwrite 5000 bytes of the seed's third chunk (image chunk 4) from its second block on.
      const at = 1000 + CHUNK + 1002 + CHUNK + 1004 + BS;
      const handle = await open(path, 'r+');
      await handle.write(randomBytes(5000, 77), 0, 5000, at);
      await handle.close();
      const m = await mirror(fx.image);
      const out = memorySink();
      const events: RebuildEvent[] = [];
      const result = await downloadAndAssemble(session, { mirrors: [m.url], fetcher: createFetchRangeFetcher(), sink: out.sink, backoffMs: 1, onEvent: (e) => events.push(e) });
      expect(result.digest).toBe(sha256(fx.image));
      expectSameBytes(out.output(), fx.image);
      // Bytes at..at+4999 of chunk 4 touch its blocks 1, 2 and 3.
      expect(result.blocksRepaired).toBe(3);
      expect(events.filter((e) => e.type === 'repair')).toEqual([{ type: 'repair', seed: path, block: 4 * (CHUNK / BS) + 1, reason: `changed since it was scanned (block ${4 * (CHUNK / BS) + 1} differs)` }]);
      expect(m.bytesSent).toBe(fx.missingBytes + 3 * BS);
      expect(m.requests).toHaveLength(fx.missingRanges + 1);
      recordFaultOutcome(import.meta.url, {
        surface: 'engine',
        fault: 'seed rewritten between scan and assembly',
        cases: 1,
        outcome: 'one warning naming the seed; its 3 changed blocks fetched in 1 request; image verified',
      });
    } finally {
      await seed.close();
    }
  });

  it('a seed deleted after the scan is still read (open handle); one that fails to read is named once and set aside', async () => {
    const path = join(fx.dir.path, 'deleted.iso');
    await writeFile(path, fx.old);
    const deleted = await openFileSeed(path);
    try {
      const session = await scanSeeds(fx.manifest, [deleted]);
      await unlink(path);
      const m = await mirror(fx.image);
      const out = memorySink();
      const result = await downloadAndAssemble(session, { mirrors: [m.url], fetcher: createFetchRangeFetcher(), sink: out.sink, backoffMs: 1 });
      expect(result.digest).toBe(sha256(fx.image));
      expect(m.bytesSent).toBe(fx.missingBytes);
    } finally {
      await deleted.close();
    }

    // A seed whose reads fail after the scan (a disk error, an unplugged drive): its blocks come from the mirror.
    const inner = memorySeed('failing.iso', fx.old);
    let failing = false;
    const flaky: SeedReader = {
      name: 'failing.iso',
      size: inner.size,
      readInto: (position, target) => (failing ? Promise.reject(new Error('EIO: i/o error, read')) : inner.readInto(position, target)),
    };
    const session = await scanSeeds(fx.manifest, [flaky]);
    failing = true;
    const m = await mirror(fx.image);
    const out = memorySink();
    const events: RebuildEvent[] = [];
    const result = await downloadAndAssemble(session, { mirrors: [m.url], fetcher: createFetchRangeFetcher(), sink: out.sink, backoffMs: 1, onEvent: (e) => events.push(e) });
    expect(result.digest).toBe(sha256(fx.image));
    expect(events.filter((e) => e.type === 'repair')).toEqual([{ type: 'repair', seed: 'failing.iso', block: 0, reason: 'could not be read again (EIO: i/o error, read)' }]);
    expect(result.blocksRepaired).toBe(fx.image.length / BS / 2);
    expect(m.bytesSent).toBe(fx.image.length);
    recordFaultOutcome(import.meta.url, {
      surface: 'engine',
      fault: 'seed deleted after the scan; seed failing to read after the scan',
      cases: 2,
      outcome: `deleted: still read through its open handle, nothing extra fetched; failing: one warning naming it, not read again, its ${result.blocksRepaired} blocks fetched; image verified both times`,
    });
  });
});

describe('engine: the downloader against faulty mirrors', () => {
  /** A 64 KiB image fetched as one range. */
  async function oneRange(choose: (n: number) => Behaviour, stallTimeoutMs?: number) {
    const image = randomBytes(64 * 1024, 61);
    const manifest = await makeManifest(memorySeed('one.iso', image));
    const plan = planDownload(manifest.blocks, new BlockSources(manifest.blocks.blockCount));
    const m = await mirror(image, choose);
    const retries: string[] = [];
    const verified: { start: number; data: Uint8Array }[] = [];
    const downloader = new RangeDownloader(manifest.blocks, plan.ranges, [m.url], createFetchRangeFetcher(), await createBlockHash('xxh128'), {
      backoffMs: 1,
      stallTimeoutMs,
      onRetry: (e) => retries.push(e.problem),
      onVerified: (start, data) => void verified.push({ start, data: data.slice() }),
    });
    downloader.start();
    const data = (await downloader.take(0))!;
    return { image, plan, m, retries, verified, data, downloader };
  }

  it('a retry after a cut-off body asks only for the bytes not yet verified', async () => {
    const { image, m, retries, data } = await oneRange((n) => (n === 0 ? 'short' : 'ok'));
    expectSameBytes(data, image);
    expect(m.requests.map((r) => r.range)).toEqual(['bytes=0-65535', 'bytes=32768-65535']);
    expect(m.bytesSent).toBe(image.length); // nothing sent twice
    expect(retries).toEqual([expect.stringMatching(/^connection lost after 32768 of 65536 bytes/)]);
    recordFaultOutcome(import.meta.url, {
      surface: 'engine',
      fault: 'mirror cuts the body off half-way',
      cases: 1,
      outcome: 'the retry asks for the second half only (bytes=32768-65535); exactly the image size sent in all',
    });
  });

  it('a stall mid-body is caught by the stall timeout; the retry continues after the verified blocks', async () => {
    const started = performance.now();
    const { image, m, retries, data } = await oneRange((n) => (n === 0 ? { stall: 20_000, after: 5000 } : 'ok'), 200);
    expectSameBytes(data, image);
    expect(retries).toEqual(['stalled: nothing received for 0.2 s after 5000 of 65536 bytes']);
    expect(m.requests.map((r) => r.range)).toEqual(['bytes=0-65535', 'bytes=4096-65535']);
    expect(performance.now() - started).toBeLessThan(5000);
    recordFaultOutcome(import.meta.url, {
      surface: 'engine',
      fault: 'mirror stalls mid-body',
      cases: 1,
      outcome: 'abandoned after the stall timeout (0.2 s here, 30 s by default) with "stalled: nothing received…"; the retry asks from the last verified block (bytes=4096-)',
    });
  });

  it('corrupted bytes are caught per block before anything is handed over', async () => {
    const { image, m, retries, data, verified } = await oneRange((n) => (n < 2 ? 'corrupt' : 'ok'));
    expectSameBytes(data, image);
    // Each bad answer is named by block; the blocks before it are kept, so each retry asks for less.
    expect(retries).toEqual(['sent bad data (block 16, bytes 32768-34815 fails its checksum)', 'sent bad data (block 24, bytes 49152-51199 fails its checksum)']);
    expect(m.requests.map((r) => r.range)).toEqual(['bytes=0-65535', 'bytes=32768-65535', 'bytes=49152-65535']);
    for (const v of verified) expectSameBytes(v.data, image.subarray(v.start, v.start + v.data.length));
    expect(verified.reduce((s, v) => s + v.data.length, 0)).toBe(image.length);
    // Only verified blocks were ever reported, and each once.
    recordFaultOutcome(import.meta.url, {
      surface: 'engine',
      fault: 'mirror sends corrupted bytes (2 answers in a row)',
      cases: 1,
      outcome: 'each caught at its block and named; the blocks before it kept, so the retries ask for less; only verified blocks handed on, each once',
    });
  });
});
