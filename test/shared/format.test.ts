import { describe, expect, it, vi } from 'vitest';
import { formatBytes, formatCount, formatSeconds, percent } from '../../src/shared/format.ts';

describe('format', () => {
  it('writes counts with thousands separators, the same at every call', () => {
    expect(formatCount(685_654_016)).toBe('685,654,016');
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe((1000).toLocaleString('en'));
  });

  it('makes its number formatter at the first count, not when loaded: in Node that brings in ICU data (~7 MB) the command line never uses', async () => {
    vi.resetModules();
    const original = Intl.NumberFormat;
    let made = 0;
    const intl = Intl as { NumberFormat: typeof Intl.NumberFormat };
    intl.NumberFormat = class extends original {
      constructor(...args: ConstructorParameters<typeof Intl.NumberFormat>) {
        super(...args);
        made++;
      }
    } as typeof Intl.NumberFormat;
    try {
      const fresh = await import('../../src/shared/format.ts');
      fresh.formatBytes(685_654_016);
      fresh.formatSeconds(3);
      expect(made).toBe(0);
      expect(fresh.formatCount(1234)).toBe('1,234');
      expect(fresh.formatCount(5678)).toBe('5,678');
      expect(made).toBe(1);
    } finally {
      intl.NumberFormat = original;
    }
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
