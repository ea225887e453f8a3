import { describe, expect, it } from 'vitest';
import { ErrorCode, TesseraError } from '../../src/core/errors.ts';
import { resolveMirrors } from '../../src/core/rebuild.ts';

describe("a manifest's mirror URLs", () => {
  it('resolve relative URLs against the manifest URL and keep absolute ones', () => {
    expect(resolveMirrors(['new.iso', '../pool/new.iso', 'https://cdn.example/x/new.iso'], 'https://mirror.example/debian/cd/new.iso.tessera')).toEqual([
      'https://mirror.example/debian/cd/new.iso',
      'https://mirror.example/debian/pool/new.iso',
      'https://cdn.example/x/new.iso',
    ]);
  });

  it('accept only http and https, naming the mirror', () => {
    for (const bad of ['ftp://ftp.example/new.iso', 'file:///etc/passwd', 'javascript:alert(1)', 'data:,x']) {
      try {
        resolveMirrors([bad], 'https://mirror.example/new.iso.tessera');
        expect.unreachable(bad);
      } catch (error) {
        expect((error as TesseraError).code).toBe(ErrorCode.InvalidOption);
        expect((error as Error).message).toContain(`mirror "${bad}" uses`);
        expect((error as Error).message).toContain('only http and https mirrors are supported');
      }
    }
  });

  it('refuse a relative URL when the manifest was not read from a URL, saying what to give instead', () => {
    expect(() => resolveMirrors(['new.iso'])).toThrow(/is relative, and the manifest was not read from a URL.*--mirror URL/);
  });
});
