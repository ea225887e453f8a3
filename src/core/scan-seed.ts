import { BlockIndex } from './block-index.ts';
import { strongMatches } from './block-table.ts';
import { type BlockRecorder, type BlockSources, FROM_ZEROS } from './block-sources.ts';
import { ErrorCode, TesseraError, describeError } from './errors.ts';
import type { BlockHashFunction } from './hashing.ts';
import type { CancelSignal, SeedReader } from './io.ts';
import { readFully } from './read-fully.ts';
import { PairRoller } from './pair-roller.ts';
import { weakChecksum, weakMask } from './rsum.ts';

/** The (masked) weak sum of an all-zero block. */
const ZERO_WEAK = 0;

export interface ScanOptions {
  signal?: CancelSignal;
  /** Called after each chunk with the bytes of this seed scanned so far. */
  onProgress?: (bytesScanned: number) => void;
  /** Bytes read per call (rounded to the block size). */
  readSize?: number;
  /**
   * Test windows starting in [start, end) only (default: the whole seed), so
   * one large seed can be split between workers. Windows near `end` still read
   * up to seqMatches blocks past it.
   */
  start?: number;
  end?: number;
  /**
   * Called for each block this scan fills, with its content: a view into the
   * scan's buffer, which holds it until afterChunk is called (the buffer is
   * refilled only after that; copy what you keep longer). The image's last
   * block, if short, comes zero-padded to a whole block. Lets the page write
   * what it finds straight into the output while it is in memory.
   */
  onBlock?: (block: number, data: Uint8Array) => void;
  /** Awaited after each stretch of the buffer is scanned: lets onBlock's consumer hold the scan until it caught up. */
  afterChunk?: () => Promise<void>;
  /**
   * Buffers to scan with, kept by the caller and reused from one seed to the
   * next (a folder of small files would otherwise allocate and zero ~12 MB per file).
   */
  buffers?: ScanBuffers;
  /**
   * Jump over windows of blocks already known, as over any match: for what an
   * earlier run kept, whose known blocks sit where they belong (findKeptBlocks
   * found them there), so rolling through them would only cost time.
   */
  jumpOverKnown?: boolean;
}

/** The window's buffer and the two read-ahead buffers of a scan, reusable from one scan to the next. */
export class ScanBuffers {
  readonly readSize: number;
  readonly staging: [Uint8Array, Uint8Array];
  private plain: Uint8Array | undefined;
  private roller: PairRoller | null | undefined;
  constructor(
    readonly blockSize: number,
    requestedReadSize = 4 << 20,
  ) {
    this.readSize = Math.max(blockSize * 4, requestedReadSize - (requestedReadSize % blockSize));
    this.staging = [new Uint8Array(this.readSize), new Uint8Array(this.readSize)];
  }

  /** Bytes carried over from the previous read (< 2 blocks), one read, and a block of zero padding. */
  get windowBytes(): number {
    return this.readSize + 3 * this.blockSize;
  }

  /**
   * The window buffer for a scan with this index: with seqMatches 2, the
   * memory of a PairRoller (the WebAssembly loop) where WebAssembly runs.
   */
  prepare(index: BlockIndex): { window: Uint8Array; roller: PairRoller | null } {
    if (index.seqMatches === 2) {
      if (this.roller === undefined || (this.roller && !this.roller.fits(index.bits, index.bits2))) {
        this.roller = PairRoller.create(this.windowBytes, index.bits, index.bits2);
      }
      if (this.roller) {
        this.roller.load(index.bits, index.bits2);
        return { window: this.roller.window, roller: this.roller };
      }
    }
    this.plain ??= new Uint8Array(this.windowBytes);
    return { window: this.plain, roller: null };
  }
}

export interface ScanResult {
  /** Target blocks this seed filled that no earlier seed had. */
  blocksFound: number;
  bytesRead: number;
  /** Milliseconds the scan stood still waiting for a read (the rest of its time was matching). */
  readWaitMs: number;
  /** Weak-sum hits that were checked with the strong hash (matches included). */
  candidates: number;
}

