import { sameSums, type BlockTable } from './block-table.ts';

/**
 * A lookup structure from weak checksum to target blocks, built from typed
 * arrays only (a Map of millions of entries would cost hundreds of MB):
 * - two bit sets over two independent hashes of the weak sum (about 32 bits
 *   per block each, ~1 MB for a 700 MB image, so they stay in cache): the
 *   first rejects ~98% of positions with one access, the second ~98% of the
 *   rest, so the chain below (a cache miss, ~400 ns here) is walked rarely;
 * - a chained hash table (head/next) lists the blocks that share a bucket.
 * Identical blocks (same weak and strong sums: duplicates, runs of zeros) are
 * stored once in the chain; `copies` links each group in a ring, so a seed
 * full of zeros does not walk a chain of 100,000 zero blocks at every match.
 *
 * With seqMatches 2 the filters and the chain are keyed on the weak sums of a
 * block and the one after it (pairKey), so a candidate needs both to match;
 * the last block is never a pair's first (it is found as the continuation of
 * the block before it). `copies` still groups blocks by their own content.
 *
 * Memory, for n blocks: 4n bytes each for next and copies, 4 bytes per head
 * slot (a power of two >= n), the two filters ~20 bits per block: ~14 MB for
 * a 4 GiB image in 4096-byte blocks (it was ~56 MB for the 2048-byte blocks
 * of manifest version 1, with a head twice as large and two more arrays).
 */
/** A BlockIndex's arrays: what a worker needs to use an index built elsewhere (in SharedArrayBuffers, shared rather than copied). */
export interface BlockIndexParts {
  bits: Int32Array;
  bits2: Int32Array;
  head: Int32Array;
  next: Int32Array;
  copies: Int32Array;
}

/** The first filter's size limit: 2^22 bits (512 KB). */
const FIRST_FILTER_MAX_LOG2 = 22;

export class BlockIndex {
  readonly bits: Int32Array;
  readonly bits2: Int32Array;
  readonly bitsShift: number;
  readonly bitsShift2: number;
  readonly head: Int32Array;
  readonly headShift: number;
  readonly next: Int32Array;
  /**
   * The ring of blocks with identical sums: copies[k] is the next one (k
   * itself if none). The group's first block, the one in the chain, is the
   * only k with copies[k] >= k (see isFirstCopy).
   */
  readonly copies: Int32Array;

  readonly seqMatches: 1 | 2;

  /**
   * Build the index of `table`, in SharedArrayBuffers if `options.shared`
   * (see `parts`); or take `options.parts`, the parts of an index of the same
   * table built elsewhere.
   */
  constructor(
    readonly table: BlockTable,
    options: { shared?: boolean; parts?: BlockIndexParts } = {},
  ) {
    this.seqMatches = table.seqMatches ?? 1;
    const n = Math.max(1, table.blockCount);
    const log2n = Math.ceil(Math.log2(n));
    // The first filter is tested at every byte of every seed: at most 512 KB, so it stays in a
    // core's L2 cache (~1 ns a byte less than a 1 MB one here); the second, tested for the few
    // positions the first lets through, has about 16 bits per block.
    const bitsLog2 = Math.min(FIRST_FILTER_MAX_LOG2, Math.max(16, log2n + 5));
    const bits2Log2 = Math.min(26, Math.max(16, log2n + 4));
    const headLog2 = Math.min(28, Math.max(8, log2n));
    this.bitsShift = 32 - bitsLog2;
    this.bitsShift2 = 32 - bits2Log2;
    this.headShift = 32 - headLog2;
    const given = options.parts;
    if (given) {
      if (given.bits.length !== 1 << (bitsLog2 - 5) || given.bits2.length !== 1 << (bits2Log2 - 5) || given.head.length !== 1 << headLog2 || given.next.length !== n) throw new Error('internal: index parts of another table');
      ({ bits: this.bits, bits2: this.bits2, head: this.head, next: this.next, copies: this.copies } = given);
      return;
    }
    const int32s = (count: number) => new Int32Array(options.shared ? new SharedArrayBuffer(count * 4) : new ArrayBuffer(count * 4));
    this.bits = int32s(1 << (bitsLog2 - 5));
    this.bits2 = int32s(1 << (bits2Log2 - 5));
    this.head = int32s(1 << headLog2).fill(-1);
    this.next = int32s(n).fill(-1);
    this.copies = int32s(n);
    for (let i = 0; i < table.blockCount; i++) this.addSingle(i, table.weak[i]);
    if (this.seqMatches === 2) this.rekeyOnPairs();
  }

