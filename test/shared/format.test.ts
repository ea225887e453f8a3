import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatSeconds, percent } from '../../src/shared/format.ts';

describe('format', () => {
  it('writes counts with thousands separators, the same at every call', () => {
    expect(formatCount(685_654_016)).toBe('685,654,016');
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe((1000).toLocaleString('en'));
  });

  it('writes sizes, times and shares as the page shows them', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(685_654_016)).toBe('686 MB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatSeconds(3.25)).toBe('3.3 s');
    expect(formatSeconds(125)).toBe('2 min 5 s');
    expect(formatSeconds(Number.POSITIVE_INFINITY)).toBe('?');
    expect(percent(1, 4)).toBe('25.0%');
    expect(percent(0, 0)).toBe('100%');
  });
});
