import { describe, expect, it } from 'vitest';
import { type FileValidators, changedWhere, validatorChange } from '../../src/core/file-validators.ts';

const answer = (headers: Record<string, string>) => (name: string) => headers[name] ?? null;

describe('validatorChange', () => {
  it('records what it has not seen, then names the first validator that differs', () => {
    const seen: FileValidators = {};
    expect(validatorChange(seen, answer({ etag: '"a"' }))).toBeNull();
    expect(seen).toEqual({ etag: '"a"' });
    // Last-Modified first seen now: recorded, not a change.
    expect(validatorChange(seen, answer({ etag: '"a"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }))).toBeNull();
    expect(seen).toEqual({ etag: '"a"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' });
    expect(validatorChange(seen, answer({ etag: '"a"', 'last-modified': 'Tue, 02 Jan 2024 00:00:00 GMT' }))).toBe(
      'Last-Modified Mon, 01 Jan 2024 00:00:00 GMT -> Tue, 02 Jan 2024 00:00:00 GMT',
    );
    expect(validatorChange(seen, answer({ etag: '"b"' }))).toBe('ETag "a" -> "b"');
    // An answer without validators says nothing either way.
    expect(validatorChange(seen, answer({}))).toBeNull();
    expect(seen).toEqual({ etag: '"a"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' });
  });

  it('says where: on the mirror, or at the URL it redirected to', () => {
    expect(changedWhere('https://m/x.iso', 'https://m/x.iso')).toBe('on the mirror');
    expect(changedWhere('https://m/x.iso', 'https://cdn/x.iso')).toBe('at https://cdn/x.iso');
  });
});