  /** The arrays, to rebuild this index in another thread (new BlockIndex(table, { parts })). */
  get parts(): BlockIndexParts {
    const { bits, bits2, head, next, copies } = this;
    return { bits, bits2, head, next, copies };
  }

  /** Block k is the first of its copies (the one in the single-sum chain). */
  isFirstCopy(k: number): boolean {
    return this.copies[k] >= k;
  }

  /** Rebuild the chain (and build the filters) on pairs of weak sums; the copies stay as grouped by content. */
  private rekeyOnPairs(): void {
    const table = this.table;
    this.head.fill(-1);
    this.next.fill(-1);
    for (let i = 0; i + 1 < table.blockCount; i++) {
      const key = BlockIndex.pairKey(table.weak[i], table.weak[i + 1]);
      this.markFilters(key);
      const hh = BlockIndex.headHash(key) >>> this.headShift;
      let j = this.head[hh];
      while (j >= 0 && !(sameSums(table, i, j) && sameSums(table, i + 1, j + 1))) j = this.next[j];
      if (j >= 0) continue; // the same pair is already in the chain
      this.next[i] = this.head[hh];
      this.head[hh] = i;
    }
  }

  private markFilters(key: number): void {
    const hb = BlockIndex.bitHash(key) >>> this.bitsShift;
    this.bits[hb >>> 5] |= 1 << (hb & 31);
    const hb2 = BlockIndex.bitHash2(key) >>> this.bitsShift2;
    this.bits2[hb2 >>> 5] |= 1 << (hb2 & 31);
  }

  /** Add block i to the single-sum chain (and, for seqMatches 1, to the filters). */
  private addSingle(i: number, w: number): void {
    const table = this.table;
    if (this.seqMatches === 1) this.markFilters(w);
    const hh = BlockIndex.headHash(w) >>> this.headShift;
    let j = this.head[hh];
    while (j >= 0 && !sameSums(table, i, j)) j = this.next[j];
    if (j >= 0) {
      // Same content as block j, already in the chain: into j's ring, right after j
      // (so copies[i] < i for every block but the first).
      this.copies[i] = this.copies[j];
      this.copies[j] = i;
    } else {
      this.next[i] = this.head[hh];
      this.head[hh] = i;
      this.copies[i] = i;
    }
  }

  /** The key of a pair of (masked) weak sums; scan-seed.ts's rollPairToCandidate writes it out. */
  static pairKey(first: number, second: number): number {
    return (Math.imul(first, 0x01000193) ^ second) >>> 0;
  }

  /**
   * Multiplicative hashes; two different multipliers keep the filters
   * independent. scan-seed.ts's rollToCandidate writes the first two out in
   * its hot loop: change them together.
   */
  static bitHash(weak: number): number {
    return Math.imul(weak, 0x9e3779b1) >>> 0;
  }
  static bitHash2(weak: number): number {
    return Math.imul(weak ^ (weak >>> 16), 0x2c1b3c6d) >>> 0;
  }
  static headHash(weak: number): number {
    return Math.imul(weak ^ (weak >>> 15), 0x85ebca6b) >>> 0;
  }

  /** Might some block have this weak sum (a pairKey with seqMatches 2)? (false means certainly not) */
  mayContain(weak: number): boolean {
    const hb = BlockIndex.bitHash(weak) >>> this.bitsShift;
    const hb2 = BlockIndex.bitHash2(weak) >>> this.bitsShift2;
    return (this.bits[hb >>> 5] & (1 << (hb & 31))) !== 0 && (this.bits2[hb2 >>> 5] & (1 << (hb2 & 31))) !== 0;
  }

  /** First block in the chain for this weak sum (then follow `next`); -1 when none. */
  firstCandidate(weak: number): number {
    return this.head[BlockIndex.headHash(weak) >>> this.headShift];
  }
}
