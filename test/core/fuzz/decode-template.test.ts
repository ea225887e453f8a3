// decodeTemplate (a jigdo .template's structure) on hostile input.
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { decodeTemplate } from '../../../src/core/jigdo/decode-template.ts';
import { makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { FUZZ_SEED, ParserFuzz, ascii, standardCases } from '../../helpers/parser-fuzz.ts';
import { templateLengthFields, writeU48 } from '../../helpers/template-layout.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const fuzz = new ParserFuzz({
  name: 'jigdo template (.template)',
  source: 'fuzz.template',
  codes: [ErrorCode.ManifestTruncated, ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestUnsupportedVersion, ErrorCode.ManifestLimit, ErrorCode.FormatUnsupported],
  decode: (bytes) => decodeTemplate(bytes, 'fuzz.template'),
});

let dir: Awaited<ReturnType<typeof tempDir>>;
let md5: Uint8Array;
let sha256: Uint8Array;
beforeAll(async () => {
  dir = await tempDir('tessera-fuzz-template-');
  md5 = readBytes(makeJigdoFixture(join(dir.path, 'md5'), { seed: 5 }).template);
  sha256 = readBytes(makeJigdoFixture(join(dir.path, 'sha256'), { checksum: 'sha256', bzip2: true, seed: 6 }).template);
});
afterAll(() => dir.remove());

/** 48-bit values a hostile template might hold in a length field. */
const hugeU48 = fc.oneof(fc.constantFrom(0, 1, 15, 16, 2 ** 32, 2 ** 42, 2 ** 42 + 1, 2 ** 48 - 1), fc.integer({ min: 0, max: 2 ** 48 - 1 }));

describe('decodeTemplate under fuzzing', () => {
  standardCases(fuzz, 'decode-template', () => md5, { everyCutBelow: 1 << 20, sampledCuts: 0, mutations: 500, random: 300, magic: ascii('JigsawDownload template 1.1 jigdo-file/0.8.0\r\n\r\n\r\n') });

  it('reads the SHA-256, bzip2 template too, and refuses it cut at every position', async () => {
    expect(await fuzz.check('valid', sha256)).toBe('parsed');
    for (let n = 0; n < sha256.length; n++) await fuzz.check('truncated', sha256.subarray(0, n), `cut at ${n}`);
  });

  it('refuses huge part, DESC and entry lengths (up to 2^48) without allocating them', async () => {
    for (const valid of [md5, sha256]) {
      const fields = templateLengthFields(valid);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fields), hugeU48, async (field, value) => {
          const bytes = valid.slice();
          writeU48(bytes, field.at, value);
          await fuzz.check('huge field', bytes, `${field.name} = ${value}`);
        }),
        { seed: FUZZ_SEED, numRuns: 150 },
      );
    }
  });
});
