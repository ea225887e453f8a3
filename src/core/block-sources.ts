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

/** What a scan records its finds into: the rebuild's BlockSources, or one task's FoundBlocks. */
export interface BlockRecorder {
  has(block: number): boolean;
  /** Record a source for a block still missing; returns whether it was missing. */
  set(block: number, seed: number, offset: number): boolean;
  /** Every block has a source: scanning can stop. */
  readonly complete: boolean;
}

export class BlockSources implements BlockRecorder {
  /** Seed number (index into the seed list), FROM_ZEROS, FROM_OUTPUT, or FROM_NETWORK. */
  readonly seed: Int32Array;
  /**
   * Byte offsets in 4 bytes a block (4 MB less for a 4 GiB image), widened to
   * 8 by the first offset at or past 4 GiB (a seed that large: a DVD image).
   */
  private offsets: Float64Array | Uint32Array;
  private found = 0;

  constructor(
    readonly blockCount: number,
    given?: { seed: Int32Array; offset: Float64Array | Uint32Array },
  ) {
    this.seed = given?.seed ?? new Int32Array(blockCount).fill(FROM_NETWORK);
    this.offsets = given?.offset ?? new Uint32Array(blockCount);
    if (given) for (let k = 0; k < blockCount; k++) if (this.seed[k] !== FROM_NETWORK) this.found++;
  }

  /** Byte offset in its seed, per block (meaningful where `seed` is a seed number). */
  get offset(): Float64Array | Uint32Array {
    return this.offsets;
  }

  /**
   * Sources over arrays made elsewhere (handed over from another thread),
   * used as they are: the receiver holds one set of them, not two.
   */
  static adopt(seed: Int32Array, offset: Float64Array | Uint32Array): BlockSources {
    return new BlockSources(seed.length, { seed, offset });
  }

  /** Record a source for a block still missing; returns whether it was missing. */
  set(block: number, seed: number, offset: number): boolean {
    if (this.seed[block] !== FROM_NETWORK) return false;
    if (offset > 0xffffffff && this.offsets instanceof Uint32Array) this.offsets = Float64Array.from(this.offsets);
    this.seed[block] = seed;
    this.offsets[block] = offset;
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

/**
 * The blocks one scan task (a seed, or a slice of one) finds, in the order it
 * finds them, each once: what a scan worker reports, to be merged into the
 * rebuild's BlockSources in the order of the seeds (mergeFound). Reused from
 * task to task (take() resets it); `known`, when given, marks blocks already
 * found before (all-zero blocks, earlier seeds'), which are not reported again.
 */
export class FoundBlocks implements BlockRecorder {
  private readonly seen: Uint8Array;
  private blocks: Int32Array;
  private offsets: Float64Array;
  private count = 0;

  constructor(
    blockCount: number,
    private readonly known?: Uint8Array,
    /**
     * Per block, 1 + the seed a task of the pool found it in first (an
     * Int32Array on a SharedArrayBuffer every worker marks), or 0. A block
     * another slice of the same seed found is neither reported again nor a
     * reason to jump (scanSeed), so a task scanning data that holds it at
     * another offset still tests what starts inside it. (Only the same seed's:
     * a seed that fails is taken back whole, and no other seed loses a block
     * to it.)
     */
    private readonly claimed?: Int32Array,
  ) {
    this.seen = new Uint8Array(blockCount);
    this.blocks = new Int32Array(1024);
    this.offsets = new Float64Array(1024);
  }

  /** The seed the current task scans (for `claimed`: none while it is -1). */
  seed = -1;

  has(block: number): boolean {
    return this.seen[block] !== 0 || (this.known !== undefined && this.known[block] !== 0) || (this.claimed !== undefined && this.seed >= 0 && this.claimed[block] === this.seed + 1);
  }

  set(block: number, _seed: number, offset: number): boolean {
    if (this.has(block)) return false;
    this.seen[block] = 1;
    if (this.claimed && this.seed >= 0 && this.claimed[block] === 0) this.claimed[block] = this.seed + 1;
    if (this.count === this.blocks.length) {
      const blocks = new Int32Array(this.count * 2);
      blocks.set(this.blocks);
      this.blocks = blocks;
      const offsets = new Float64Array(this.count * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.blocks[this.count] = block;
    this.offsets[this.count] = offset;
    this.count++;
    return true;
  }

  get complete(): boolean {
    return false;
  }

  get size(): number {
    return this.count;
  }

  /** What was found since the last take(), in new arrays (transferable); starts over. */
  take(): { blocks: Int32Array; offsets: Float64Array } {
    const blocks = this.blocks.slice(0, this.count);
    const offsets = this.offsets.slice(0, this.count);
    for (let i = 0; i < this.count; i++) this.seen[this.blocks[i]] = 0;
    this.count = 0;
    return { blocks, offsets };
  }
}

/**
 * Merge one task's finds into the sources (blocks already there keep their
 * source). Merging the tasks in the order of the seeds, and of the slices
 * within a seed, gives the sources a scan of the seeds one after another
 * gives. Returns the blocks that were new; marks them in `known` if given.
 */
export function mergeFound(sources: BlockSources, seed: number, found: { blocks: Int32Array; offsets: Float64Array }, known?: Uint8Array): number {
  let added = 0;
  for (let i = 0; i < found.blocks.length; i++) {
    const k = found.blocks[i];
    if (!sources.set(k, seed, found.offsets[i])) continue;
    added++;
    if (known) known[k] = 1;
  }
  return added;
}
