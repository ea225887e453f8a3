/**
 * What scanning one seed file found, as runs: blocks that follow one another
 * in the image and in the file are one entry (first block, count, offset of
 * the first), three numbers a run in a Float64Array. A file's finds are
 * mostly long runs (a package, an unchanged stretch of an ISO), so a 4 GiB
 * seed's finds take kilobytes, where a block and an offset each took 12 MB
 * on the page's main thread until the seed was done, and again in the scan
 * cache.
 */
export class FindingRuns {
  private runs = new Float64Array(3 * 64);
  private count = 0;

  constructor(private readonly blockSize: number) {}

  /** Add finds in the order they were found (a block, and where in the file it is). */
  add(blocks: ArrayLike<number>, offsets: ArrayLike<number>): void {
    const bs = this.blockSize;
    for (let i = 0; i < blocks.length; i++) {
      const k = blocks[i];
      const at = offsets[i];
      const last = 3 * (this.count - 1);
      if (this.count > 0) {
        const n = this.runs[last + 1];
        if (k === this.runs[last] + n && at === this.runs[last + 2] + n * bs) {
          this.runs[last + 1] = n + 1;
          continue;
        }
      }
      if (3 * (this.count + 1) > this.runs.length) {
        const grown = new Float64Array(this.runs.length * 2);
        grown.set(this.runs);
        this.runs = grown;
      }
      const r = 3 * this.count++;
      this.runs[r] = k;
      this.runs[r + 1] = 1;
      this.runs[r + 2] = at;
    }
  }

  /** The runs, in a new array: [first block, count, offset] each. */
  toArray(): Float64Array {
    return this.runs.slice(0, 3 * this.count);
  }
}

/** Call `found(block, offset)` for each block of `runs` (FindingRuns.toArray()). */
export function forEachFinding(runs: Float64Array, blockSize: number, found: (block: number, offset: number) => void): void {
  for (let r = 0; r + 2 < runs.length; r += 3) {
    const first = runs[r];
    const at = runs[r + 2];
    for (let i = 0; i < runs[r + 1]; i++) found(first + i, at + i * blockSize);
  }
}
