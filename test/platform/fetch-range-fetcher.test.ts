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
