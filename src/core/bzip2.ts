/**
 * A bzip2 decompressor (what jigdo-file --bzip2 puts in template parts):
 * Huffman-coded MTF/RLE2 symbols per block, inverse Burrows-Wheeler, then the
 * initial run-length encoding undone; each block's CRC is checked. Randomised
 * blocks (only written by bzip2 before 0.9.5) are refused. Throws an Error
 * saying what is wrong on damaged input.
 */
export function decompressBzip2(data: Uint8Array, maxLength = Number.POSITIVE_INFINITY): Uint8Array {
  const bits = new BitReader(data);
  let out = new Uint8Array(Math.min(maxLength, 1 << 16));
  let outLength = 0;
  const push = (byte: number) => {
    if (outLength === out.length) {
      // A few bytes of bzip2 can expand to gigabytes: stop at what the caller expects.
      if (outLength >= maxLength) throw new Error(`bzip2 data holds more than the ${maxLength} bytes expected`);
      const bigger = new Uint8Array(Math.min(out.length * 2, maxLength));
      bigger.set(out);
      out = bigger;
    }
    out[outLength++] = byte;
  };
  let streams = 0;
  // Concatenated streams are one file (as bunzip2 treats them).
  while (bits.bytesLeft() >= 4 || streams === 0) {
    if (bits.bits(8) !== 0x42 || bits.bits(8) !== 0x5a || bits.bits(8) !== 0x68) throw new Error('not bzip2 data (no "BZh" header)');
    const level = bits.bits(8) - 0x30;
    if (level < 1 || level > 9) throw new Error(`bad bzip2 block size ${level}`);
    const tt = new Uint32Array(level * 100_000);
    let streamCrc = 0;
    for (;;) {
      const hi = bits.bits(24);
      const lo = bits.bits(24);
      if (hi === 0x177245 && lo === 0x385090) {
        const stored = bits.bits(32) >>> 0;
        if (stored !== streamCrc >>> 0) throw new Error('bzip2 stream checksum mismatch');
        bits.alignToByte();
        break;
      }
      if (hi !== 0x314159 || lo !== 0x265359) throw new Error('bad bzip2 block header');
      const blockCrc = bits.bits(32) >>> 0;
      const crc = decodeBlock(bits, tt, level * 100_000, push);
      if (crc !== blockCrc) throw new Error('bzip2 block checksum mismatch: the data is damaged');
      streamCrc = (((streamCrc << 1) | (streamCrc >>> 31)) ^ blockCrc) >>> 0;
    }
    streams++;
    if (bits.bytesLeft() < 4) break;
  }
  return out.subarray(0, outLength);
}

class BitReader {
  private pos = 0;
  private bitBuf = 0;
  private bitCount = 0;
  constructor(private readonly data: Uint8Array) {}

  bits(n: number): number {
    let v = 0;
    while (n > 0) {
      if (this.bitCount === 0) {
        if (this.pos >= this.data.length) throw new Error('bzip2 data ends too early');
        this.bitBuf = this.data[this.pos++];
        this.bitCount = 8;
      }
      const take = Math.min(n, this.bitCount);
      const shift = this.bitCount - take;
      v = v * (1 << take) + ((this.bitBuf >>> shift) & ((1 << take) - 1));
      this.bitCount -= take;
      n -= take;
    }
    return v;
  }

  bit(): number {
    return this.bits(1);
  }

  alignToByte(): void {
    this.bitCount = 0;
  }

