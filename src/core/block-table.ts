import type { StrongHashName } from './hashing.ts';

/**
 * What the engine knows of each block of the target image: a weak (rolling)
 * checksum to find candidates at any byte offset, and a strong hash prefix to
 * confirm them and to verify downloaded data. Our manifest and a .zsync file
 * both decode into this.
 */
export interface BlockTable {
  /** Length of the image in bytes; the last block may be partial (hashed zero-padded). */
  readonly length: number;
  /** A power of two. */
  readonly blockSize: number;
  readonly blockCount: number;
  /** How many trailing bytes of the 32-bit weak checksum are kept (1..4). */
  readonly weakBytes: number;
  /** How many leading bytes of the strong digest are kept. */
  readonly strongBytes: number;
  readonly strongHash: StrongHashName;
  /**
   * 2: a block is only taken when the block after it matches too (zsync's
   * seq_matches), which lets each block carry fewer hash bytes. 1 (default):
   * a block is taken on its own sums.
   */
  readonly seqMatches?: 1 | 2;
  /** Weak checksum per block, already masked to weakBytes. */
  readonly weak: Uint32Array;
  /** strongBytes bytes per block, block after block. */
  readonly strong: Uint8Array;
}

/** Byte length of block `index` within the image (only the last one can be short). */
export function blockLength(table: Pick<BlockTable, 'length' | 'blockSize'>, index: number): number {
  const start = index * table.blockSize;
  return Math.min(table.blockSize, table.length - start);
}

/** Does `digest` (a full strong digest) start with block `index`'s stored prefix? */
export function strongMatches(table: BlockTable, index: number, digest: Uint8Array): boolean {
  const n = table.strongBytes;
  const base = index * n;
  const stored = table.strong;
  for (let i = 0; i < n; i++) if (stored[base + i] !== digest[i]) return false;
  return true;
}

/** Do blocks i and j carry the same weak and strong sums (identical content, as far as we can tell)? */
export function sameSums(table: BlockTable, i: number, j: number): boolean {
  if (table.weak[i] !== table.weak[j]) return false;
  const n = table.strongBytes;
  const s = table.strong;
  for (let k = 0; k < n; k++) if (s[i * n + k] !== s[j * n + k]) return false;
  return true;
}

/** The same table with its sums in SharedArrayBuffers, for scan workers to share rather than copy. */
export function shareTable(table: BlockTable): BlockTable {
  if (table.weak.buffer instanceof SharedArrayBuffer && table.strong.buffer instanceof SharedArrayBuffer) return table;
  const weak = new Uint32Array(new SharedArrayBuffer(table.weak.length * 4));
  weak.set(table.weak);
  const strong = new Uint8Array(new SharedArrayBuffer(table.strong.length));
  strong.set(table.strong);
  return { ...table, weak, strong };
}
