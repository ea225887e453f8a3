import type { BlockTable } from '../block-table.ts';
import type { Sha256Chain } from '../sha256-chain.ts';

/**
 * Format version this program writes and the newest it reads. Version 1 (read
 * still): records of weak + strong sum per block, one block matches on its
 * own. Version 2: `seqMatches` in the header (2: a block is taken only with
 * the one after it, so the sums can be shorter), the weak sums of all blocks
 * then their strong sums.
 */
export const MANIFEST_VERSION = 2;
/** "TESSERA" then the version byte. */
export const MANIFEST_MAGIC = new Uint8Array([0x54, 0x45, 0x53, 0x53, 0x45, 0x52, 0x41]);
/** Conventional file name suffix. */
export const MANIFEST_SUFFIX = '.tessera';

/** What a manifest may claim before we refuse it (it is untrusted input). */
export const MANIFEST_LIMITS = {
  /** 4 TiB: larger than any disc image; far below 2^53. */
  maxImageLength: 2 ** 42,
  maxHeaderBytes: 1 << 20,
  minBlockSize: 512,
  maxBlockSize: 1 << 20,
  minWeakBytes: 2,
  maxWeakBytes: 4,
  /** 4 in version 1. */
  minStrongBytes: 3,
  maxStrongBytes: 16,
  maxMirrors: 256,
  maxUrlLength: 4096,
  maxNameLength: 255,
} as const;

/** Whole-image checksums a description can carry: ours use SHA-256; .zsync files SHA-1; jigdo templates MD5 or SHA-256. */
export type ChecksumAlgorithm = 'sha256' | 'sha1' | 'md5';

export interface ImageChecksum {
  readonly algorithm: ChecksumAlgorithm;
  /** Lowercase hex. */
  readonly hex: string;
}

/** "SHA-256" or "SHA-1", for messages. */
export function checksumName(algorithm: ChecksumAlgorithm): string {
  return algorithm === 'sha256' ? 'SHA-256' : algorithm === 'sha1' ? 'SHA-1' : 'MD5';
}

/**
 * A key naming the image (caches, kept partial work): its SHA-256 in hex, as
 * earlier versions used; other checksums are prefixed with their algorithm.
 */
export function imageKey(checksum: ImageChecksum): string {
  return checksum.algorithm === 'sha256' ? checksum.hex : `${checksum.algorithm}-${checksum.hex}`;
}

/** A decoded manifest: the image's identity, its block table and where to fetch it. */
export interface Manifest {
  readonly version: number;
  /** File name to suggest for the image (no directories). */
  readonly name: string;
  /** The whole image's checksum (SHA-256 in our manifests). */
  readonly checksum: ImageChecksum;
  /** SHA-256 checkpoints, so the image can be verified on several cores (our manifests since checkpoints were added). */
  readonly sha256Chain?: Sha256Chain;
  /** Mirror URLs as written: absolute, or relative to the manifest's own URL. */
  readonly mirrors: readonly string[];
  readonly generator: string;
  readonly blocks: BlockTable;
}

export interface BlockParameters {
  blockSize: number;
  weakBytes: number;
  strongBytes: number;
  seqMatches: 1 | 2;
}

/** Images from this size on get blocks of 4096 bytes or more by default (zsyncmake's rule); smaller ones 2048. */
export const LARGE_IMAGE_BYTES = 100_000_000;

/**
 * At most this many blocks by default: past 1 GiB the blocks widen (8192,
 * 16384 for 4 GiB, ...) so that the block table, the manifest and what
 * clients keep per block stop growing with the image.
 */
export const MAX_DEFAULT_BLOCKS = 2 ** 18;

/** The default block size for an image of `length` bytes (see chooseBlockParameters). */
export function defaultBlockSize(length: number): number {
  if (length < LARGE_IMAGE_BYTES) return 2048;
  let size = 4096;
  while (size < MANIFEST_LIMITS.maxBlockSize && Math.ceil(length / size) > MAX_DEFAULT_BLOCKS) size *= 2;
  return size;
}

/**
 * Default block parameters for an image of `length` bytes (see
 * docs/manifest-format.md for the measurements behind them).
 *
 * Block size: 2048 (an ISO 9660 sector: every file of an image starts on a
 * block) below 100 MB, 4096 from there, as zsyncmake chooses: the block table
 * is half as large, for about one more block fetched per changed file. Past
 * 1 GiB, twice as large each time the image would have more than
 * MAX_DEFAULT_BLOCKS blocks (as rsync widens its blocks with the file): a
 * bounded table, for a bit more fetched around each change.
 *
 * Sums: a block is taken only when the block after it matches too (seqMatches
 * 2, as zsync does), so a false match needs two blocks' sums to collide and
 * each block can carry fewer bytes. A scan tests about `length` positions
 * against `blocks` pairs, 2^need pairs with need = log2(length) + log2(blocks):
 * - weak bytes: enough that weak-sum pairs collide by chance at most ~2^16
 *   times in such a scan (each costs a strong hash): 2 bytes up to ~2^48 pairs;
 * - strong bytes: the strong sums alone keep the chance of a false match in a
 *   scan under 2^-8 even if the weak sums told nothing, and under 2^-24 with
 *   the weak sums counted at 8 bits less than their size per block (on real
 *   data they are far from uniform).
 * For a 700 MB image: 4096-byte blocks, 2 + 4 bytes per block; for 4 GiB: 16384-byte blocks, 3 + 4.
 */
export function chooseBlockParameters(length: number, blockSize = defaultBlockSize(length)): BlockParameters {
  const blocks = Math.max(1, Math.ceil(length / blockSize));
  const need = Math.log2(Math.max(2, length)) + Math.log2(Math.max(2, blocks));
  const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));
  const weakBytes = clamp(Math.ceil((need - 16) / 16), MANIFEST_LIMITS.minWeakBytes, MANIFEST_LIMITS.maxWeakBytes);
  const strongBytes = clamp(
    Math.max(Math.ceil((need + 8) / 16), Math.ceil((need + 24) / 16 - (weakBytes - 1))),
    MANIFEST_LIMITS.minStrongBytes,
    MANIFEST_LIMITS.maxStrongBytes,
  );
  return { blockSize, weakBytes, strongBytes, seqMatches: 2 };
}
