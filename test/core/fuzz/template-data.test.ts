// templateData (a template's zlib and bzip2 parts, decompressed as the image is assembled) on hostile input.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { decodeTemplate } from '../../../src/core/jigdo/decode-template.ts';
import { templateData } from '../../../src/core/jigdo/template-data.ts';
import { platformDecompress } from '../../../src/platform/decompress.ts';
import { makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { FUZZ_SEED, ParserFuzz, ascii, concat, mutate, standardCases } from '../../helpers/parser-fuzz.ts';
import { readU48, templateLengthFields, writeU48 } from '../../helpers/template-layout.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const fuzz = new ParserFuzz({
  name: 'jigdo template data (zlib and bzip2 parts)',
  source: 'fuzz.template',
  codes: [ErrorCode.ManifestTruncated, ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestUnsupportedVersion, ErrorCode.ManifestLimit, ErrorCode.FormatUnsupported],
  async decode(bytes) {
    const template = decodeTemplate(bytes, 'fuzz.template');
    let total = 0;
    for await (const part of templateData(bytes, template, platformDecompress, 'fuzz.template')) total += part.length;
    return total;
  },
});

let dir: Awaited<ReturnType<typeof tempDir>>;
let zlib: Uint8Array;
let bzip2: Uint8Array;
beforeAll(async () => {
  dir = await tempDir('tessera-fuzz-template-data-');
  zlib = readBytes(makeJigdoFixture(join(dir.path, 'zlib'), { seed: 7 }).template);
  bzip2 = readBytes(makeJigdoFixture(join(dir.path, 'bzip2'), { bzip2: true, seed: 8 }).template);
});
afterAll(() => dir.remove());

/** The template with `extra` bytes added to its first data entry, its image and its first part: consistent, but the part does not hold them. */
function claimingMore(valid: Uint8Array, extra: number): Uint8Array {
  const bytes = valid.slice();
  const fields = templateLengthFields(bytes);
  for (const name of ['data entry length', 'image length', 'part uncompressed length']) {
    const field = fields.find((f) => f.name === name)!;
    writeU48(bytes, field.at, readU48(bytes, field.at) + extra);
  }
  return bytes;
}

const u48 = (value: number) => {
  const b = new Uint8Array(6);
  writeU48(b, 0, value);
  return b;
};

/** A template of one part (`compressed`, claiming `claimed` bytes) and one data entry of that size. */
function onePartTemplate(kind: 'DATA' | 'BZIP', compressed: Uint8Array, claimed: number): Uint8Array {
  const desc = concat(new Uint8Array([2]), u48(claimed), new Uint8Array([5]), u48(claimed), new Uint8Array(16), new Uint8Array([0, 4, 0, 0]));
  const descLength = 4 + 6 + desc.length + 6;
  return concat(
    ascii('JigsawDownload template 1.1 fuzz\r\n\r\n\r\n'),
    ascii(kind), u48(16 + compressed.length), u48(claimed), compressed,
    ascii('DESC'), u48(descLength), desc, u48(descLength),
  );
}

function bzip2Program(data: Uint8Array): Uint8Array {
  const r = spawnSync('bzip2', ['-9', '-c'], { input: data, maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) throw new Error(`bzip2 could not be run: ${r.error?.message ?? r.stderr}`);
  return new Uint8Array(r.stdout);
}

describe('templateData under fuzzing', () => {
  standardCases(fuzz, 'template-data', () => zlib, { everyCutBelow: 1 << 20, sampledCuts: 0, mutations: 300, random: 100, magic: ascii('JigsawDownload template 1.1 jigdo-file/0.8.0\r\n\r\n\r\n') });

  it('reads the bzip2 template too, and refuses it cut at every position or with bytes changed', async () => {
    expect(await fuzz.check('valid', bzip2)).toBe('parsed');
    for (let n = 0; n < bzip2.length; n++) await fuzz.check('truncated', bzip2.subarray(0, n), `cut at ${n}`);
    const edit = fc.record({ at: fc.nat({ max: bzip2.length - 1 }), value: fc.integer({ min: 0, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 8 }), async (edits) => {
        await fuzz.check('mutated', mutate(bzip2, edits));
      }),
      { seed: FUZZ_SEED, numRuns: 300 },
    );
  });

  it('refuses parts claiming up to terabytes more than they hold, quickly and without allocating the claim', async () => {
    const extra = fc.oneof(fc.constantFrom(1, 1 << 20, 2 ** 32, 2 ** 40), fc.integer({ min: 1, max: 2 ** 41 }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(zlib, bzip2), extra, async (valid, more) => {
        expect(await fuzz.check('huge field', claimingMore(valid, more), `parts claim ${more} more bytes`)).toBe(ErrorCode.ManifestCorrupt);
      }),
      { seed: FUZZ_SEED, numRuns: 60 },
    );
  });

  it('stops decompressing a part (zlib or bzip2 "bomb") once it passes the length the part claims', async () => {
    const zeros = new Uint8Array(64 << 20);
    for (const [kind, compressed] of [['DATA', deflateSync(zeros)], ['BZIP', bzip2Program(zeros)]] as const) {
      const bomb = onePartTemplate(kind, new Uint8Array(compressed), 1000);
      expect(await fuzz.check('huge field', bomb, `a ${compressed.length}-byte ${kind} part holding 64 MiB, claiming 1000 bytes`)).toBe(ErrorCode.ManifestCorrupt);
      await expect(fuzz.target.decode(bomb) as Promise<unknown>).rejects.toThrow(/holds more than the 1000 bytes expected/);
    }
  });
});
