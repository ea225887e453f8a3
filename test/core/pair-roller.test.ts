import { afterEach, describe, expect, it } from 'vitest';
import { PairRoller } from '../../src/core/pair-roller.ts';
import { BlockIndex } from '../../src/core/block-index.ts';
import { RollingChecksum, weakChecksum, weakMask } from '../../src/core/rsum.ts';

// The roller against the readable definitions: RollingChecksum for the sums,
// BlockIndex's pairKey and bit hashes for the filters. Filters are random and
// dense enough that roll() stops every few hundred bytes, so the SIMD step's
// hand-over to the byte-by-byte loop (and its last steps before `stop`) run often.

function pseudoRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
}

function randomFilter(log2Bits: number, fill: number, next: () => number): Int32Array {
  const words = new Int32Array(1 << (log2Bits - 5));
  for (let n = 0; n < (1 << log2Bits) * fill; n++) {
    const h = next() >>> (32 - log2Bits);
    words[h >>> 5] |= 1 << (h & 31);
  }
  return words;
}

const hasBit = (words: Int32Array, h: number) => (words[h >>> 5] & (1 << (h & 31))) !== 0;

/** Where each roll() from `from` must stop, and the masked sums there, by the definitions. */
function expectedStops(window: Uint8Array, from: number, stop: number, bs: number, mask: number, bits: Int32Array, bits2: Int32Array, log2Bits: number) {
  const first = new RollingChecksum(bs);
  const second = new RollingChecksum(bs);
  first.reset(window, from);
  second.reset(window, from + bs);
  const stops: { at: number; first: number; second: number }[] = [];
  for (let p = from; p < stop; p++) {
    if (p > from) {
      first.roll(window[p - 1], window[p - 1 + bs]);
      second.roll(window[p - 1 + bs], window[p - 1 + 2 * bs]);
    }
    const key = BlockIndex.pairKey((first.value & mask) >>> 0, (second.value & mask) >>> 0);
    if (hasBit(bits, BlockIndex.bitHash(key) >>> (32 - log2Bits)) && hasBit(bits2, BlockIndex.bitHash2(key) >>> (32 - log2Bits))) {
      stops.push({ at: p, first: first.value, second: second.value });
    }
  }
  return stops;
}

/** Every stop of roll() from `from` to `stop`, going on one byte after each (as the scan does after a candidate). */
function rollerStops(roller: PairRoller, from: number, stop: number, bs: number, mask: number, log2Bits: number) {
  const window = roller.window;
  const shift = Math.log2(bs);
  const sums = roller.sums;
  const a = weakChecksum(window, from, bs);
  const a2 = weakChecksum(window, from + bs, bs);
  sums.set([a >>> 16, a & 0xffff, a2 >>> 16, a2 & 0xffff]);
  const stops: { at: number; first: number; second: number }[] = [];
  let i = from;
  for (;;) {
    i = roller.roll(i, stop, bs, shift, mask, 32 - log2Bits, 32 - log2Bits);
    if (i >= stop) return stops;
    stops.push({ at: i, first: ((sums[0] << 16) | sums[1]) >>> 0, second: ((sums[2] << 16) | sums[3]) >>> 0 });
    // one byte on, by hand
    const out = window[i];
    const mid = window[i + bs];
    sums[0] = (sums[0] - out + mid) & 0xffff;
    sums[1] = (sums[1] - (out << shift) + sums[0]) & 0xffff;
    sums[2] = (sums[2] - mid + window[i + 2 * bs]) & 0xffff;
    sums[3] = (sums[3] - (mid << shift) + sums[2]) & 0xffff;
    i++;
    if (i >= stop) return stops;
  }
}

describe('PairRoller', () => {
  afterEach(() => {
    PairRoller.simd = true;
  });

  for (const simd of [true, false]) {
    it(`${simd ? 'with its SIMD step' : 'byte by byte'}: stops exactly where both filters accept, with the sums there, for 2-4 weak bytes and blocks of 2 KiB to 128 KiB`, () => {
      PairRoller.simd = simd;
      const next = pseudoRandom(simd ? 7 : 8);
      const log2Bits = 16;
      // ~0.3% of positions pass both filters: a stop every few hundred bytes
      const bits = randomFilter(log2Bits, 0.06, next);
      const bits2 = randomFilter(log2Bits, 0.06, next);
      let checked = 0;
      for (const bs of [2048, 4096, 65536, 131072]) {
        const windowBytes = 2 * bs + 20_011;
        const roller = PairRoller.create(windowBytes, bits, bits2);
        expect(roller, 'WebAssembly runs here').not.toBeNull();
        roller!.load(bits, bits2);
        for (let k = 0; k < windowBytes; k++) roller!.window[k] = next() >>> 24;
        for (const weakBytes of [2, 3, 4]) {
          const mask = weakMask(weakBytes);
          // stops at a multiple of 8 positions from the start and not
          for (const [from, stop] of [[0, 20_000], [5, 19_998], [3, 11]]) {
            const got = rollerStops(roller!, from, stop, bs, mask, log2Bits);
            const want = expectedStops(roller!.window, from, stop, bs, mask, bits, bits2, log2Bits);
            expect(got, `block size ${bs}, ${weakBytes} weak bytes, ${from}..${stop}`).toEqual(want);
            checked += want.length;
          }
        }
      }
      expect(checked, 'stops compared').toBeGreaterThan(200);
    });
  }
});