/**
 * Find target blocks in one seed file. The weak checksum is tested at every
 * byte offset (data moves by arbitrary amounts between versions); a hit in
 * the index is confirmed with the strong hash, and every target block with
 * that content is recorded. After a confirmed match the window jumps a whole
 * block, as zsync does: consecutive blocks of an unchanged file then cost one
 * checksum each instead of one per byte. Blocks already known are not matched
 * again (zsync takes them out of its hash table): a window of known blocks is
 * no reason to jump, as other blocks may start inside it at another offset
 * (an image holding the same data twice, once off the block grid; on the
 * bench's 8 GiB synthetic pair, jumping over known blocks left 32-49 MB more
 * to download). Zero blocks are the exception: they are known from the start,
 * and runs of padding are still jumped. The seed's end reads as zeros up to a
 * whole block, so a loose file matches its zero-padded copy inside an image.
 * (With `jumpOverKnown`, known blocks are jumped over too.)
 */
export async function scanSeed(
  reader: SeedReader,
  seedNumber: number,
  index: BlockIndex,
  blockHash: BlockHashFunction,
  sources: BlockRecorder,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const bs = index.table.blockSize;
  const size = reader.size;
  const given = options.buffers;
  const buffers =
    given && given.blockSize === bs && (options.readSize === undefined || given.readSize === options.readSize - (options.readSize % bs))
      ? given
      : new ScanBuffers(bs, options.readSize);
  const readSize = buffers.readSize;
  const first = Math.max(0, Math.min(size, options.start ?? 0));
  const limit = Math.max(first, Math.min(size, options.end ?? size));
  const { window: buf, roller } = buffers.prepare(index);
  // Reads go into two staging buffers, one ahead: the next read runs while this one is scanned.
  const staging = buffers.staging;
  let stage = 0;
  let readPos = first; // file offset of the next read
  // A candidate spans seqMatches blocks; windows starting before `limit` read at most that far past it.
  const span = bs * index.seqMatches;
  const readEnd = Math.min(size, limit + span);
  // A run of matching blocks followed from before `limit` goes on up to seqMatches - 1
  // blocks past it: the next range cannot take a run's last block on its own.
  const followLimit = Math.min(size, limit + span - bs);
  let ahead: { position: number; data: Uint8Array; done: Promise<number> } | null = null;
  const readAhead = () => {
    if (readPos >= readEnd) {
      ahead = null;
      return;
    }
    const data = staging[(stage ^= 1)].subarray(0, Math.min(readSize, readEnd - readPos));
    const position = readPos;
    readPos += data.length;
    const done = readFully(reader, position, data);
    done.catch(() => {}); // awaited below; do not report it twice
    ahead = { position, data, done };
  };
  readAhead();

  const window = new WindowMatcher(index, blockHash, sources, seedNumber, buf, roller, options.onBlock, options.jumpOverKnown === true);
  window.position = first;
  let readWaitMs = 0;
  let bufStart = first; // file offset of buf[0]
  let bufLen = 0; // real bytes in buf
  let eof = first >= readEnd;

  while (window.position < limit || (window.continuing && window.position < followLimit)) {
    if (options.signal?.aborted) throw new TesseraError(ErrorCode.Aborted, 'cancelled');
    const p = window.position;
    const avail = bufStart + bufLen + (eof ? bs : 0);
    // More data is needed unless a whole candidate fits, or the block that continues a match does.
    if (p + span > avail && !(window.continuing && p + bs <= avail)) {
      const next = ahead as { position: number; data: Uint8Array; done: Promise<number> } | null;
      if (!next) break;
      let got: number;
      const waitStart = performance.now();
      try {
        got = await next.done;
        readWaitMs += performance.now() - waitStart;
      } catch (error) {
        throw new TesseraError(ErrorCode.SeedRead, `${reader.name}: could not read at byte ${next.position}: ${describeError(error)}`, { seed: reader.name }, { cause: error });
      }
      if (got < next.data.length) {
        throw new TesseraError(ErrorCode.SeedRead, `${reader.name}: the file became shorter while it was read; was it changed?`, { seed: reader.name });
      }
      // Keep the bytes from p on (they end where the new read starts), then append the read.
      const keep = Math.max(0, bufStart + bufLen - p);
      if (keep > 0) buf.copyWithin(0, p - bufStart, bufLen);
      buf.set(next.data, keep);
      bufStart = keep > 0 ? p : next.position;
      bufLen = keep + got;
      readAhead();
      if (bufStart + bufLen >= readEnd) {
        eof = readEnd === size; // past `limit` a block is enough: no padding needed there
        buf.fill(0, bufLen, bufLen + bs);
      }
      options.onProgress?.(Math.min(limit, bufStart + bufLen) - first);
      if (bufStart + bufLen < Math.min(readEnd, p + span) && !eof) continue;
    }
    window.scan(bufStart, bufStart + bufLen + (eof ? bs : 0), limit, followLimit);
    if (options.afterChunk) await options.afterChunk();
    if (sources.complete) break;
  }
  options.onProgress?.(limit - first);
  return { blocksFound: window.found, bytesRead: readPos - first, readWaitMs, candidates: window.candidates };
}

