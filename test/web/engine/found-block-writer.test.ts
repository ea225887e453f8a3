// The scan's writer of found blocks, over a real MessagePort (Node's) to a stand-in
// for the image file's worker that keeps what it is sent in memory (OPFS cannot run here).
import { afterEach, describe, expect, it } from 'vitest';
import { FoundBlockWriter } from '../../../src/web/engine/found-block-writer.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';
import { closeMemoryImageFiles, memoryImageFile } from '../../helpers/memory-image-file.ts';

const BS = 4096;
afterEach(closeMemoryImageFiles);

describe('FoundBlockWriter', () => {
  it('writes each block at its place, blocks in a row in the image in one write per stretch of the scan', async () => {
    const image = randomBytes(40 * BS + 1000, 5); // a short last block
    image.copyWithin(20 * BS, 11 * BS, 12 * BS); // blocks 11 and 20 are the same: the scan hands over one view for both
    const length = image.length;
    const file = memoryImageFile(length);
    const writer = new FoundBlockWriter(file.port, BS, length);
    // A scan buffer refilled between stretches, as the scan does after catchUp().
    const buffer = new Uint8Array(16 * BS);
    const padded = new Uint8Array(41 * BS);
    padded.set(image);
    /** Put image blocks into the buffer at the given slots, then hand them over as views. */
    const stretch = async (placed: [slot: number, block: number][]) => {
      buffer.fill(0xee);
      for (const [slot, k] of placed) buffer.set(padded.subarray(k * BS, (k + 1) * BS), slot * BS);
      for (const [slot, k] of placed) writer.add(k, buffer.subarray(slot * BS, (slot + 1) * BS));
      await writer.catchUp();
    };
    // Blocks in a row in both the buffer and the image; a gap in the buffer; a jump in the image; a block used twice.
    await stretch([[0, 0], [1, 1], [2, 2], [4, 3], [5, 4], [6, 10], [7, 11], [7, 20]]);
    await stretch([[0, 12], [1, 13], [2, 14], [3, 15], [9, 40]]); // the buffer refilled: 12.. continue the run only in the image
    await stretch([[3, 30], [4, 31], [5, 32]]);
    expect(await writer.finish()).toBe(true);

    for (const k of [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 20, 30, 31, 32, 40]) {
      expectSameBytes(file.bytes.subarray(k * BS, Math.min(length, (k + 1) * BS)), image.subarray(k * BS, Math.min(length, (k + 1) * BS)));
    }
    for (const k of [5, 9, 16, 19, 21, 29, 33, 39]) expect(file.bytes.subarray(k * BS, (k + 1) * BS).every((b) => b === 0)).toBe(true);
    // One write per run of blocks in the image within a stretch; the last block's write ends at the image's end.
    expect(file.writes).toEqual([
      { position: 0, length: 5 * BS },
      { position: 10 * BS, length: 2 * BS },
      { position: 20 * BS, length: BS },
      { position: 12 * BS, length: 4 * BS },
      { position: 40 * BS, length: 1000 },
      { position: 30 * BS, length: 3 * BS },
    ]);
  });
});
