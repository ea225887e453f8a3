// readJigdo (a published, usually gzipped .jigdo) on hostile input.
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { readJigdo } from '../../../src/core/jigdo/open-jigdo.ts';
import { platformDecompress } from '../../../src/platform/decompress.ts';
import { makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { FUZZ_SEED, ParserFuzz, standardCases } from '../../helpers/parser-fuzz.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const fuzz = new ParserFuzz({
  name: 'gzipped jigdo file (.jigdo)',
  source: 'fuzz.jigdo',
  codes: [ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestUnsupportedVersion, ErrorCode.ManifestLimit],
  decode: (bytes) => readJigdo(bytes, 'fuzz.jigdo', platformDecompress),
});

let dir: Awaited<ReturnType<typeof tempDir>>;
let valid: Uint8Array;
beforeAll(async () => {
  dir = await tempDir('tessera-fuzz-open-jigdo-');
  // Published .jigdo files are gzipped under the plain name.
  valid = new Uint8Array(gzipSync(readBytes(makeJigdoFixture(dir.path, { labels: { Deb: 'http://deb.example/debian/' } }).jigdo)));
});
afterAll(() => dir.remove());

describe('readJigdo under fuzzing', () => {
  standardCases(fuzz, 'open-jigdo', () => valid, { everyCutBelow: 1 << 20, sampledCuts: 0, mutations: 300, random: 200, magic: new Uint8Array([0x1f, 0x8b, 0x08, 0x00]) });

  it('refuses a gzip header claiming huge extra fields and names', async () => {
    // FLG.FEXTRA with XLEN 0xffff, or FNAME with no terminating zero: the stream ends inside them.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), async (flags, xlen) => {
        const bytes = valid.slice();
        bytes[3] = flags;
        bytes[10] = xlen & 0xff;
        bytes[11] = xlen >> 8;
        await fuzz.check('huge field', bytes, `FLG ${flags}, XLEN ${xlen}`);
      }),
      { seed: FUZZ_SEED, numRuns: 100 },
    );
  });

  it('stops a gzip "bomb" at the 64 MB a .jigdo may have', async () => {
    const bomb = new Uint8Array(gzipSync(new Uint8Array(80 << 20)));
    // Bounded by the limit, not the input: inflating 64 MB takes about 0.3 s here.
    const outcome = await fuzz.check('huge field', bomb, `${bomb.length} bytes expanding to 80 MiB`, 1500);
    expect(outcome).toBe(ErrorCode.ManifestCorrupt);
    await expect(readJigdo(bomb, 'fuzz.jigdo', platformDecompress)).rejects.toThrow(/holds more than the 67108864 bytes expected/);
  });
});