/**
 * The synchronous part of a scan: slides the window over what is in the
 * buffer. Kept out of the async function and with its state in locals, so the
 * per-byte loop compiles to tight machine code (it runs once per seed byte).
 */
class WindowMatcher {
  /** File offset of the window's first byte. */
  position = 0;
  found = 0;
  candidates = 0;
  /** The rolling sums a and b of the window at `position` (and, for pairs, of the window a block later). */
  private readonly sums: Int32Array;
  private needReset = true;
  private readonly shift: number;
  private readonly mask: number;
  private readonly bs: number;
  /** The target block expected at `position` because the block before it matched just before it; -1 if none. */
  private expected = -1;
  /** The digest of a pair's first block, kept while the second is hashed. */
  private readonly firstDigest = new Uint8Array(16);

  constructor(
    private readonly index: BlockIndex,
    private readonly blockHash: BlockHashFunction,
    private readonly sources: BlockRecorder,
    private readonly seedNumber: number,
    private readonly buf: Uint8Array,
    /** The pair loop in WebAssembly, on `buf` (its memory); null: the JavaScript loop. */
    private readonly roller: PairRoller | null,
    private readonly onBlock?: (block: number, data: Uint8Array) => void,
    /** ScanOptions.jumpOverKnown. */
    private readonly jumpOverKnown = false,
  ) {
    this.sums = roller ? roller.sums : new Int32Array(4);
    this.bs = index.table.blockSize;
    this.shift = Math.log2(this.bs);
    this.mask = weakMask(index.table.weakBytes);
  }

  /** A match is being followed: the next block may be taken at `position` with one block of data. */
  get continuing(): boolean {
    return this.expected >= 0;
  }

  /**
   * Advance while a candidate [p, p + seqMatches * bs) lies within buf's bytes
   * up to file offset `end` (exclusive), stopping when p reaches `limit`. On a
   * confirmed match the window jumps past the matched blocks; a run of
   * matching blocks is followed up to `followLimit` (>= limit).
   */
  scan(bufStart: number, end: number, limit: number, followLimit = limit): void {
    const buf = this.buf;
    const bs = this.bs;
    const sums = this.sums;
    const pairs = this.index.seqMatches === 2;
    const span = pairs ? 2 * bs : bs;
    let p = this.position;
    for (;;) {
      if (this.expected >= 0) {
        p = this.follow(bufStart, p, end, followLimit);
        if (this.expected >= 0 || p >= limit || p + span > end) break; // stopped at the buffer's end, or done
        this.needReset = true;
      }
      if (this.needReset) this.resetSums(p - bufStart);
      p = this.roller
        ? bufStart + this.roller.roll(p - bufStart, Math.min(limit, end - span + 1) - bufStart, bs, this.shift, this.mask, this.index.bitsShift, this.index.bitsShift2)
        : pairs
        ? rollPairToCandidate(buf, bufStart, p, end, limit, bs, this.shift, this.mask, this.index.bits, this.index.bits2, this.index.bitsShift, this.index.bitsShift2, sums)
        : rollToCandidate(buf, bufStart, p, end, limit, bs, this.shift, this.mask, this.index.bits, this.index.bits2, this.index.bitsShift, this.index.bitsShift2, sums);
      if (p >= limit || p + span > end) break;
      const w = (((sums[0] << 16) | sums[1]) & this.mask) >>> 0;
      const t = pairs ? this.confirmPair(p - bufStart, w, (((sums[2] << 16) | sums[3]) & this.mask) >>> 0, p) : this.confirm(p - bufStart, w, p);
      if (t >= 0) {
        p += pairs ? 2 * bs : bs;
        this.expected = t + 1 < this.index.table.blockCount ? t + 1 : -1;
        this.needReset = true;
        if (p >= limit) break;
        continue;
      }
      // Not a match after all: move on one byte.
      p++;
      if (p >= limit || p + span > end) break;
      this.rollOne(p - 1 - bufStart, pairs);
    }
    // Stopped at the buffer's end: the next call recomputes the sums after the refill.
    this.position = p;
    this.needReset = true;
  }

