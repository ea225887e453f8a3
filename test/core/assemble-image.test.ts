import { createSHA256 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { BlockSources, FROM_OUTPUT } from '../../src/core/block-sources.ts';
import type { OutputSink } from '../../src/core/io.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { type RebuildEvent, type RebuildSession, downloadAndAssemble, sessionFromSources } from '../../src/core/rebuild.ts';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { useFaultServers } from '../helpers/fault-server.ts';
import { memorySeed } from '../helpers/memory-seed.ts';

const BS = 2048;
const startMirror = useFaultServers();

/** An output file written in place: holds what the scan put there, hashes the whole file at the end. */
function inPlaceSink(file: Uint8Array): OutputSink & { stepped: number } {
  let position = 0;
  const sink = {
    stepped: 0,
    async write(chunk: Uint8Array) {
      file.set(chunk, position);
      position += chunk.length;
    },
    async skip(length: number) {
      position += length;
      sink.stepped += length;
    },
    async digest() {
      const h = await createSHA256();
      return h.init().update(file).digest('hex');
    },
  };
  return sink;
}

describe('assembling into an output that already holds some blocks (FROM_OUTPUT)', () => {
  const image = randomBytes(BS * 64 + 500, 401);

  async function setup() {
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const mirror = await startMirror(image);
    // Blocks 0-19 were written into the output by the scan; 20-39 come from a seed; the rest from the mirror.
    const seed = memorySeed('old.iso', image.subarray(20 * BS, 40 * BS));
    const sources = new BlockSources(manifest.blocks.blockCount);
    for (let k = 0; k < 20; k++) sources.set(k, FROM_OUTPUT, 0);
    for (let k = 20; k < 40; k++) sources.set(k, 0, (k - 20) * BS);
    const session = await sessionFromSources(manifest, [seed], sources);
    return { manifest, mirror, seed, session };
  }

  it('steps over them, writes the rest in place, and the image verifies', async () => {
    const { manifest, mirror, seed, session } = await setup();
    const file = new Uint8Array(image.length);
    file.set(image.subarray(0, 20 * BS));
    const sink = inPlaceSink(file);
    const result = await downloadAndAssemble(session, { mirrors: [mirror.url], fetcher: createFetchRangeFetcher(), sink });
    expectSameBytes(file, image);
    expect(result.digest).toBe(manifest.checksum.hex);
    expect(sink.stepped).toBe(20 * BS);
    expect(seed.bytesRead).toBe(20 * BS);
    expect(mirror.bytesSent).toBe(image.length - 40 * BS);
    expect(result.bytesFetched).toBe(image.length - 40 * BS);
  });

  it('refuses an output that cannot step over bytes, instead of writing a hole', async () => {
    const { mirror, session } = await setup();
    const written: Uint8Array[] = [];
    const streaming: OutputSink = { write: async (chunk) => void written.push(chunk.slice()) };
    await expect(downloadAndAssemble(session, { mirrors: [mirror.url], fetcher: createFetchRangeFetcher(), sink: streaming })).rejects.toThrow(
      /block 0 is already in the output, but the output cannot step over it/,
    );
    expect(written).toEqual([]);
  });
});

describe('assembling with reads and writes ahead (writeAhead, readAhead)', () => {
  const image = randomBytes(BS * 3000 + 700, 411);

  /** A sink that takes its time and checks that no write starts before the one before it ended. */
  function slowSink(failAt = Infinity) {
    const chunks: Uint8Array[] = [];
    let busy = false;
    let bytes = 0;
    const sink: OutputSink = {
      async write(chunk) {
        expect(busy, 'a write started before the one before it ended').toBe(false);
        busy = true;
        await new Promise((r) => setTimeout(r, chunks.length % 3));
        busy = false;
        if (bytes + chunk.length > failAt) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        chunks.push(chunk.slice());
        bytes += chunk.length;
      },
    };
    return { sink, output: () => Buffer.concat(chunks) };
  }

  async function setup() {
    const manifest = await makeManifest(memorySeed('image.iso', image), { blockSize: BS });
    const mirror = await startMirror(image);
    // Blocks from two seeds in runs of all sizes, some zero-length gaps fetched from the mirror.
    const a = memorySeed('a.iso', image.subarray(0, 1500 * BS));
    const b = memorySeed('b.iso', image.subarray(1500 * BS));
    const sources = new BlockSources(manifest.blocks.blockCount);
    for (let k = 0; k < manifest.blocks.blockCount; k++) {
      if (k % 97 < 5) continue; // fetched
      if (k < 1500) sources.set(k, 0, k * BS);
      else sources.set(k, 1, (k - 1500) * BS);
    }
    return { manifest, mirror, a, b, sources };
  }

  /** The assembly these tests run: few writes and reads ahead, so that they overlap in every way. */
  function assemble(session: RebuildSession, mirrorUrl: string, sink: OutputSink, onEvent?: (e: RebuildEvent) => void) {
    return downloadAndAssemble(session, { mirrors: [mirrorUrl], fetcher: createFetchRangeFetcher(), sink, writeAhead: 3, readAhead: 2, onEvent });
  }

  it('writes the same image, in order, one write at a time', async () => {
    const { manifest, mirror, a, b, sources } = await setup();
    const session = await sessionFromSources(manifest, [a, b], sources);
    const out = slowSink();
    const result = await assemble(session, mirror.url, out.sink);
    expect(result.digest).toBe(manifest.checksum.hex);
    expectSameBytes(new Uint8Array(out.output()), image);
  });

  it('a write that fails is named at its own byte, after the writes before it', async () => {
    const { manifest, mirror, a, b, sources } = await setup();
    const session = await sessionFromSources(manifest, [a, b], sources);
    const out = slowSink(2_000_000);
    const progress: number[] = [];
    const error = await assemble(session, mirror.url, out.sink, (e) => e.type === 'progress' && progress.push(e.bytesWritten)).catch((e: Error) => e);
    const written = out.output().length;
    expect((error as Error).message).toMatch(new RegExp(`^the disk is full: could not write the image at byte ${written} `));
    expectSameBytes(new Uint8Array(out.output()), image.subarray(0, written));
  });

  it('a seed that cannot be read any more: its blocks are fetched, the reads ahead of it included', async () => {
    const { manifest, mirror, a, b, sources } = await setup();
    let reads = 0;
    const failing = { ...b, readInto: async (position: number, target: Uint8Array) => (reads++ < 3 ? b.readInto(position, target) : Promise.reject(new Error('EIO: i/o error'))) };
    const session = await sessionFromSources(manifest, [a, failing], sources);
    const out = slowSink();
    const repairs: string[] = [];
    const result = await assemble(session, mirror.url, out.sink, (e) => e.type === 'repair' && repairs.push(`${e.seed}: ${e.reason}`));
    expect(result.digest).toBe(manifest.checksum.hex);
    expectSameBytes(new Uint8Array(out.output()), image);
    expect(repairs).toEqual(['b.iso: could not be read again (EIO: i/o error)']);
    expect(result.blocksRepaired).toBeGreaterThan(1000);
  });
});
