// writeFullyAt over a stand-in for a sync access handle (OPFS cannot run here; the page tests run it in Chromium).
import { describe, expect, it } from 'vitest';
import { MAX_WRITE_BYTES } from '../../../src/core/io.ts';
import { writeFullyAt } from '../../../src/web/storage/sync-write.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';

/** A file in memory; each write is listed, and `answer` may say what a write returns instead of its length. */
function memoryHandle(length: number, answer: (write: number, length: number) => number = (_w, n) => n) {
  const bytes = new Uint8Array(length);
  const writes: { at: number; length: number }[] = [];
  return {
    bytes,
    writes,
    handle: {
      write(data: AllowSharedBufferSource, options?: { at?: number }): number {
        const view = data as Uint8Array;
        const at = options?.at ?? 0;
        const n = answer(writes.length, view.length);
        if (n > 0 && n <= view.length) bytes.set(view.subarray(0, n), at);
        writes.push({ at, length: view.length });
        return n;
      },
    },
  };
}

describe('writeFullyAt', () => {
  it('writes a large piece in writes of at most 1 MiB, in order, each at its place', () => {
    const data = randomBytes(2.5 * MAX_WRITE_BYTES + 123, 3);
    const file = memoryHandle(data.length + 4096);
    writeFullyAt(file.handle, data, 4096);
    expect(MAX_WRITE_BYTES).toBe(1 << 20);
    expect(file.writes).toEqual([
      { at: 4096, length: MAX_WRITE_BYTES },
      { at: 4096 + MAX_WRITE_BYTES, length: MAX_WRITE_BYTES },
      { at: 4096 + 2 * MAX_WRITE_BYTES, length: data.length - 2 * MAX_WRITE_BYTES },
    ]);
    expectSameBytes(file.bytes.subarray(4096), data);
  });

  it('goes on after a short write from where it stopped', () => {
    const data = randomBytes(100_000, 4);
    const file = memoryHandle(data.length, (w, n) => (w === 0 ? 30_000 : n));
    writeFullyAt(file.handle, data, 0);
    expect(file.writes.map((w) => w.at)).toEqual([0, 30_000]);
    expectSameBytes(file.bytes, data);
  });

  it("takes Chromium's error count for a full disk as a failure, naming the byte where it failed", () => {
    const data = randomBytes(3 * MAX_WRITE_BYTES, 5);
    const file = memoryHandle(data.length, (w, n) => (w === 1 ? 2 ** 32 - 8 : n));
    expect(() => writeFullyAt(file.handle, data, 0)).toThrowError(
      expect.objectContaining({ name: 'QuotaExceededError', message: `no space to write at byte ${MAX_WRITE_BYTES}` }),
    );
    expect(file.writes).toHaveLength(2);
  });

  it('takes any other count out of range as a failure', () => {
    const data = randomBytes(10_000, 6);
    const file = memoryHandle(data.length, () => 0);
    expect(() => writeFullyAt(file.handle, data, 500)).toThrowError(expect.objectContaining({ name: 'InvalidStateError', message: 'the write at byte 500 failed (browser error 0)' }));
  });
});