  /**
   * Unchanged data runs on: while the window holds the expected next target
   * block, take it on its own sums (no lookup). Returns the new position;
   * `expected` stays set only if the buffer ended before the check could run.
   */
  private follow(bufStart: number, p: number, end: number, limit: number): number {
    const { bs, index } = this;
    const table = index.table;
    // Short strong sums (a .zsync's 3 bytes): check the weak one too, as zsync does.
    // From 4 bytes on, a wrong block passing for the expected one is a 2^-32 chance per run's end.
    const checkWeak = index.seqMatches === 2 && table.strongBytes < 4;
    while (this.expected >= 0) {
      if (p >= limit) {
        this.expected = -1;
        break;
      }
      if (p + bs > end) break; // keep `expected` for the next buffer
      const t = this.expected;
      // A known block is not followed (nor jumped over): others may start inside it (see scanSeed).
      if (table.weak[t] !== ZERO_WEAK && this.foundAlready(t)) {
        this.expected = -1;
        break;
      }
      const at = p - bufStart;
      if (checkWeak && (weakChecksum(this.buf, at, bs) & this.mask) >>> 0 !== table.weak[t]) {
        this.expected = -1;
        break;
      }
      if (!strongMatches(table, t, this.blockHash(this.buf.subarray(at, at + bs)))) {
        this.expected = -1;
        break;
      }
      this.record(t, p, at);
      p += bs;
      this.expected = t + 1 < table.blockCount ? t + 1 : -1;
    }
    return p;
  }

  /** Roll the window(s) one byte forward; `i` is the buffer offset of the byte leaving the first window. */
  private rollOne(i: number, pairs: boolean): void {
    const { buf, bs, shift, sums } = this;
    const out = buf[i];
    const mid = buf[i + bs];
    sums[0] = (sums[0] - out + mid) & 0xffff;
    sums[1] = (sums[1] - (out << shift) + sums[0]) & 0xffff;
    if (pairs) {
      sums[2] = (sums[2] - mid + buf[i + 2 * bs]) & 0xffff;
      sums[3] = (sums[3] - (mid << shift) + sums[2]) & 0xffff;
    }
  }

  private resetSums(at: number): void {
    const bs = this.bs;
    const v = weakChecksum(this.buf, at, bs);
    this.sums[0] = v >>> 16;
    this.sums[1] = v & 0xffff;
    if (this.index.seqMatches === 2) {
      const v2 = weakChecksum(this.buf, at + bs, bs);
      this.sums[2] = v2 >>> 16;
      this.sums[3] = v2 & 0xffff;
    }
    this.needReset = false;
  }

  /** Block k was found already: no reason to stop or jump here, the window rolls on through it (see scanSeed). */
  private foundAlready(k: number): boolean {
    return !this.jumpOverKnown && this.sources.has(k);
  }

  /**
   * Confirm a weak hit at buffer offset `at` with the strong hash and record
   * every block it fills. Returns the (first) target block it matched, or -1.
   */
  private confirm(at: number, w: number, position: number): number {
    const { index } = this;
    const table = index.table;
    let digest: Uint8Array | null = null;
    let matched = -1;
    const padding = w === ZERO_WEAK;
    for (let i = index.head[BlockIndex.headHash(w) >>> index.headShift]; i >= 0; i = index.next[i]) {
      if (table.weak[i] !== w) continue;
      if (!padding && this.foundAlready(i)) continue;
      if (!digest) {
        digest = this.blockHash(this.buf.subarray(at, at + table.blockSize));
        this.candidates++;
      }
      if (!strongMatches(table, i, digest)) continue;
      if (matched < 0) matched = i;
      this.record(i, position, at);
    }
    return matched;
  }

  /**
   * Confirm a hit on a pair of weak sums (w1 at `at`, w2 a block later) with
   * both blocks' strong hashes, and record them. Returns the second block of
   * the (first) pair that matched, or -1.
   */
  private confirmPair(at: number, w1: number, w2: number, position: number): number {
    const { index, bs } = this;
    const table = index.table;
    let d1: Uint8Array | null = null;
    let d2: Uint8Array | null = null;
    let matched = -1;
    const padding = w1 === ZERO_WEAK && w2 === ZERO_WEAK;
    for (let i = index.head[BlockIndex.headHash(BlockIndex.pairKey(w1, w2)) >>> index.headShift]; i >= 0; i = index.next[i]) {
      if (table.weak[i] !== w1 || table.weak[i + 1] !== w2) continue;
      if (!padding && this.foundAlready(i) && this.foundAlready(i + 1)) continue;
      if (!d1) {
        // Kept while the second block is hashed: a copy (the hash's array is its own buffer).
        d1 = this.firstDigest;
        d1.set(this.blockHash(this.buf.subarray(at, at + bs)).subarray(0, d1.length));
        this.candidates++;
      }
      if (!strongMatches(table, i, d1)) continue;
      d2 ??= this.blockHash(this.buf.subarray(at + bs, at + 2 * bs));
      if (!strongMatches(table, i + 1, d2)) continue;
      if (matched < 0) matched = i + 1;
      this.record(i, position, at);
      this.record(i + 1, position + bs, at + bs);
    }
    return matched;
  }

