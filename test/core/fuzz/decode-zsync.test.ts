// decodeZsync on hostile input: every case parses or ends in a clear error, quickly.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { decodeZsync } from '../../../src/core/zsync/decode-zsync.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { FUZZ_SEED, ParserFuzz, ascii, concat, standardCases } from '../../helpers/parser-fuzz.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { zsyncmake } from '../../helpers/zsyncmake.ts';

const fuzz = new ParserFuzz({
  name: 'zsync control file (.zsync)',
  source: 'fuzz.zsync',
  codes: [ErrorCode.ManifestTruncated, ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestLimit, ErrorCode.FormatUnsupported],
  decode: (bytes) => decodeZsync(bytes, 'fuzz.zsync'),
});

let dir: Awaited<ReturnType<typeof tempDir>>;
let valid: Uint8Array;
beforeAll(async () => {
  dir = await tempDir('tessera-fuzz-zsync-');
  const file = join(dir.path, 'image.img');
  writeFileSync(file, randomBytes(100_000, 7));
  valid = zsyncmake(file, `${file}.zsync`, ['-b', '2048', '-u', 'http://mirror.example/image.img']);
});
afterAll(() => dir.remove());

/** The valid file with header `name` set to `value` (the table after the header kept as it is). */
function withHeader(name: string, value: string): Uint8Array {
  const headerEnd = findHeaderEnd(valid);
  const lines = new TextDecoder().decode(valid.subarray(0, headerEnd)).split('\n');
  const at = lines.findIndex((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  expect(at, `zsyncmake writes a ${name} line`).toBeGreaterThanOrEqual(0);
  lines[at] = `${name}: ${value}`;
  return concat(ascii(lines.join('\n')), valid.subarray(headerEnd));
}

/** Where the header's closing empty line starts (the byte after the last header line's newline). */
function findHeaderEnd(bytes: Uint8Array): number {
  for (let i = 1; i < bytes.length; i++) if (bytes[i] === 0x0a && bytes[i - 1] === 0x0a) return i;
  throw new Error('no end of header');
}

const hugeDecimal = fc.oneof(
  fc.constantFrom('0', '1073741824', '2147483648', '4294967296', '4398046511104', '4398046511105', '9007199254740993', '99999999999999999999', '1e30', '-1', '0x7fffffff'),
  fc.bigInt({ min: 1n << 20n, max: (1n << 70n) - 1n }).map(String),
);

describe('decodeZsync under fuzzing', () => {
  standardCases(fuzz, 'decode-zsync', () => valid, { everyCutBelow: 4096, sampledCuts: 0, mutations: 400, random: 300, magic: ascii('zsync: 0.6.2\n') });

  it('refuses huge Blocksize and Length (claims of terabytes) without allocating them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Blocksize', 'Length'), hugeDecimal, async (name, value) => {
        const outcome = await fuzz.check('huge field', withHeader(name, value), `${name}: ${value}`);
        // Length 0 is an empty file: no blocks, the table is not read.
        if (!(name === 'Length' && value === '0')) expect(outcome).not.toBe('parsed');
      }),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
  });

  it('refuses out-of-range Hash-Lengths', async () => {
    const count = fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constantFrom(0, 5, 17, 65535, 4294967297));
    await fc.assert(
      fc.asyncProperty(count, count, count, async (seq, rsum, md4) => {
        const outcome = await fuzz.check('huge field', withHeader('Hash-Lengths', `${seq},${rsum},${md4}`), `Hash-Lengths: ${seq},${rsum},${md4}`);
        if (seq !== 2 || rsum !== 2 || md4 !== 4) expect(outcome).not.toBe('parsed');
      }),
      { seed: FUZZ_SEED, numRuns: 100 },
    );
  });

  it('refuses a header line of megabytes (a binary file given by mistake) after reading only its first 64 KB', async () => {
    for (const size of [64 << 10, (64 << 10) + 1, 8 << 20]) {
      const long = concat(ascii('zsync: 0.6.2\nURL: '), new Uint8Array(size).fill(0x61), ascii('\n\n'));
      expect(await fuzz.check('huge field', long, `a ${size}-byte URL line`)).toBe(ErrorCode.ManifestCorrupt);
    }
  });
});
