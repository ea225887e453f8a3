import { BlockIndex } from './block-index.ts';
import { strongMatches } from './block-table.ts';
import { BlockSources, FROM_ZEROS } from './block-sources.ts';
import { ErrorCode, TesseraError, describeError } from './errors.ts';
import type { BlockHashFunction } from './hashing.ts';
import type { CancelSignal, SeedReader } from './io.ts';
import { weakChecksum, weakMask } from './rsum.ts';

export interface ScanOptions {
  signal?: CancelSignal;
  /** Called after each chunk with the bytes of this seed scanned so far. */
  onProgress?: (bytesScanned: number) => void;
  /** Bytes read per call (rounded to the block size). */
  readSize?: number;
}

export interface ScanResult {
  /** Target blocks this seed filled that no earlier seed had. */
  blocksFound: number;
  bytesRead: number;
}

/**
 * Find target blocks in one seed file. The weak checksum is tested at every
 * byte offset (data moves by arbitrary amounts between versions); a hit in
 * the index is confirmed with the strong hash, and every target block with
 * that content is recorded. After a confirmed match the window jumps a whole
 * block, as zsync does: consecutive blocks of an unchanged file then cost one
 * checksum each instead of one per byte. The seed's end reads as zeros up to a
 * whole block, so a loose file matches its zero-padded copy inside an image.
 */
export async function scanSeed(
  reader: SeedReader,
  seedNumber: number,
  index: BlockIndex,
  blockHash: BlockHashFunction,
  sources: BlockSources,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const table = index.table;
  const bs = table.blockSize;
  const shift = Math.log2(bs);
  const mask = weakMask(table.weakBytes);
  const size = reader.size;
  const readSize = Math.max(bs * 4, (options.readSize ?? 4 << 20) - ((options.readSize ?? 4 << 20) % bs));
  // Room for a read, the window carried over from the previous read, and the zero padding.
  const buf = new Uint8Array(readSize + 2 * bs);
  const { bits, bitsShift, head, headShift, next, duplicates } = index;
  const weakOf = table.weak;

  let found = 0;
  let bufStart = 0; // file offset of buf[0]
  let bufLen = 0; // real bytes in buf
  let eof = size === 0;
  let p = 0; // file offset of the window
  let a = 0;
  let b = 0;
  let needReset = true;

  /** Confirm a weak hit at window offset `at` (in buf) and record every block it fills. */
  const confirm = (at: number, w: number, position: number): boolean => {
    let digest: Uint8Array | null = null;
    let matched = false;
    for (let i = head[BlockIndex.headHash(w) >>> headShift]; i >= 0; i = next[i]) {
      if (weakOf[i] !== w) continue;
      digest ??= blockHash(buf.subarray(at, at + bs));
      if (!strongMatches(table, i, digest)) continue;
      matched = true;
      if (sources.has(i)) continue; // and so are its duplicates
      for (let j = i; j >= 0; j = duplicates[j]) if (sources.set(j, seedNumber, position)) found++;
    }
    return matched;
  };

  while (p < size) {
    if (options.signal?.aborted) throw new TesseraError(ErrorCode.Aborted, 'cancelled');
    let end = bufStart + bufLen + (eof ? bs : 0);
    if (p + bs > end) {
      // Refill: keep the bytes from p on, read behind them.
      const keep = Math.max(0, bufStart + bufLen - p);
      if (keep > 0) buf.copyWithin(0, p - bufStart, bufLen);
      bufStart = p;
      bufLen = keep;
      const want = Math.min(readSize + bs - bufLen, size - (bufStart + bufLen));
      let got = 0;
      try {
        while (got < want) {
          const n = await reader.readInto(bufStart + bufLen + got, buf.subarray(bufLen + got, bufLen + want));
          if (n <= 0) break;
          got += n;
        }
      } catch (error) {
        throw new TesseraError(ErrorCode.SeedRead, `${reader.name}: could not read at byte ${bufStart + bufLen}: ${describeError(error)}`, { seed: reader.name }, { cause: error });
      }
      bufLen += got;
      if (got < want) {
        throw new TesseraError(ErrorCode.SeedRead, `${reader.name}: the file became shorter while it was read; was it changed?`, { seed: reader.name });
      }
      if (bufStart + bufLen >= size) {
        eof = true;
        buf.fill(0, bufLen, bufLen + bs);
      }
      end = bufStart + bufLen + (eof ? bs : 0);
      options.onProgress?.(Math.min(size, bufStart + bufLen));
    }
    if (needReset) {
      const v = weakChecksum(buf, p - bufStart, bs);
      a = v >>> 16;
      b = v & 0xffff;
      needReset = false;
    }
    // The hot loop: one window per byte while the buffer holds the next byte to roll in.
    for (;;) {
      const w = (((a << 16) | b) & mask) >>> 0;
      const hb = Math.imul(w, 0x9e3779b1) >>> bitsShift;
      if ((bits[hb >>> 5] & (1 << (hb & 31))) !== 0 && confirm(p - bufStart, w, p)) {
        p += bs;
        needReset = true;
        break;
      }
      p++;
      if (p >= size || p + bs > end) {
        needReset = true;
        break;
      }
      const i = p - 1 - bufStart;
      const out = buf[i];
      a = (a - out + buf[i + bs]) & 0xffff;
      b = (b - (out << shift) + a) & 0xffff;
    }
    if (sources.complete) break;
  }
  options.onProgress?.(size);
  return { blocksFound: found, bytesRead: Math.min(size, bufStart + bufLen) };
}

/** Mark every all-zero target block as available without reading or fetching anything. */
export function findZeroBlocks(index: BlockIndex, blockHash: BlockHashFunction, sources: BlockSources): number {
  const table = index.table;
  const zeros = new Uint8Array(table.blockSize);
  const w = weakChecksum(zeros, 0, table.blockSize) & weakMask(table.weakBytes);
  if (!index.mayContain(w)) return 0;
  const digest = blockHash(zeros);
  let found = 0;
  for (let i = index.firstCandidate(w); i >= 0; i = index.next[i]) {
    if (table.weak[i] !== w || !strongMatches(table, i, digest)) continue;
    for (let j = i; j >= 0; j = index.duplicates[j]) if (sources.set(j, FROM_ZEROS, 0)) found++;
  }
  return found;
}
