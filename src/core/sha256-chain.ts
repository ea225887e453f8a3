/**
 * SHA-256 checkpoints: the hash's internal state (its "midstate") after every
 * `segmentBytes` bytes of the image, published in the manifest.
 *
 * With them, each segment can be hashed on its own, on any core, in any
 * order: start from the checkpoint before it, hash the segment, and the state
 * must equal the checkpoint after it. When every segment checks out, the
 * states chain from SHA-256's initial value to the last one, so the digest
 * finished from the last checkpoint *is* the SHA-256 of the whole image: as
 * strong as hashing it in one pass, whatever the manifest claims (a wrong
 * checkpoint simply fails its segment). WebAssembly SHA-256 runs ~400 MB/s
 * per core, so on a 4 GB image this turns one core's 10 s into a share of
 * every core's.
 *
 * hash-wasm keeps SHA-256's state in a C struct (its sha256.c: the 64-byte
 * message buffer, a u64 byte count, the eight u32 state words) which save()
 * and load() copy after a 4-byte tag of the hash-wasm build. A checkpoint is
 * stored as the eight state words big-endian (as FIPS 180-4 writes H0..H7),
 * independent of that layout; `test/core/sha256-chain.test.ts` checks the
 * layout against a one-pass hash, so a hash-wasm update that changed it fails
 * there, not in a user's download.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { bytesToHex, hexToBytes } from './hashing.ts';

export interface Sha256Chain {
  /** Bytes per segment: a power of two, at least MIN_SEGMENT_BYTES. */
  readonly segmentBytes: number;
  /** states[i]: the midstate after (i + 1) * segmentBytes bytes, 64 hex digits; one per whole segment before the last. */
  readonly states: readonly string[];
}

/** 16 MiB: the page hashes in 16 MiB batches, which must not straddle segments. */
export const MIN_SEGMENT_BYTES = 1 << 24;
/** At most this many checkpoints per image (4 TiB images get 1 GiB segments): the manifest header stays small. */
export const MAX_CHAIN_STATES = 4096;

/**
 * The segment size `tessera make` uses: 16 MiB (the smallest), larger for
 * images over 64 GiB. The page hashes segments in parallel and each one
 * only once its bytes are final: the shorter they are, the less is left to
 * hash after the last download (on the Debian pair, from Start to the
 * result 1.34 s against 1.38 s with 32 MiB, 8 runs each; 32 bytes of
 * manifest per checkpoint, 1.3 KB more for that 686 MB image).
 */
export function chainSegmentBytes(length: number): number {
  let s = MIN_SEGMENT_BYTES;
  while (Math.ceil(length / s) - 1 > MAX_CHAIN_STATES) s *= 2;
  return s;
}

/** Number of segments of an image (the last may be short). */
export const chainSegments = (length: number, segmentBytes: number) => Math.max(1, Math.ceil(length / segmentBytes));

// hash-wasm's saved state: a 4-byte build tag, then struct sha256_ctx.
const LENGTH_AT = 4 + 64;
const STATE_AT = LENGTH_AT + 8;

function readState(saved: Uint8Array): string {
  const view = new DataView(saved.buffer, saved.byteOffset, saved.byteLength);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, view.getUint32(STATE_AT + i * 4, true), false);
  return bytesToHex(out);
}

/**
 * One SHA-256 that can start from a checkpoint: `begin(offset, state)` with
 * offset a multiple of 64 and the state after that many bytes (null at 0).
 * One per worker; reused for every segment it hashes.
 */
export class SegmentHasher {
  private constructor(
    private readonly hasher: IHasher,
    /** A saved fresh state: the template a checkpoint is written into. */
    private readonly fresh: Uint8Array,
  ) {}

  static async create(): Promise<SegmentHasher> {
    const hasher = await createSHA256();
    hasher.init();
    return new SegmentHasher(hasher, hasher.save());
  }

  begin(offset: number, state: string | null): void {
    if (offset % 64 !== 0) throw new Error(`internal: a SHA-256 segment must start at a multiple of 64, not ${offset}`);
    if (state === null) {
      if (offset !== 0) throw new Error('internal: a segment past the start needs its checkpoint');
      this.hasher.init();
      return;
    }
    const saved = this.fresh.slice();
    const view = new DataView(saved.buffer);
    view.setBigUint64(LENGTH_AT, BigInt(offset), true);
    const words = hexToBytes(state);
    const wordsView = new DataView(words.buffer);
    for (let i = 0; i < 8; i++) view.setUint32(STATE_AT + i * 4, wordsView.getUint32(i * 4, false), true);
    this.hasher.load(saved);
  }

  update(data: Uint8Array): void {
    this.hasher.update(data);
  }

  /** The state now (valid when the bytes hashed since begin() are a multiple of 64). */
  midstate(): string {
    return readState(this.hasher.save());
  }

  /** The finished digest (hex) of everything from byte 0, through the checkpoint. */
  digest(): string {
    return this.hasher.digest('hex');
  }
}

/**
 * Hashes a whole image in order and records its checkpoints on the way
 * (`tessera make`): the digest is the image's SHA-256.
 */
export async function createChainRecorder(segmentBytes: number): Promise<{ update(data: Uint8Array): void; finish(): { digest: string; chain: Sha256Chain } }> {
  const segment = await SegmentHasher.create();
  segment.begin(0, null);
  const states: string[] = [];
  let inSegment = 0;
  return {
    update(data) {
      let done = 0;
      while (done < data.length) {
        if (inSegment === segmentBytes) {
          states.push(segment.midstate());
          inSegment = 0;
        }
        const n = Math.min(data.length - done, segmentBytes - inSegment);
        segment.update(data.subarray(done, done + n));
        inSegment += n;
        done += n;
      }
    },
    // A segment that ends exactly at the end of the image is the last one: no checkpoint after it.
    finish: () => ({ digest: segment.digest(), chain: { segmentBytes, states } }),
  };
}

/** Is `chain` well formed for an image of `length` bytes? (The manifest is untrusted.) */
export function chainProblem(chain: unknown, length: number): string | null {
  if (typeof chain !== 'object' || chain === null) return 'is not an object';
  const { segmentBytes, states } = chain as { segmentBytes?: unknown; states?: unknown };
  if (typeof segmentBytes !== 'number' || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > 2 ** 40 || !Number.isInteger(Math.log2(segmentBytes))) {
    return `has a segment size (${String(segmentBytes)}) that is not a power of two from 16 MiB to 1 TiB`;
  }
  const want = chainSegments(length, segmentBytes) - 1;
  if (!Array.isArray(states) || states.length !== want) return `should hold ${want} checkpoints for ${length} bytes`;
  if (!states.every((s) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s))) return 'holds a checkpoint that is not 64 hex digits';
  return null;
}