  bytesLeft(): number {
    return this.data.length - this.pos;
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Decode one block into `push`; returns the CRC of the bytes it produced. */
function decodeBlock(bits: BitReader, tt: Uint32Array, maxBlock: number, push: (byte: number) => void): number {
  if (bits.bit()) throw new Error('randomised bzip2 blocks (bzip2 before 0.9.5) are not supported');
  const origPtr = bits.bits(24);
  // The symbols in use.
  const used = bits.bits(16);
  const seqToUnseq: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (used & (0x8000 >>> i)) {
      const sub = bits.bits(16);
      for (let j = 0; j < 16; j++) if (sub & (0x8000 >>> j)) seqToUnseq.push(i * 16 + j);
    }
  }
  if (seqToUnseq.length === 0) throw new Error('bzip2 block uses no symbols');
  const alphaSize = seqToUnseq.length + 2;
  const groups = bits.bits(3);
  const selectorsCount = bits.bits(15);
  if (groups < 2 || groups > 6 || selectorsCount < 1) throw new Error('bad bzip2 Huffman table count');
  // Selectors, MTF-coded in unary.
  const mtfGroups = Array.from({ length: groups }, (_, i) => i);
  const selectors = new Uint8Array(selectorsCount);
  for (let i = 0; i < selectorsCount; i++) {
    let j = 0;
    while (bits.bit()) if (++j >= groups) throw new Error('bad bzip2 selector');
    const v = mtfGroups[j];
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(v);
    selectors[i] = v;
  }
  // Huffman code lengths (delta coded), then canonical decoding tables.
  const tables: { limit: Int32Array; base: Int32Array; perm: Int32Array; minLen: number; maxLen: number }[] = [];
  for (let g = 0; g < groups; g++) {
    const lengths = new Uint8Array(alphaSize);
    let len = bits.bits(5);
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (len < 1 || len > 20) throw new Error('bad bzip2 code length');
        if (!bits.bit()) break;
        len += bits.bit() ? -1 : 1;
      }
      lengths[s] = len;
    }
    let minLen = 32;
    let maxLen = 0;
    for (const l of lengths) {
      minLen = Math.min(minLen, l);
      maxLen = Math.max(maxLen, l);
    }
    const perm = new Int32Array(alphaSize);
    let p = 0;
    for (let l = minLen; l <= maxLen; l++) for (let s = 0; s < alphaSize; s++) if (lengths[s] === l) perm[p++] = s;
    const count = new Int32Array(maxLen + 2);
    for (const l of lengths) count[l]++;
    const limit = new Int32Array(maxLen + 2);
    const base = new Int32Array(maxLen + 2);
    let code = 0;
    let index = 0;
    for (let l = minLen; l <= maxLen; l++) {
      base[l] = index - code; // symbol index = code + base[l]
      code += count[l];
      index += count[l];
      limit[l] = code - 1;
      code <<= 1;
    }
    tables.push({ limit, base, perm, minLen, maxLen });
  }

  // Symbols: MTF indices with RUNA/RUNB runs of the front symbol, up to EOB.
  const mtf = Array.from({ length: 256 }, (_, i) => i);
  const byteCount = new Int32Array(256);
  const eob = alphaSize - 1;
  let n = 0;
  let run = 0;
  let runWeight = 1;
  let selector = 0;
  let left = 0;
  let table = tables[0];
  const flushRun = () => {
    if (run === 0) return;
    const b = seqToUnseq[mtf[0]];
    if (n + run > maxBlock) throw new Error('bzip2 block larger than its declared size');
    byteCount[b] += run;
    for (; run > 0; run--) tt[n++] = b;
    runWeight = 1;
  };
  for (;;) {
    if (left === 0) {
      if (selector >= selectorsCount) throw new Error('bzip2 block runs past its selectors');
      table = tables[selectors[selector++]];
      left = 50;
    }
    left--;
    let len = table.minLen;
    let code = bits.bits(len);
    while (len <= table.maxLen && code > table.limit[len]) {
      code = (code << 1) | bits.bit();
      len++;
    }
    if (len > table.maxLen) throw new Error('bad bzip2 Huffman code');
    const sym = table.perm[code + table.base[len]];
    if (sym <= 1) {
      run += runWeight << sym; // RUNA adds 1x, RUNB 2x the weight
      runWeight <<= 1;
      if (run > maxBlock) throw new Error('bzip2 run too long');
      continue;
    }
    flushRun();
    if (sym === eob) break;
    const idx = sym - 1;
    const v = mtf[idx];
    mtf.splice(idx, 1);
    mtf.unshift(v);
    const b = seqToUnseq[v];
    if (n >= maxBlock) throw new Error('bzip2 block larger than its declared size');
    byteCount[b]++;
    tt[n++] = b;
  }
  if (origPtr >= n) throw new Error('bad bzip2 block start pointer');

  // Inverse BWT: tt[i] low 8 bits = byte; high bits = link to the next position.
  const start = new Int32Array(256);
  for (let i = 0, sum = 0; i < 256; i++) {
    start[i] = sum;
    sum += byteCount[i];
  }
  for (let i = 0; i < n; i++) {
    const b = tt[i] & 0xff;
    tt[start[b]++] |= i << 8;
  }
  // Walk the links, undoing the initial RLE (4 equal bytes, then a repeat count) and computing the CRC.
  let crc = 0xffffffff;
  const emit = (b: number) => {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]) >>> 0;
    push(b);
  };
  let pos = tt[origPtr] >>> 8;
  let last = -1;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const entry = tt[pos];
    const b = entry & 0xff;
    pos = entry >>> 8;
    if (same === 4) {
      for (let k = 0; k < b; k++) emit(last);
      same = 0;
      last = -1;
      continue;
    }
    if (b === last) same++;
    else {
      last = b;
      same = 1;
    }
    emit(b);
  }
  return ~crc >>> 0;
}
