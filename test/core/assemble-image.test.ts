import { createSHA256 } from 'hash-wasm';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockSources, FROM_OUTPUT } from '../../src/core/block-sources.ts';
import type { OutputSink } from '../../src/core/io.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { downloadAndAssemble, sessionFromSources } from '../../src/core/rebuild.ts';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { type FaultServer, startFaultServer } from '../helpers/fault-server.ts';
import { memorySeed } from '../helpers/memory-seed.ts';

const BS = 2048;
const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

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
    const mirror = await startFaultServer(image);
    servers.push(mirror);
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
