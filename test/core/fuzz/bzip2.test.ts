// Our bzip2 decoder on hostile input. It is internal: its errors are plain
// Errors saying "bzip2 ..." that templateData wraps in a TesseraError naming
// the template (test/core/fuzz/template-data.test.ts); anything else thrown
// (TypeError, RangeError) or a hang is a bug.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decompressBzip2 } from '../../../src/core/bzip2.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { FUZZ_SEED, ParserFuzz, ascii, concat, standardCases } from '../../helpers/parser-fuzz.ts';

/** The most a caller lets a part expand to, in these tests. */
const MAX_OUTPUT = 1 << 20;

const fuzz = new ParserFuzz({
  name: 'bzip2 decoder (template BZIP parts)',
  source: 'bzip2 data',
  codes: [],
  decode: (bytes) => decompressBzip2(bytes, MAX_OUTPUT),
  clearError: (error) => (error instanceof Error && error.constructor === Error && /bzip2/.test(error.message) ? 'Error "bzip2 …"' : null),
});

function bzip2Program(data: Uint8Array, level: number): Uint8Array {
  const r = spawnSync('bzip2', [`-${level}`, '-c'], { input: data });
  if (r.error || r.status !== 0) throw new Error(`bzip2 could not be run: ${r.error?.message ?? r.stderr}`);
  return new Uint8Array(r.stdout);
}

let valid: Uint8Array;
beforeAll(() => {
  // More than one 100k block at level 1; text for long runs, random bytes for the rest.
  const data = concat(ascii('Tessera rebuilds images from files you already have. '.repeat(3000)), randomBytes(120_000, 9));
  valid = bzip2Program(data, 1);
});

/** `bytes` with `count` bits from bit `at` (most significant first) set to `value`. */
function setBits(bytes: Uint8Array, at: number, count: number, value: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < count; i++) {
    const bit = Math.floor(value / 2 ** (count - 1 - i)) % 2;
    const p = at + i;
    out[p >> 3] = (out[p >> 3] & ~(0x80 >> (p & 7))) | (bit << (7 - (p & 7)));
  }
  return out;
}

describe('decompressBzip2 under fuzzing', () => {
  standardCases(fuzz, 'bzip2', () => valid, { everyCutBelow: 1024, sampledCuts: 150, mutations: 200, random: 300, magic: ascii('BZh9') });

  it('refuses every block-size digit but the right ones, and a block larger than its digit allows', async () => {
    for (let digit = 0; digit < 256; digit++) {
      const bytes = valid.slice();
      bytes[3] = digit;
      const outcome = await fuzz.check('huge field', bytes, `block size byte ${digit}`);
      // Level 1 (100k blocks) was written; any level from 1 up reads it.
      if (digit < 0x31 || digit > 0x39) expect(outcome).not.toBe('parsed');
    }
  });

  it('refuses huge block start pointers (24 bits after the block header and CRC)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom(0xffffff, 100_000, 99_999), fc.integer({ min: 0, max: 0xffffff })), async (pointer) => {
        await fuzz.check('huge field', setBits(valid, 4 * 8 + 48 + 32 + 1, 24, pointer), `origPtr ${pointer}`);
      }),
      { seed: FUZZ_SEED, numRuns: 60 },
    );
  });

  it('stops at the caller\'s limit when the data expands further', async () => {
    const zeros = bzip2Program(new Uint8Array(8 << 20), 9);
    expect(await fuzz.check('huge field', zeros, `${zeros.length} bytes expanding to 8 MiB`)).toBe('Error "bzip2 …"');
    expect(() => decompressBzip2(zeros, MAX_OUTPUT)).toThrow(/holds more than the 1048576 bytes expected/);
  });
});
