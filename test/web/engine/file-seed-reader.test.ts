// The page's seed reader over a Blob: the logic (one stream read forward,
// read-ahead, new streams for jumps) runs on Node's Blob, which has the same
// slice() and stream() as the browser's.
import { describe, expect, it } from 'vitest';
import { fileSeedReader } from '../../../src/web/engine/file-seed-reader.ts';
import { readFully } from '../../../src/core/read-fully.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';

const data = randomBytes(9 << 20, 7);
const blob = new Blob([data.slice()]);

describe('fileSeedReader', () => {
  it('reads forward, through short gaps, back, and far ahead, always the right bytes', async () => {
    const reader = fileSeedReader(blob, 'old.iso', 1 << 20);
    const reads: [number, number][] = [
      [0, 100_000], // start
      [100_000, 3 << 20], // continues on
      [(3 << 20) + 200_000, 50_000], // a short gap, read through
      [10, 4096], // back: a new stream
      [8 << 20, 1 << 20], // far ahead, to the end
      [(9 << 20) - 10, 10], // the last bytes
    ];
    for (const [position, length] of reads) {
      const target = new Uint8Array(length);
      expect(await readFully(reader, position, target)).toBe(length);
      expectSameBytes(target, data.subarray(position, position + length));
    }
    reader.close();
  });

  it('serves calls made at once one after another, each with its own bytes', async () => {
    const reader = fileSeedReader(blob, 'old.iso');
    const targets = [0, 1, 2, 3].map(() => new Uint8Array(1 << 20));
    const got = await Promise.all(targets.map((t, i) => reader.readInto(i * (2 << 20), t)));
    expect(got).toEqual([1 << 20, 1 << 20, 1 << 20, 1 << 20]);
    targets.forEach((t, i) => expectSameBytes(t, data.subarray(i * (2 << 20), i * (2 << 20) + (1 << 20))));
    reader.close();
  });

  it('returns fewer bytes only at the end of the file', async () => {
    const reader = fileSeedReader(blob, 'old.iso');
    const target = new Uint8Array(1000);
    expect(await reader.readInto(data.length - 300, target)).toBe(300);
    expect(await reader.readInto(data.length, target)).toBe(0);
    reader.close();
  });

  it('says which file failed when the stream breaks', async () => {
    const broken = {
      size: 4096,
      slice: () => ({ stream: () => new ReadableStream({ pull: (c) => c.error(new DOMException('changed', 'NotReadableError')) }) }),
    } as unknown as Blob;
    const reader = fileSeedReader(broken, 'old.iso');
    await expect(reader.readInto(0, new Uint8Array(10))).rejects.toMatchObject({ name: 'NotReadableError' });
    // The next read starts afresh rather than hanging on the broken stream.
    await expect(reader.readInto(0, new Uint8Array(10))).rejects.toMatchObject({ name: 'NotReadableError' });
  });
});

describe('fileSeedReader without read-ahead', () => {
  /** A Blob whose stream hands out 64 KiB chunks only when pulled, counting the pulls. */
  function countingBlob(bytes: Uint8Array): { blob: Blob; pulls: () => number } {
    let pulls = 0;
    const blob = {
      size: bytes.length,
      slice: (start = 0) => ({
        stream: () => {
          let at = start;
          return new ReadableStream<Uint8Array>(
            {
              pull(c) {
                pulls++;
                if (at >= bytes.length) return c.close();
                c.enqueue(bytes.slice(at, at + (64 << 10)));
                at += 64 << 10;
              },
            },
            { highWaterMark: 0 },
          );
        },
      }),
    } as unknown as Blob;
    return { blob, pulls: () => pulls };
  }

  it('reads a chunk only when one is wanted (aheadBytes 0), and the right bytes', async () => {
    const { blob: lazy, pulls } = countingBlob(data);
    const reader = fileSeedReader(lazy, 'old.iso', 0);
    const target = new Uint8Array(100_000); // two chunks
    expect(await readFully(reader, 0, target)).toBe(target.length);
    expectSameBytes(target, data.subarray(0, target.length));
    // The two chunks it used, and at most the one the stream itself asks for next; no more while nothing is wanted.
    const first = pulls();
    expect(first).toBeLessThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 20));
    expect(pulls()).toBe(first);
    expect(await readFully(reader, target.length, target)).toBe(target.length);
    expectSameBytes(target, data.subarray(target.length, 2 * target.length));
    expect(pulls()).toBeLessThanOrEqual(first + 2);
    reader.close();
  });

  it('reads ahead of its consumer otherwise', async () => {
    const { blob: eager, pulls } = countingBlob(data);
    const reader = fileSeedReader(eager, 'old.iso', 1 << 20);
    expect(await readFully(reader, 0, new Uint8Array(100))).toBe(100);
    await new Promise((r) => setTimeout(r, 20));
    expect(pulls()).toBeGreaterThanOrEqual(16); // 1 MiB ahead, in 64 KiB chunks
    reader.close();
  });
});
