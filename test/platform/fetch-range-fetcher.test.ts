import { describe, expect, it } from 'vitest';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';

const body = randomBytes(3 << 20, 11);

/** A fetch answering every range with 206 and `body` (already all arrived, as from a fast mirror). */
const fakeFetch = (async () =>
  new Response(
    new ReadableStream({
      type: 'bytes',
      start(c) {
        c.enqueue(body.slice());
        c.close();
      },
    }),
    { status: 206, headers: { 'Content-Range': `bytes 0-${body.length - 1}/${body.length}` } },
  )) as typeof fetch;

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
