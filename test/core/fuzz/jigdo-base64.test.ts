// jigdo's base64 (checksums in .jigdo files) on hostile text: it returns bytes or null, never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJigdoBase64, encodeJigdoBase64 } from '../../../src/core/jigdo/jigdo-base64.ts';
import { FUZZ_SEED, ParserFuzz, ascii, standardCases } from '../../helpers/parser-fuzz.ts';

const fuzz = new ParserFuzz({
  name: 'jigdo base64 (checksums)',
  source: 'checksum text',
  codes: [],
  decode: (bytes) => decodeJigdoBase64(new TextDecoder('latin1').decode(bytes)),
  clearError: () => null, // it has no errors: a bad character is a null return
  returned: (value) => (value === null ? 'null (not base64)' : 'parsed'),
});

// The MD5 of an empty file, as jigdo-file writes it.
const valid = ascii(encodeJigdoBase64(new Uint8Array([0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e])));

describe('decodeJigdoBase64 under fuzzing', () => {
  standardCases(fuzz, 'jigdo-base64', () => valid, { everyCutBelow: 64, sampledCuts: 0, mutations: 300, random: 300, magic: ascii('1B2M2Y8AsgTpgAmY7PhCfg') });

  it('decodes what it encodes, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(Array.from(decodeJigdoBase64(encodeJigdoBase64(bytes))!)).toEqual(Array.from(bytes));
      }),
      { seed: FUZZ_SEED, numRuns: 300 },
    );
  });

  it('decodes a megabyte of text in bounded time', async () => {
    expect(await fuzz.check('huge field', ascii('A'.repeat(1 << 20)), '1 MiB of "A"')).toBe('parsed');
  });
});
