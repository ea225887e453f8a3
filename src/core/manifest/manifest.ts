import type { BlockTable } from '../block-table.ts';
import type { Sha256Chain } from '../sha256-chain.ts';

/** Format version this program writes and the newest it reads. */
export const MANIFEST_VERSION = 1;
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
  minStrongBytes: 4,
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
}

/**
 * Default block parameters for an image of `length` bytes (see
 * docs/manifest-format.md for the measurements behind them).
 *
 * 2048-byte blocks: ISO 9660 puts every file on a 2048-byte sector boundary,
 * so with 2048-byte blocks every file of an image starts on a block boundary
 * and a changed file costs exactly its own sectors, never a neighbour's partial
 * block (zsync's 4096 does). The full 4-byte weak sum keeps false candidates
 * rare. The strong prefix grows with the image so that the chance of any false
 * match over a whole scan stays near 2^-24:
 *   positions scanned (~length) x blocks x 2^-(weak bits) x 2^-(strong bits).
 * The weak sum is far from uniform on real data, so it is counted as 24 bits.
 */
export function chooseBlockParameters(length: number, blockSize = 2048): BlockParameters {
  const blocks = Math.max(1, Math.ceil(length / blockSize));
  const targetBits = 24; // aim: P(any false match in a whole scan) ~ 2^-24
  const effectiveWeakBits = 24;
  const strongBits = targetBits + Math.log2(Math.max(2, length)) + Math.log2(Math.max(2, blocks)) - effectiveWeakBits;
  const strongBytes = Math.min(
    MANIFEST_LIMITS.maxStrongBytes,
    Math.max(MANIFEST_LIMITS.minStrongBytes, Math.ceil(strongBits / 8)),
  );
  return { blockSize, weakBytes: 4, strongBytes };
}
