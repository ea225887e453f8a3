/** Where each target block will come from: a seed file at some offset, zeros, or the network. */
export const FROM_NETWORK = -1;
/** The block is all zeros: written without reading or fetching anything. */
export const FROM_ZEROS = -2;
/**
 * The block is already at its own place in the output: the page writes the
 * blocks its scan finds straight into the output file, so the assembly only
 * steps over them (OutputSink.skip).
 */
export const FROM_OUTPUT = -3;

export class BlockSources {
  /** Seed number (index into the seed list), FROM_ZEROS, FROM_OUTPUT, or FROM_NETWORK. */
  readonly seed: Int32Array;
  /** Byte offset in that seed. */
  readonly offset: Float64Array;
  private found = 0;

  constructor(readonly blockCount: number) {
    this.seed = new Int32Array(blockCount).fill(FROM_NETWORK);
    this.offset = new Float64Array(blockCount);
  }

  /** Record a source for a block still missing; returns whether it was missing. */
  set(block: number, seed: number, offset: number): boolean {
    if (this.seed[block] !== FROM_NETWORK) return false;
    this.seed[block] = seed;
    this.offset[block] = offset;
    this.found++;
    return true;
  }

  /** Forget a source that turned out wrong (the seed changed); the block will be fetched. */
  clear(block: number): void {
    if (this.seed[block] === FROM_NETWORK) return;
    this.seed[block] = FROM_NETWORK;
    this.found--;
  }

  has(block: number): boolean {
    return this.seed[block] !== FROM_NETWORK;
  }

  get foundCount(): number {
    return this.found;
  }

  get complete(): boolean {
    return this.found === this.blockCount;
  }
}
