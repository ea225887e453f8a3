// The in-place output's early writes: a downloaded piece verified out of order is written
// into the image file at once through the assembly's own handle (a stand-in keeping the file
// in memory here), and its bytes are not written again when the in-order sink reaches them.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openInPlaceOutput } from '../../../src/web/engine/in-place-output.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';
import { closeMemoryImageFiles, memoryImageFile } from '../../helpers/memory-image-file.ts';

const KiB = 1024;
afterEach(closeMemoryImageFiles);

/** The image file (behind its port), with a sync access handle of the assembly's own on it whose writes are listed. */
function imageFile(length: number) {
  const file = memoryImageFile(length);
  const handleWrites: { position: number; length: number }[] = [];
  /** Each flush of the handle, as the number of writes through it before it. */
  const flushes: number[] = [];
  const handle = {
    write(data: AllowSharedBufferSource, options?: { at?: number }): number {
      const view = data as Uint8Array;
      file.bytes.set(view, options?.at ?? 0);
      handleWrites.push({ position: options?.at ?? 0, length: view.length });
      return view.length;
    },
    flush() {
      flushes.push(handleWrites.length);
    },
    close() {},
  };
  return { ...file, handle, handleWrites, flushes };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('openInPlaceOutput', () => {
  const image = randomBytes(1024 * KiB, 17);

  it('writes a verified piece at once and says it is final; the sink then steps over it, and writes what was not kept early', async () => {
    const file = imageFile(image.length);
    const output = openInPlaceOutput(file.port, file.handle);
    // The second range (512 KiB-1 MiB) is verified first, in two pieces.
    output.keepVerified(512 * KiB, image.subarray(512 * KiB, 768 * KiB));
    output.keepVerified(768 * KiB, image.subarray(768 * KiB));
    expect(file.handleWrites).toEqual([
      { position: 512 * KiB, length: 256 * KiB },
      { position: 768 * KiB, length: 256 * KiB },
    ]);
    // In image order: the first range (not kept early) is written; the second only passed.
    await output.sink.write(image.slice(0, 512 * KiB));
    await output.sink.write(image.slice(512 * KiB));
    await settle();
    expect(file.handleWrites).toEqual([
      { position: 512 * KiB, length: 256 * KiB },
      { position: 768 * KiB, length: 256 * KiB },
      { position: 0, length: 512 * KiB },
    ]);
    expectSameBytes(file.bytes, image);
    const finals = file.told.filter((m) => m.type !== 'write');
    expect(finals).toEqual([
      // The two pieces, one after the other, said final as one stretch (when the in-order pass goes on).
      { type: 'final-range', start: 512 * KiB, end: 1024 * KiB },
      { type: 'final', upTo: 0 },
      { type: 'final', upTo: 512 * KiB },
      { type: 'final', upTo: 512 * KiB }, // (the sink steps over the range kept early)
      { type: 'final', upTo: 1024 * KiB },
    ]);
  });

  it('says pieces written early final in stretches of 1 MiB, and a new stretch where one does not follow the last', async () => {
    const big = randomBytes(4096 * KiB, 18);
    const file = imageFile(big.length);
    const output = openInPlaceOutput(file.port, file.handle);
    for (let at = 0; at < 1536 * KiB; at += 256 * KiB) output.keepVerified(at, big.subarray(at, at + 256 * KiB));
    output.keepVerified(3072 * KiB, big.subarray(3072 * KiB, 3328 * KiB));
    await output.sink.skip!(0);
    await settle();
    expect(file.told.filter((m) => m.type === 'final-range')).toEqual([
      { type: 'final-range', start: 0, end: 1024 * KiB },
      { type: 'final-range', start: 1024 * KiB, end: 1536 * KiB },
      { type: 'final-range', start: 3072 * KiB, end: 3328 * KiB },
    ]);
  });

  it('flushes its own handle once everything is written, while the digest is being computed', async () => {
    const file = imageFile(image.length);
    const output = openInPlaceOutput(file.port, file.handle);
    output.keepVerified(512 * KiB, image.subarray(512 * KiB));
    await output.sink.write(image.slice(0, 512 * KiB));
    expect(file.flushes).toEqual([]);
    await output.sink.write(image.slice(512 * KiB));
    const digest = await output.sink.digest!();
    expect(digest).toBe(createHash('sha256').update(image).digest('hex'));
    // One flush, after both writes (the piece kept early, then the first range in order).
    expect(file.handleWrites).toHaveLength(2);
    expect(file.flushes).toEqual([2]);
    expect(file.told.at(-1)?.type).toBe('digest');
  });

  it('without a handle of its own keeps nothing early: every byte goes through the port in order', async () => {
    const file = imageFile(image.length);
    const output = openInPlaceOutput(file.port, null);
    output.keepVerified(512 * KiB, image.subarray(512 * KiB));
    await output.sink.write(image.slice(0, 512 * KiB));
    await output.sink.write(image.slice(512 * KiB));
    await output.sink.skip!(0);
    await settle();
    expect(file.handleWrites).toEqual([]);
    expect(file.told.filter((m) => m.type === 'final-range')).toEqual([]);
    expectSameBytes(file.bytes, image);
  });
});
