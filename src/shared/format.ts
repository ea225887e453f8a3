/** Human-readable figures for the terminal. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '100%' : `${((100 * part) / whole).toFixed(1)}%`;
}

/**
 * One formatter for every count: `toLocaleString('en')` makes a new one at each
 * call (~0.1 ms in V8), on every render. Made at the first count, not when the
 * module loads: in Node a number formatter brings in ICU's data, ~7 MB of
 * resident memory, which the command line (it prints no such count) would
 * otherwise hold for nothing.
 */
let count: Intl.NumberFormat | undefined;

/** A count with thousands separators: 685,654,016. */
export function formatCount(n: number): string {
  count ??= new Intl.NumberFormat('en');
  return count.format(n);
}
