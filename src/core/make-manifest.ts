import type { BlockTable } from './block-table.ts';
import { ErrorCode, TesseraError } from './errors.ts';
import { createBlockHash } from './hashing.ts';
import type { SeedReader } from './io.ts';
import { readFully } from './read-fully.ts';
import { MANIFEST_LIMITS, MANIFEST_VERSION, chooseBlockParameters, type Manifest } from './manifest/manifest.ts';
import { weakChecksum, weakMask } from './rsum.ts';
import { chainSegmentBytes, createChainRecorder } from './sha256-chain.ts';

export interface MakeManifestOptions {
  /** File name users will get; defaults to the reader's name without directories. */
  name?: string;
  /** Mirror URLs, absolute or relative to where the manifest will be published. */
  mirrors?: readonly string[];
  /** Default: chooseBlockParameters (2048 below 100 MB, 4096 up to 1 GiB, then wider: at most 2^18 blocks). */
  blockSize?: number;
  /** The sums' sizes and seqMatches instead of chooseBlockParameters' (tests; old formats). */
  sums?: { weakBytes: number; strongBytes: number; seqMatches: 1 | 2 };
  generator?: string;
  /** Bytes between SHA-256 checkpoints (default: chainSegmentBytes(length)). */
  segmentBytes?: number;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

const READ_SIZE = 4 << 20;

/**
 * Read an image once and describe it: per-block weak and strong sums, its
 * SHA-256, and the SHA-256 checkpoints that let clients verify it on every
 * core (sha256-chain.ts). The SHA-256 runs in WebAssembly, because only
 * there can its midstates be read.
 */
export async function makeManifest(image: SeedReader, options: MakeManifestOptions = {}): Promise<Manifest> {
  const length = image.size;
  if (length < 1 || length > MANIFEST_LIMITS.maxImageLength) {
    throw new TesseraError(ErrorCode.InvalidOption, `${image.name}: size ${length} bytes is not something Tessera can describe (1 byte to 4 TiB)`);
  }
  const blockSize = options.blockSize ?? chooseBlockParameters(length).blockSize;
  if (!Number.isInteger(blockSize) || blockSize < MANIFEST_LIMITS.minBlockSize || blockSize > MANIFEST_LIMITS.maxBlockSize || (blockSize & (blockSize - 1)) !== 0) {
    throw new TesseraError(ErrorCode.InvalidOption, `block size ${blockSize} must be a power of two from 512 to 1048576`);
  }
  const params = { ...chooseBlockParameters(length, blockSize), ...options.sums };
  const blockCount = Math.ceil(length / blockSize);
  // Every block's whole weak sum and whole strong digest; the manifest keeps a prefix of each.
  const fullWeak = new Uint32Array(blockCount);
  const digests = new Uint8Array(blockCount * 16);
  const blockHash = await createBlockHash('xxh128');
  const sha = await createChainRecorder(options.segmentBytes ?? chainSegmentBytes(length));
  const buffer = new Uint8Array(READ_SIZE - (READ_SIZE % blockSize));
  const padded = new Uint8Array(blockSize);

  let position = 0;
  let block = 0;
  while (position < length) {
    const want = Math.min(buffer.length, length - position);
    const got = await readFully(image, position, buffer.subarray(0, want));
    if (got !== want) {
      throw new TesseraError(ErrorCode.SeedRead, `${image.name}: the file became shorter while it was read (at byte ${position + got}); was it changed?`);
    }
    const chunk = buffer.subarray(0, got);
    sha.update(chunk);
    for (let start = 0; start < got; start += blockSize, block++) {
      fullWeak[block] = weakChecksum(chunk, start, blockSize);
      let data = chunk.subarray(start, start + blockSize);
      if (data.length < blockSize) {
        padded.fill(0);
        padded.set(data);
        data = padded;
      }
      digests.set(blockHash(data), block * 16);
    }
    position += got;
    options.onProgress?.(position, length);
  }

  // Two different blocks whose kept sums are equal would be taken for copies of each
  // other (BlockIndex lists them as duplicates), and one of them rebuilt wrong: with
  // short sums that can happen (~2^-14 for 6 bytes and 170,000 blocks), so keep one
  // more strong byte until no two different blocks share their sums.
  let strongBytes = params.strongBytes;
  const mask = weakMask(params.weakBytes);
  while (strongBytes < 16 && !options.sums && sharedSums(fullWeak, digests, mask, strongBytes)) strongBytes++;
  const weak = fullWeak.map((w) => w & mask);
  const strong = new Uint8Array(blockCount * strongBytes);
  for (let k = 0; k < blockCount; k++) strong.set(digests.subarray(k * 16, k * 16 + strongBytes), k * strongBytes);

  const { digest, chain } = sha.finish();
  const blocks: BlockTable = {
    length,
    blockSize,
    blockCount,
    weakBytes: params.weakBytes,
    strongBytes,
    strongHash: 'xxh128',
    seqMatches: params.seqMatches,
    weak,
    strong,
  };
  return {
    version: MANIFEST_VERSION,
    name: options.name ?? image.name.split(/[/\\]/).pop() ?? 'image',
    checksum: { algorithm: 'sha256', hex: digest },
    sha256Chain: chain,
    mirrors: [...(options.mirrors ?? [])],
    generator: options.generator ?? 'tessera',
    blocks,
  };
}

/**
 * Do two blocks with different content (different whole weak sum or digest)
 * have the same masked weak sum and first `strongBytes` digest bytes?
 */
export function sharedSums(fullWeak: Uint32Array, digests: Uint8Array, mask: number, strongBytes: number): boolean {
  const n = fullWeak.length;
  const bits = Math.min(28, Math.max(8, Math.ceil(Math.log2(n)) + 1));
  const head = new Int32Array(1 << bits).fill(-1);
  const next = new Int32Array(n);
  const prefixHash = (k: number) => {
    let h = Math.imul((fullWeak[k] & mask) ^ 0x9e3779b9, 0x85ebca6b);
    for (let i = 0; i < strongBytes; i++) h = Math.imul(h ^ digests[k * 16 + i], 0x01000193);
    return (h ^ (h >>> 15)) >>> (32 - bits);
  };
  const sameKept = (i: number, j: number) => {
    if ((fullWeak[i] & mask) !== (fullWeak[j] & mask)) return false;
    for (let b = 0; b < strongBytes; b++) if (digests[i * 16 + b] !== digests[j * 16 + b]) return false;
    return true;
  };
  const sameContent = (i: number, j: number) => {
    if (fullWeak[i] !== fullWeak[j]) return false;
    for (let b = 0; b < 16; b++) if (digests[i * 16 + b] !== digests[j * 16 + b]) return false;
    return true;
  };
  for (let k = 0; k < n; k++) {
    const h = prefixHash(k);
    let j = head[h];
    for (; j >= 0; j = next[j]) {
      if (!sameKept(j, k)) continue;
      if (!sameContent(j, k)) return true;
      break; // a copy of block j: nothing new in the chain
    }
    if (j >= 0) continue;
    next[k] = head[h];
    head[h] = k;
  }
  return false;
}
