import { describe, expect, it } from 'vitest';
import { RollingChecksum, weakChecksum, weakMask } from '../../src/core/rsum.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';

describe('weak rolling checksum', () => {
  it.each([512, 2048, 4096])('rolling by one byte equals direct computation at every offset (block %i)', (bs) => {
    const data = randomBytes(bs * 3 + 77, bs);
    const roll = new RollingChecksum(bs);
    let v = roll.reset(data, 0);
    for (let p = 0; p + bs < data.length; p++) {
      expect(v).toBe(weakChecksum(data, p, bs));
      v = roll.roll(data[p], data[p + bs]);
    }
  });

  it('matches zsync rsum on a known block: a = sum of bytes, b = sum (bs - i) * d[i], mod 2^16', () => {
    const block = new Uint8Array(512).map((_, i) => (i * 7) & 0xff);
    let a = 0;
    let b = 0;
    for (let i = 0; i < 512; i++) {
      a += block[i];
      b += (512 - i) * block[i];
    }
    expect(weakChecksum(block, 0, 512)).toBe((((a & 0xffff) << 16) | (b & 0xffff)) >>> 0);
  });

  it('reads past the end of the data as zeros', () => {
    const tail = randomBytes(100, 3);
    const padded = new Uint8Array(2048);
    padded.set(tail);
    expect(weakChecksum(tail, 0, 2048)).toBe(weakChecksum(padded, 0, 2048));
  });

  it('keeps the trailing bytes when fewer than 4 are stored', () => {
    expect(weakMask(4)).toBe(0xffffffff);
    expect(weakMask(3)).toBe(0xffffff);
    expect(weakMask(2)).toBe(0xffff);
  });
});
