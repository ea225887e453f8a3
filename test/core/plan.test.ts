import { describe, expect, it } from 'vitest';
import { BlockSources, FROM_ZEROS } from '../../src/core/block-sources.ts';
import type { BlockTable } from '../../src/core/block-table.ts';
import { planDownload } from '../../src/core/plan.ts';

function table(blockCount: number, length = blockCount * 1024): BlockTable {
  return { length, blockSize: 1024, blockCount, weakBytes: 4, strongBytes: 8, strongHash: 'xxh128', weak: new Uint32Array(blockCount), strong: new Uint8Array(blockCount * 8) };
}

/** Sources where the blocks marked 'L' (local) or 'Z' (zeros) in `pattern` are found and '.' are missing. */
function sources(pattern: string): BlockSources {
  const s = new BlockSources(pattern.length);
  [...pattern].forEach((c, k) => {
    if (c === 'L') s.set(k, 0, k * 1024);
    if (c === 'Z') s.set(k, FROM_ZEROS, 0);
  });
  return s;
}

describe('planDownload', () => {
  it('turns runs of missing blocks into ranges, merging only touching blocks by default', () => {
    const plan = planDownload(table(10), sources('..LL.L...Z'));
    expect(plan.ranges).toEqual([
      { start: 0, end: 2048 },
      { start: 4096, end: 5120 },
      { start: 6144, end: 9216 },
    ]);
    expect(plan.bytesToFetch).toBe(6 * 1024);
    expect(plan.bytesLocal).toBe(4 * 1024);
    expect(plan.bytesZero).toBe(1024);
    expect(plan.requests).toBe(3);
  });

  it('merges runs separated by at most mergeGap bytes, counting the gap as fetched', () => {
    const plan = planDownload(table(10), sources('..L.LL.LLL'), { mergeGap: 1024 });
    expect(plan.ranges).toEqual([
      { start: 0, end: 4096 },
      { start: 6144, end: 7168 },
    ]);
    expect(plan.bytesToFetch).toBe(5 * 1024);
  });

  it('splits long runs at maxRequestBytes and ends the last range at the image length', () => {
    const plan = planDownload(table(10, 9 * 1024 + 10), sources('L.........'), { maxRequestBytes: 4096 });
    expect(plan.ranges).toEqual([
      { start: 1024, end: 5120 },
      { start: 5120, end: 9216 },
      { start: 9216, end: 9 * 1024 + 10 },
    ]);
    expect(plan.bytesToFetch).toBe(8 * 1024 + 10);
  });

  it('plans nothing when every block is local', () => {
    const plan = planDownload(table(4), sources('LLZL'));
    expect(plan.ranges).toEqual([]);
    expect(plan.bytesToFetch).toBe(0);
    expect(plan.bytesLocal).toBe(4096);
  });
});
