// .zsync control files made by the real zsyncmake 0.6.2, read back block by block.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strongMatches } from '../../../src/core/block-table.ts';
import { ErrorCode } from '../../../src/core/errors.ts';
import { createBlockHash } from '../../../src/core/hashing.ts';
import { weakChecksum, weakMask } from '../../../src/core/rsum.ts';
import { decodeZsync } from '../../../src/core/zsync/decode-zsync.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { zsyncmake } from '../../helpers/zsyncmake.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tessera-zsync-');
});
afterAll(() => dir.remove());

/** Expected sums of every block, computed here from the file's bytes. */
async function expectTableOf(data: Uint8Array, control: ReturnType<typeof decodeZsync>) {
  const t = control.blocks;
  const md4 = await createBlockHash('md4');
  const mask = weakMask(t.weakBytes);
  const padded = new Uint8Array(t.blockSize);
  let wrongWeak = 0;
  let wrongStrong = 0;
  for (let k = 0; k < t.blockCount; k++) {
    if ((weakChecksum(data, k * t.blockSize, t.blockSize) & mask) >>> 0 !== t.weak[k]) wrongWeak++;
    let block = data.subarray(k * t.blockSize, (k + 1) * t.blockSize);
    if (block.length < t.blockSize) {
      padded.fill(0);
      padded.set(block);
      block = padded;
    }
    if (!strongMatches(t, k, md4(block))) wrongStrong++;
  }
  expect({ wrongWeak, wrongStrong }).toEqual({ wrongWeak: 0, wrongStrong: 0 });
  expect(control.sha1).toBe(createHash('sha1').update(data).digest('hex'));
}

describe('decodeZsync on zsyncmake 0.6.2 output', () => {
  const cases = [
    // [name, size, zsyncmake options, expected Blocksize, expected Hash-Lengths]
    ['small file, 2048-byte blocks', 1_048_576 + 777, ['-b', '2048'], 2048, '2,2,4'],
    ['zsyncmake picks 2048 below 100 MB', 5_000_000, [], 2048, '2,2,4'],
    ['a file within one block (seq_matches 1)', 1_000_000, ['-b', '1048576'], 1_048_576, '1,4,5'],
    ['3-byte weak sums', 31_000_000, ['-b', '65536'], 65536, '2,3,4'],
    ['zsyncmake picks 4096 from 100 MB', 100_000_000 + 12_345, [], 4096, '2,2,5'],
  ] as const;
  for (const [name, size, args, blockSize, hashLengths] of cases) {
    it(`${name}: ${hashLengths}`, async () => {
      const file = join(dir.path, `f${size}.img`);
      const data = randomBytes(size, size % 1000);
      writeFileSync(file, data);
      const control = decodeZsync(zsyncmake(file, `${file}.zsync`, [...args, '-u', 'http://mirror.example/f.img']), 'f.img.zsync');
      const t = control.blocks;
      expect([t.blockSize, `${t.seqMatches},${t.weakBytes},${t.strongBytes}`, t.length, t.blockCount]).toEqual([blockSize, hashLengths, size, Math.ceil(size / blockSize)]);
      expect(control.urls).toEqual(['http://mirror.example/f.img']);
      expect(control.filename).toBe(`f${size}.img`);
      expect(control.version).toBe('0.6.2');
      await expectTableOf(data, control);
    }, 60_000);
  }

  it('keeps a relative URL as written (it is resolved against the control file URL)', () => {
    const file = join(dir.path, 'rel.img');
    writeFileSync(file, randomBytes(10_000, 3));
    const control = decodeZsync(zsyncmake(file, `${file}.zsync`, ['-u', 'images/rel.img']));
    expect(control.urls).toEqual(['images/rel.img']);
  });

  it('refuses gzip mode (Z-Map2) with a message saying what to use instead', () => {
    const file = join(dir.path, 'data.gz');
    // zsyncmake switches to gzip mode by itself for a gzip file.
    writeFileSync(file, gzipSync(randomBytes(200_000, 4), { level: 6 }));
    const bytes = zsyncmake(file, `${file}.zsync`);
    expect(new TextDecoder().decode(bytes.subarray(0, 600))).toContain('Z-Map2');
    expect(() => decodeZsync(bytes, 'data.zsync')).toThrowError(expect.objectContaining({ code: ErrorCode.FormatUnsupported, message: expect.stringContaining('zsyncmake -Z') }));
  });

  it('says the file is truncated, damaged or not a control file at all', () => {
    const file = join(dir.path, 'cut.img');
    writeFileSync(file, randomBytes(100_000, 5));
    const bytes = zsyncmake(file, `${file}.zsync`);
    expect(() => decodeZsync(bytes.subarray(0, bytes.length - 1), 'cut.zsync')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestTruncated }));
    expect(() => decodeZsync(bytes.subarray(0, 40), 'cut.zsync')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestTruncated }));
    expect(() => decodeZsync(new TextEncoder().encode('<html>not found</html>'), 'x.zsync')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestNotRecognized }));
    const text = new TextDecoder().decode(bytes);
    const withUnknown = new TextEncoder().encode(text.replace('SHA-1:', 'X-Future: 1\nSHA-1:'));
    expect(() => decodeZsync(withUnknown, 'x.zsync')).toThrowError(expect.objectContaining({ code: ErrorCode.FormatUnsupported, message: expect.stringContaining('x-future') }));
    const safe = new TextEncoder().encode(text.replace('SHA-1:', 'X-Future: 1\nSafe: X-Future\nSHA-1:'));
    expect(decodeZsync(safe, 'x.zsync').blocks.blockCount).toBe(49);
    const badLengths = new TextEncoder().encode(text.replace(/Hash-Lengths: [^\n]*/, 'Hash-Lengths: 3,4,16'));
    expect(() => decodeZsync(badLengths, 'x.zsync')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestCorrupt }));
  });
});
