// The scan's direct writer of found blocks, over a stand-in for a sync access handle
// that keeps the file in memory (OPFS cannot run here; the page tests run it in Chromium).
import { describe, expect, it } from 'vitest';
import { DirectBlockWriter } from '../../../src/web/engine/direct-block-writer.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';

const BS = 4096;

/**
 * A file in memory behind a sync access handle's write(): the writes are listed.
 * `failAt`: from that write on, each returns what Chromium returns for "no space" (2^32 - 8).
 */
function memoryFile(length: number, failAt = Infinity) {
  const bytes = new Uint8Array(length);
  const writes: { position: number; length: number }[] = [];
  const handle = {
    write(data: AllowSharedBufferSource, options?: { at?: number }): number {
      const view = data instanceof Uint8Array ? data : new Uint8Array(data as ArrayBuffer);
      if (writes.length >= failAt) return 2 ** 32 - 8;
      const at = options?.at ?? 0;
      bytes.set(view, at);
      writes.push({ position: at, length: view.length });
      return view.length;
    },
  };
  return { handle, bytes, writes };
}

describe('DirectBlockWriter', () => {
  const image = randomBytes(40 * BS + 1000, 7); // a short last block
  image.copyWithin(20 * BS, 11 * BS, 12 * BS); // blocks 11 and 20 are the same: the scan hands over one view for both
  const padded = new Uint8Array(41 * BS);
  padded.set(image);

  /** A scan buffer refilled between stretches (as scanSeed does after afterChunk), and a writer fed views of it. */
  function scanInto(writer: DirectBlockWriter) {
    const buffer = new Uint8Array(16 * BS);
    return async (placed: [slot: number, block: number][]) => {
      buffer.fill(0xee);
      for (const [slot, k] of placed) buffer.set(padded.subarray(k * BS, (k + 1) * BS), slot * BS);
      for (const [slot, k] of placed) writer.add(k, buffer.subarray(slot * BS, (slot + 1) * BS));
      await writer.catchUp();
    };
  }

  it('writes each block at its place straight from the buffer: one write per run in both the buffer and the image, the last block clipped', async () => {
    const file = memoryFile(image.length);
    const writer = new DirectBlockWriter(file.handle, BS, image.length);
    const stretch = scanInto(writer);
    // Blocks in a row in both the buffer and the image; a gap in the buffer; a jump in the image; a block used twice.
    await stretch([[0, 0], [1, 1], [2, 2], [4, 3], [5, 4], [6, 10], [7, 11], [7, 20]]);
    await stretch([[0, 12], [1, 13], [2, 14], [3, 15], [9, 40]]);
    await stretch([[3, 30], [4, 31], [5, 32]]);
    expect(await writer.finish()).toBe(true);

    for (const k of [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 20, 30, 31, 32, 40]) {
      expectSameBytes(file.bytes.subarray(k * BS, Math.min(image.length, (k + 1) * BS)), image.subarray(k * BS, Math.min(image.length, (k + 1) * BS)));
    }
    for (const k of [5, 9, 16, 19, 21, 29, 33, 39]) expect(file.bytes.subarray(k * BS, (k + 1) * BS).every((b) => b === 0)).toBe(true);
    expect(file.writes).toEqual([
      { position: 0, length: 3 * BS },
      { position: 3 * BS, length: 2 * BS }, // (block 3 sits after a gap in the buffer)
      { position: 10 * BS, length: 2 * BS },
      { position: 20 * BS, length: BS },
      { position: 12 * BS, length: 4 * BS },
      { position: 40 * BS, length: 1000 },
      { position: 30 * BS, length: 3 * BS },
    ]);
  });

  it('after a failed write (no space) writes nothing more, and finish() says not everything was written', async () => {
    const file = memoryFile(image.length, 1);
    const writer = new DirectBlockWriter(file.handle, BS, image.length);
    const stretch = scanInto(writer);
    await stretch([[0, 0], [1, 1], [3, 5]]);
    await stretch([[0, 8], [1, 9]]);
    expect(await writer.finish()).toBe(false);
    expect(file.writes).toEqual([{ position: 0, length: 2 * BS }]);
    expect(file.bytes.subarray(5 * BS).every((b) => b === 0)).toBe(true);
  });
});
