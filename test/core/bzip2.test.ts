// Our bzip2 decoder against the real bzip2 (Node has no bzip2; the Debian
// bzip2 program writes the test data).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decompressBzip2 } from '../../src/core/bzip2.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';

function bzip2(data: Uint8Array, level = 9): Uint8Array {
  const r = spawnSync('bzip2', [`-${level}`, '-c'], { input: data });
  if (r.error || r.status !== 0) throw new Error(`bzip2 could not be run: ${r.error?.message ?? r.stderr}`);
  return new Uint8Array(r.stdout);
}

describe('decompressBzip2', () => {
  const text = new TextEncoder().encode('Tessera rebuilds images. '.repeat(20_000));
  const cases: [string, Uint8Array, number][] = [
    ['random data (incompressible), several 100k blocks', randomBytes(350_000, 1), 1],
    ['repetitive text (long runs for RUNA/RUNB and the initial RLE)', text, 9],
    ['runs of one byte of every length around the RLE limits', new Uint8Array(Array.from({ length: 3000 }, (_, i) => Math.floor(Math.sqrt(i)) % 7).flatMap((v, i) => Array(1 + (i % 260)).fill(v))), 5],
    ['a single byte', new Uint8Array([42]), 9],
  ];
  for (const [name, data, level] of cases) {
    it(name, () => {
      expectSameBytes(decompressBzip2(bzip2(data, level)), data);
    });
  }

  it('reads concatenated streams as one', () => {
    const a = randomBytes(5000, 2);
    const b = text.subarray(0, 7000);
    const both = new Uint8Array([...bzip2(a), ...bzip2(b)]);
    expectSameBytes(decompressBzip2(both), new Uint8Array([...a, ...b]));
  });

  it('says so when the data is damaged or cut', () => {
    const packed = bzip2(text);
    const damaged = packed.slice();
    damaged[Math.floor(damaged.length / 2)] ^= 0x10;
    expect(() => decompressBzip2(damaged)).toThrow(/bzip2/);
    expect(() => decompressBzip2(packed.subarray(0, packed.length - 20))).toThrow(/bzip2/);
    expect(() => decompressBzip2(new TextEncoder().encode('not bzip2 at all'))).toThrow(/not bzip2 data/);
  });
});
