import { describe, expect, it } from 'vitest';
import { ErrorCode, TesseraError } from '../../src/core/errors.ts';
import { checkDescribedImage, parseExpectedSha256 } from '../../src/core/expected-sha256.ts';

const HEX = 'ab'.repeat(32);

describe('the SHA-256 a user pastes', () => {
  it('is found in a bare digest, a sha256sum line and a BSD-style line', () => {
    expect(parseExpectedSha256(HEX.toUpperCase())).toBe(HEX);
    expect(parseExpectedSha256(`${HEX}  debian-12.7.0-amd64-netinst.iso\n`)).toBe(HEX);
    expect(parseExpectedSha256(`SHA256 (debian.iso) = ${HEX}`)).toBe(HEX);
  });

  it('is refused when it is not 64 hex digits (a SHA-1, a cut-off paste, a longer hex run)', () => {
    for (const text of ['ab'.repeat(20), HEX.slice(1), `${HEX}0`, '']) {
      expect(() => parseExpectedSha256(text)).toThrow(/does not contain a SHA-256/);
    }
  });

  it('decides whether a description can be checked now or only once built', () => {
    expect(checkDescribedImage(undefined, { algorithm: 'sha256', hex: HEX }, 'm')).toBe(false);
    expect(checkDescribedImage(HEX, { algorithm: 'sha256', hex: HEX }, 'm')).toBe(false);
    expect(checkDescribedImage(HEX, { algorithm: 'sha1', hex: 'cd'.repeat(20) }, 'm')).toBe(true);
    try {
      checkDescribedImage(HEX, { algorithm: 'sha256', hex: 'cd'.repeat(32) }, 'https://x/new.tessera');
      expect.unreachable();
    } catch (error) {
      expect((error as TesseraError).code).toBe(ErrorCode.ExpectedChecksumMismatch);
      expect((error as Error).message).toMatch(/^https:\/\/x\/new.tessera describes an image whose SHA-256 is cdcd/);
    }
  });
});