  /** Block k's content is at `position` of this seed (`at` in the buffer): record it for k and every identical block. */
  private record(k: number, position: number, at: number): void {
    const { index, sources } = this;
    if (sources.has(k)) return; // identical blocks are always filled together
    const copies = index.copies;
    let j = k;
    do {
      if (sources.set(j, this.seedNumber, position)) {
        this.found++;
        this.onBlock?.(j, this.buf.subarray(at, at + this.bs));
      }
      j = copies[j];
    } while (j !== k);
  }
}

/**
 * The per-byte loop, as a plain function of typed arrays and numbers (V8
 * compiles this shape best; as a method with a call inside, it ran 1.5x
 * slower in Chromium): roll the window from p until both bit filters accept
 * its weak sum, or until it no longer fits (p + bs > end) or reaches `limit`.
 * `sums` holds a and b at p on entry and on return; returns the new p.
 * The two filter hashes are BlockIndex.bitHash and bitHash2, written out
 * here: they must stay the same as there.
 */
function rollToCandidate(
  buf: Uint8Array,
  bufStart: number,
  p: number,
  end: number,
  limit: number,
  bs: number,
  shift: number,
  mask: number,
  bits: Int32Array,
  bits2: Int32Array,
  bitsShift: number,
  bitsShift2: number,
  sums: Int32Array,
): number {
  let a = sums[0];
  let b = sums[1];
  for (;;) {
    const w = ((a << 16) | b) & mask;
    const hb = Math.imul(w, 0x9e3779b1) >>> bitsShift;
    if ((bits[hb >>> 5] & (1 << (hb & 31))) !== 0) {
      const hb2 = Math.imul(w ^ (w >>> 16), 0x2c1b3c6d) >>> bitsShift2;
      if ((bits2[hb2 >>> 5] & (1 << (hb2 & 31))) !== 0) break;
    }
    p++;
    if (p >= limit || p + bs > end) break;
    const i = p - 1 - bufStart;
    const out = buf[i];
    a = (a - out + buf[i + bs]) & 0xffff;
    b = (b - (out << shift) + a) & 0xffff;
  }
  sums[0] = a;
  sums[1] = b;
  return p;
}

/**
 * rollToCandidate for seqMatches 2: rolls two windows, [p, p + bs) in sums[0..1]
 * and [p + bs, p + 2 bs) in sums[2..3], until the filters accept the pair of
 * their weak sums (BlockIndex.pairKey, written out here), or until the pair no
 * longer fits (p + 2 bs > end) or p reaches `limit`.
 */
function rollPairToCandidate(
  buf: Uint8Array,
  bufStart: number,
  p: number,
  end: number,
  limit: number,
  bs: number,
  shift: number,
  mask: number,
  bits: Int32Array,
  bits2: Int32Array,
  bitsShift: number,
  bitsShift2: number,
  sums: Int32Array,
): number {
  let a = sums[0];
  let b = sums[1];
  let a2 = sums[2];
  let b2 = sums[3];
  const span = 2 * bs;
  // On buffer indexes: i is p - bufStart; the pair at i is tested while p < limit and p + span <= end.
  let i = p - bufStart;
  const stop = Math.min(limit, end - span + 1) - bufStart;
  for (;;) {
    // The key as a signed 32-bit value (the same bits as pairKey's): no conversions in this loop.
    const key = Math.imul(((a << 16) | b) & mask, 0x01000193) ^ (((a2 << 16) | b2) & mask);
    const hb = Math.imul(key, 0x9e3779b1) >>> bitsShift;
    if ((bits[hb >>> 5] & (1 << (hb & 31))) !== 0) {
      const hb2 = Math.imul(key ^ (key >>> 16), 0x2c1b3c6d) >>> bitsShift2;
      if ((bits2[hb2 >>> 5] & (1 << (hb2 & 31))) !== 0) break;
    }
    if (++i >= stop) break;
    const out = buf[i - 1];
    const mid = buf[i - 1 + bs];
    a = (a - out + mid) & 0xffff;
    b = (b - (out << shift) + a) & 0xffff;
    a2 = (a2 - mid + buf[i - 1 + span]) & 0xffff;
    b2 = (b2 - (mid << shift) + a2) & 0xffff;
  }
  sums[0] = a;
  sums[1] = b;
  sums[2] = a2;
  sums[3] = b2;
  return i + bufStart;
}

