import { expect } from 'vitest';

/** Assert two byte arrays are identical; on failure say where they first differ (fast, unlike toEqual on MBs). */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let i = 0;
  while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
  expect.fail(`bytes differ: lengths ${a.length} and ${b.length}, first difference at offset ${i}`);
}
