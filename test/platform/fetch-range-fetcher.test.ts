import { describe, expect, it } from 'vitest';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';

const body = randomBytes(3 << 20, 11);

/** A fetch answering every range with 206, all of `body`, and a body stream from `source`. */
const answering = (source: UnderlyingDefaultSource<Uint8Array> | UnderlyingByteSource) =>
  (async () =>
    new Response(new ReadableStream(source as UnderlyingDefaultSource<Uint8Array>), {
      status: 206,
      headers: { 'Content-Range': `bytes 0-${body.length - 1}/${body.length}` },
    })) as typeof fetch;

/** `body` already all arrived, as from a fast mirror, in a byte stream (BYOB reads). */
const fakeFetch = answering({
  type: 'bytes',
  start(c) {
    c.enqueue(body.slice());
    c.close();
  },
});

async function pieces(bodyReadBytes?: number): Promise<number[]> {
  const fetcher = createFetchRangeFetcher({ fetch: fakeFetch, bodyReadBytes });
  const response = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
  const seen: number[] = [];
  const read = await response.readAll(new Uint8Array(body.length), (bytes) => seen.push(bytes));
  expect(read.length).toBe(body.length);
  expect(read.overflow).toBe(false);
  expectSameBytes(read.data, body);
  return seen;
}

describe('createFetchRangeFetcher', () => {
  it('reads a body in pieces of at most 256 KiB unless told otherwise, and the right bytes', async () => {
    const seen = await pieces();
    expect(Math.max(...seen)).toBe(256 << 10);
    expect(seen.length).toBe(12);
  });

  it('takes larger pieces when asked (bodyReadBytes), in fewer reads', async () => {
    const seen = await pieces(1 << 20);
    expect(Math.max(...seen)).toBe(1 << 20);
    expect(seen.length).toBe(3);
  });
});

describe('releaseChunk', () => {
  /** A fetch answering with `body` in chunks of `chunkBytes` (the last shorter), as a browser's fetch does. */
  const chunkedFetch = (chunkBytes: number) =>
    answering({
      start(c) {
        for (let at = 0; at < body.length; at += chunkBytes) c.enqueue(body.slice(at, at + chunkBytes));
        c.close();
      },
    });
  const chunkCount = Math.ceil(body.length / 300_000);

  // The release here wipes each chunk: had one been handed over before it was copied out, its bytes would be zeros.
  const wipe = (released: number[]) => (chunk: Uint8Array) => {
    released.push(chunk.length);
    chunk.fill(0);
  };

  it('hands each chunk of a body over once copied out (readAll), and the bytes are right', async () => {
    const released: number[] = [];
    const fetcher = createFetchRangeFetcher({ fetch: chunkedFetch(300_000), releaseChunk: wipe(released) });
    const response = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
    const read = await response.readAll(new Uint8Array(body.length), () => {});
    expect(read.length).toBe(body.length);
    expectSameBytes(read.data, body);
    expect(released.length).toBe(chunkCount);
    expect(released.reduce((a, b) => a + b, 0)).toBe(body.length);
  });

  it('reports small chunks in stretches of at least bodyReadBytes, and all of them by the end', async () => {
    const released: number[] = [];
    const fetcher = createFetchRangeFetcher({ fetch: chunkedFetch(32 << 10), releaseChunk: wipe(released), bodyReadBytes: 1 << 20 });
    const response = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
    const seen: number[] = [];
    const read = await response.readAll(new Uint8Array(body.length), (bytes) => seen.push(bytes));
    expectSameBytes(read.data, body);
    expect(released.length).toBe(body.length / (32 << 10));
    // 3 MiB in chunks of 32 KiB, all there at once: three reports of 1 MiB, not 96.
    expect(seen).toEqual([1 << 20, 1 << 20, 1 << 20]);
  });

  it('reports what arrived before a body failed, then passes the failure on', async () => {
    const failing = answering({
      start(c) {
        c.enqueue(body.slice(0, 100_000));
        c.enqueue(body.slice(100_000, 150_000));
        // (Later: an error at once would drop what is queued.)
        setTimeout(() => c.error(new TypeError('network error')), 20);
      },
    });
    const fetcher = createFetchRangeFetcher({ fetch: failing, releaseChunk: () => {}, bodyReadBytes: 1 << 20 });
    const response = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
    const into = new Uint8Array(body.length);
    const seen: number[] = [];
    await expect(response.readAll(into, (bytes) => seen.push(bytes))).rejects.toThrow('network error');
    expect(seen).toEqual([150_000]);
    expectSameBytes(into.subarray(0, 150_000), body.subarray(0, 150_000));
  });

  it('does the same through readPieces, and releases the chunk it stopped in when the body is too long', async () => {
    const released: number[] = [];
    const fetcher = createFetchRangeFetcher({ fetch: chunkedFetch(300_000), releaseChunk: wipe(released) });
    const whole = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
    const joined = new Uint8Array(body.length);
    let at = 0;
    const read = await whole.readPieces!(new Uint8Array(1 << 20), body.length, async (data) => {
      joined.set(data, at);
      at += data.length;
    });
    expect(read).toEqual({ length: body.length, overflow: false });
    expectSameBytes(joined, body);
    expect(released.length).toBe(chunkCount);

    released.length = 0;
    const cut = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
    const short = await cut.readPieces!(new Uint8Array(1 << 20), 1_000_000, async () => {});
    expect(short).toEqual({ length: 1_000_000, overflow: true });
    expect(released.length).toBe(Math.ceil(1_000_001 / 300_000));
  });
});

describe('RangeResponse.readPieces', () => {
  /** The body read through a piece of `pieceBytes` with `limit`: the sizes handed over, and their bytes joined. */
  async function readInPieces(pieceBytes: number, limit: number) {
    const fetcher = createFetchRangeFetcher({ fetch: fakeFetch, bodyReadBytes: 1 << 20 });
    const response = await fetcher.fetchRange('http://mirror.example/new.iso', 0, body.length);
    const sizes: number[] = [];
    const joined = new Uint8Array(body.length);
    const read = await response.readPieces!(new Uint8Array(pieceBytes), limit, async (data) => {
      joined.set(data, sizes.reduce((a, b) => a + b, 0));
      sizes.push(data.length);
    });
    return { read, sizes, joined };
  }

  it('hands the whole body over a piece at a time, the last one shorter', async () => {
    const { read, sizes, joined } = await readInPieces(700_000, body.length);
    expect(read).toEqual({ length: body.length, overflow: false });
    expect(sizes).toEqual([700_000, 700_000, 700_000, 700_000, body.length - 4 * 700_000]);
    expectSameBytes(joined, body);
  });

  it('stops at the limit and says the body was longer', async () => {
    const { read, sizes } = await readInPieces(1 << 20, 2_500_000);
    expect(read).toEqual({ length: 2_500_000, overflow: true });
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2_500_000);
  });
});