/** Mark every all-zero target block as available without reading or fetching anything. */
export function findZeroBlocks(index: BlockIndex, blockHash: BlockHashFunction, sources: BlockRecorder): number {
  const table = index.table;
  const zeros = new Uint8Array(table.blockSize);
  const w = weakChecksum(zeros, 0, table.blockSize) & weakMask(table.weakBytes);
  if (index.seqMatches === 1 && !index.mayContain(w)) return 0;
  const digest = blockHash(zeros);
  let found = 0;
  if (index.seqMatches === 2) {
    // The chain is keyed on pairs: look at every block (once per image).
    for (let i = 0; i < table.blockCount; i++) {
      if (table.weak[i] === w && strongMatches(table, i, digest) && sources.set(i, FROM_ZEROS, 0)) found++;
    }
    return found;
  }
  for (let i = index.firstCandidate(w); i >= 0; i = index.next[i]) {
    if (table.weak[i] !== w || !strongMatches(table, i, digest)) continue;
    let j = i;
    do {
      if (sources.set(j, FROM_ZEROS, 0)) found++;
      j = index.copies[j];
    } while (j !== i);
  }
  return found;
}

/**
 * What an earlier, interrupted run of this download kept (SeedReader.leftover)
 * holds verified blocks of the image only, each at a whole-block offset of the
 * file. There every whole block is looked up on its own sums, so that with
 * seqMatches 2 a block kept alone (a range cut after one block) is not fetched
 * again: the rolling scan takes a block only with the one after it. Blocks are
 * recorded into `sources` as by scanSeed. Returns the blocks found.
 */
export async function findKeptBlocks(
  reader: SeedReader,
  seedNumber: number,
  index: BlockIndex,
  blockHash: BlockHashFunction,
  sources: BlockRecorder,
  signal?: CancelSignal,
): Promise<number> {
  const table = index.table;
  const bs = table.blockSize;
  const mask = weakMask(table.weakBytes);
  // A chain on each block's own weak sum (the index's is on pairs), built for this seed only.
  const n = table.blockCount;
  const bits = Math.min(28, Math.max(8, Math.ceil(Math.log2(Math.max(2, n)))));
  const head = new Int32Array(1 << bits).fill(-1);
  const next = new Int32Array(n);
  const slot = (w: number) => BlockIndex.headHash(w) >>> (32 - bits);
  for (let k = n - 1; k >= 0; k--) {
    if (!index.isFirstCopy(k)) continue; // copies are filled with the first of them
    const h = slot(table.weak[k]);
    next[k] = head[h];
    head[h] = k;
  }
  const buffer = new Uint8Array(Math.max(bs, (1 << 20) - ((1 << 20) % bs)));
  let found = 0;
  for (let position = 0; position < reader.size; position += buffer.length) {
    if (signal?.aborted) throw new TesseraError(ErrorCode.Aborted, 'cancelled');
    let got: number;
    try {
      got = await readFully(reader, position, buffer);
    } catch (error) {
      throw new TesseraError(ErrorCode.SeedRead, `${reader.name}: could not read at byte ${position}: ${describeError(error)}`, { seed: reader.name }, { cause: error });
    }
    buffer.fill(0, got); // the end of the file reads as zeros up to a whole block, as in scanSeed
    for (let at = 0; at < got; at += bs) {
      const w = (weakChecksum(buffer, at, bs) & mask) >>> 0;
      let digest: Uint8Array | null = null;
      for (let k = head[slot(w)]; k >= 0; k = next[k]) {
        if (table.weak[k] !== w || sources.has(k)) continue;
        digest ??= blockHash(buffer.subarray(at, at + bs));
        if (!strongMatches(table, k, digest)) continue;
        let j = k;
        do {
          if (sources.set(j, seedNumber, position + at)) found++;
          j = index.copies[j];
        } while (j !== k);
        break;
      }
    }
    if (got < buffer.length) break;
  }
  return found;
}
