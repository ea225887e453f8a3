import { describe, expect, it } from 'vitest';
import { BlockSources, FROM_NETWORK, FROM_OUTPUT, FoundBlocks } from '../../src/core/block-sources.ts';

describe('BlockSources.adopt', () => {
  it('works on the arrays it is given (no copy), counting the blocks that already have a source', () => {
    const seed = Int32Array.from([FROM_NETWORK, 0, FROM_OUTPUT, FROM_NETWORK]);
    const offset = Float64Array.from([0, 8192, 0, 0]);
    const sources = BlockSources.adopt(seed, offset);
    expect(sources.blockCount).toBe(4);
    expect(sources.foundCount).toBe(2);
    expect(sources.seed).toBe(seed);
    expect(sources.has(1)).toBe(true);
    expect(sources.has(3)).toBe(false);
    expect(sources.set(3, 1, 4096)).toBe(true);
    expect(seed[3]).toBe(1);
    expect(offset[3]).toBe(4096);
    expect(sources.set(1, 1, 0)).toBe(false); // a block with a source keeps it
    expect(sources.complete).toBe(false);
    expect(sources.set(0, 1, 0)).toBe(true);
    expect(sources.complete).toBe(true);
  });
});

describe('BlockSources offsets', () => {
  it('take 4 bytes a block, and keep offsets at or past 4 GiB exactly (a seed that large) along with the earlier ones', () => {
    const sources = new BlockSources(3);
    expect(sources.set(0, 0, 2 ** 32 - 4096)).toBe(true);
    expect(sources.offset.BYTES_PER_ELEMENT).toBe(4);
    expect(sources.set(1, 1, 2 ** 32 + 8192)).toBe(true);
    expect(sources.set(2, 1, 5 * 2 ** 40)).toBe(true);
    expect([...sources.offset]).toEqual([2 ** 32 - 4096, 2 ** 32 + 8192, 5 * 2 ** 40]);
    expect([...sources.seed]).toEqual([0, 1, 1]);
    expect(sources.complete).toBe(true);
  });
});

describe('FoundBlocks', () => {
  it('reports each block once per task, leaves out known ones, and starts over after take()', () => {
    const known = Uint8Array.from([0, 1, 0, 0]);
    const found = new FoundBlocks(4, known);
    expect(found.set(2, 0, 100)).toBe(true);
    expect(found.set(2, 0, 200)).toBe(false);
    expect(found.set(1, 0, 300)).toBe(false); // known
    expect(found.set(0, 0, 400)).toBe(true);
    const first = found.take();
    expect([...first.blocks]).toEqual([2, 0]);
    expect([...first.offsets]).toEqual([100, 400]);
    expect(found.set(2, 0, 500)).toBe(true); // a new task finds it again
    expect([...found.take().blocks]).toEqual([2]);
  });

  it('sharing where blocks were found (claimed): another task of the same seed takes them as found, a task of another seed does not', () => {
    const claimed = new Int32Array(4);
    const a = new FoundBlocks(4, undefined, claimed);
    const b = new FoundBlocks(4, undefined, claimed);
    expect(a.set(1, 3, 100)).toBe(true); // no seed set yet: it claims nothing
    expect([...claimed]).toEqual([0, 0, 0, 0]);
    a.take();
    a.seed = 3;
    b.seed = 3;
    expect(a.set(2, 3, 200)).toBe(true);
    expect([...claimed]).toEqual([0, 0, 4, 0]);
    expect(b.has(2)).toBe(true); // another slice of seed 3: found already
    expect(b.set(2, 3, 300)).toBe(false);
    b.seed = 5;
    expect(b.has(2)).toBe(false); // seed 5 reports it too (seed 3 may yet fail and be taken back)
    expect(b.set(2, 5, 400)).toBe(true);
    expect(claimed[2]).toBe(4); // the first seed's claim stays
    expect([...a.take().blocks]).toEqual([2]);
    expect([...b.take().blocks]).toEqual([2]);
    expect(a.has(2)).toBe(true); // what a slice of its seed found outlives take()
  });
});
