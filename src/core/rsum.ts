/**
 * The weak rolling checksum, as zsync's librcksum computes it (rsum.c):
 *   a = sum d[i]            (mod 2^16)
 *   b = sum (bs - i) * d[i] (mod 2^16)
 * over a block of bs bytes; the 32-bit value is a in the high half, b in the
 * low half (the big-endian bytes a_hi a_lo b_hi b_lo that zsync writes).
 * A manifest that keeps fewer than 4 weak bytes keeps the trailing ones, so the
 * value is masked with weakMask(n). The same definition serves our manifest
 * and .zsync files.
 */

/** Weak checksum of data[start, start + blockSize), reading zeros past the end of data. */
export function weakChecksum(data: Uint8Array, start: number, blockSize: number): number {
  // b = sum (bs - i) * d[i] is the sum of the running totals of a: no multiply.
  // Zeros past the end add nothing to a, and a again to b for each of them.
  let a = 0;
  let b = 0;
  const end = Math.min(data.length, start + blockSize);
  for (let i = start; i < end; i++) {
    a = (a + data[i]) | 0;
    b = (b + a) | 0;
  }
  b = (b + Math.imul(a, start + blockSize - end)) | 0;
  return (((a & 0xffff) << 16) | (b & 0xffff)) >>> 0;
}

/** The mask that keeps the trailing `bytes` bytes of a 32-bit weak checksum. */
export function weakMask(bytes: number): number {
  return bytes >= 4 ? 0xffffffff : (1 << (bytes * 8)) - 1;
}

/**
 * A weak checksum that rolls one byte at a time. The matcher inlines the same
 * arithmetic in its hot loop; this class is the readable reference (and is what
 * the tests compare against direct computation).
 */
export class RollingChecksum {
  private a = 0;
  private b = 0;
  private readonly shift: number;

  constructor(readonly blockSize: number) {
    this.shift = Math.log2(blockSize);
    if (!Number.isInteger(this.shift)) throw new RangeError(`block size ${blockSize} is not a power of two`);
  }

  /** Start over at data[start, start + blockSize). */
  reset(data: Uint8Array, start: number): number {
    const v = weakChecksum(data, start, this.blockSize);
    this.a = v >>> 16;
    this.b = v & 0xffff;
    return v;
  }

  /** Slide the window one byte: `out` leaves at the front, `incoming` enters at the back. */
  roll(out: number, incoming: number): number {
    this.a = (this.a - out + incoming) & 0xffff;
    this.b = (this.b - (out << this.shift) + this.a) & 0xffff;
    return this.value;
  }

  get value(): number {
    return ((this.a << 16) | this.b) >>> 0;
  }
}
