import { describe, expect, it } from 'vitest';
import { FindingRuns, forEachFinding } from '../../../src/web/engine/finding-runs.ts';

const BS = 4096;

function expand(runs: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  forEachFinding(runs, BS, (block, offset) => out.push([block, offset]));
  return out;
}

describe('FindingRuns', () => {
  it('gives back every find, in order, exactly as added (runs, lone blocks, repeats, offsets past 4 GiB)', () => {
    const finds: [number, number][] = [
      [10, 0], [11, BS], [12, 2 * BS], // a run
      [5, 3 * BS + 7], // off the grid: a run of its own
      [6, 4 * BS + 7], // follows it in the image and in the file
      [13, 5 * BS], // next in the image, but not right after 12's bytes
      [10, 9 * BS], // a block found again elsewhere (kept: the first find wins when merged)
      [100, 2 ** 32 + BS], [101, 2 ** 32 + 2 * BS],
    ];
    const runs = new FindingRuns(BS);
    runs.add(finds.slice(0, 4).map((f) => f[0]), finds.slice(0, 4).map((f) => f[1]));
    runs.add(Int32Array.from(finds.slice(4).map((f) => f[0])), Float64Array.from(finds.slice(4).map((f) => f[1])));
    const array = runs.toArray();
    expect(expand(array)).toEqual(finds);
    expect(array.length / 3).toBe(5);
  });

  it('keeps a long stretch of a file as one run', () => {
    const n = 1 << 20;
    const blocks = new Int32Array(n).map((_, i) => 7 + i);
    const offsets = new Float64Array(n).map((_, i) => 1000 + i * BS);
    const runs = new FindingRuns(BS);
    runs.add(blocks, offsets);
    expect([...runs.toArray()]).toEqual([7, n, 1000]);
  });
});
