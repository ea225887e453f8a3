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
  blockSize?: number;
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
  const blockSize = options.blockSize ?? 2048;
  if (!Number.isInteger(blockSize) || blockSize < MANIFEST_LIMITS.minBlockSize || blockSize > MANIFEST_LIMITS.maxBlockSize || (blockSize & (blockSize - 1)) !== 0) {
    throw new TesseraError(ErrorCode.InvalidOption, `block size ${blockSize} must be a power of two from 512 to 1048576`);
  }
  const params = chooseBlockParameters(length, blockSize);
  const blockCount = Math.ceil(length / blockSize);
  const weak = new Uint32Array(blockCount);
  const strong = new Uint8Array(blockCount * params.strongBytes);
  const mask = weakMask(params.weakBytes);
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
      weak[block] = weakChecksum(chunk, start, blockSize) & mask;
      let data = chunk.subarray(start, start + blockSize);
      if (data.length < blockSize) {
        padded.fill(0);
        padded.set(data);
        data = padded;
      }
      strong.set(blockHash(data).subarray(0, params.strongBytes), block * params.strongBytes);
    }
    position += got;
    options.onProgress?.(position, length);
  }

  const { digest, chain } = sha.finish();
  const blocks: BlockTable = { length, blockSize, blockCount, weakBytes: params.weakBytes, strongBytes: params.strongBytes, strongHash: 'xxh128', weak, strong };
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
