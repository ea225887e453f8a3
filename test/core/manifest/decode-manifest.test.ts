import { createSHA256 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { ErrorCode, TesseraError } from '../../../src/core/errors.ts';
import { makeManifest } from '../../../src/core/make-manifest.ts';
import { decodeManifest } from '../../../src/core/manifest/decode-manifest.ts';
import { encodeManifest } from '../../../src/core/manifest/encode-manifest.ts';
import { memorySeed } from '../../helpers/memory-seed.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';

async function sample() {
  const image = randomBytes(2048 * 20 + 333, 21);
  const manifest = await makeManifest(memorySeed('disc.iso', image), { mirrors: ['https://a.example/disc.iso', 'disc.iso'] });
  return { manifest, bytes: await encodeManifest(manifest) };
}

/** A manifest with a hand-written header and a valid checksum, for hostile-input tests. */
async function craft(header: Record<string, unknown>, table: Uint8Array): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = new Uint8Array(12 + json.length + table.length);
  body.set(new TextEncoder().encode('TESSERA'), 0);
  body[7] = 1;
  new DataView(body.buffer).setUint32(8, json.length, true);
  body.set(json, 12);
  body.set(table, 12 + json.length);
  const sha = await createSHA256();
  sha.init();
  sha.update(body);
  const out = new Uint8Array(body.length + 32);
  out.set(body);
  out.set(sha.digest('binary'), body.length);
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    expect(error).toBeInstanceOf(TesseraError);
    return (error as TesseraError).code;
  }
}

const validHeader = { name: 'x.iso', length: 4096, sha256: '0'.repeat(64), blockSize: 2048, weakBytes: 4, strongBytes: 6, strongHash: 'xxh128', mirrors: ['x.iso'] };

describe('manifest (version 2, and version 1 files)', () => {
  it('round-trips every field and the whole block table', async () => {
    const { manifest, bytes } = await sample();
    const back = await decodeManifest(bytes);
    expect(back.name).toBe('disc.iso');
    expect(back.checksum).toEqual(manifest.checksum);
    expect(back.mirrors).toEqual(['https://a.example/disc.iso', 'disc.iso']);
    expect(back.blocks.length).toBe(2048 * 20 + 333);
    expect(back.blocks.blockCount).toBe(21);
    expect(back.blocks.strongBytes).toBe(manifest.blocks.strongBytes);
    expect(Array.from(back.blocks.weak)).toEqual(Array.from(manifest.blocks.weak));
    expect(Array.from(back.blocks.strong)).toEqual(Array.from(manifest.blocks.strong));
  });

  it('writes version 2: seqMatches 2, the weak sums then the strong sums, short sums; round-trips them', async () => {
    const { manifest, bytes } = await sample();
    expect(bytes[7]).toBe(2);
    const t = manifest.blocks;
    expect(t.seqMatches).toBe(2);
    expect([t.weakBytes, t.strongBytes]).toEqual([2, 3]);
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))).seqMatches).toBe(2);
    const tableStart = 12 + headerLength;
    expect(bytes.length).toBe(tableStart + 21 * (2 + 3) + 32);
    // Columns: block 1's weak sum right after block 0's, big-endian.
    expect((bytes[tableStart + 2] << 8) | bytes[tableStart + 3]).toBe(t.weak[1]);
    expect(Array.from(bytes.subarray(tableStart + 21 * 2, tableStart + 21 * 2 + 3))).toEqual(Array.from(t.strong.subarray(0, 3)));
    const back = await decodeManifest(bytes);
    expect(back.version).toBe(2);
    expect(back.blocks.seqMatches).toBe(2);
  });

  it('still reads version 1 manifests (one record per block, blocks matched on their own)', async () => {
    const image = randomBytes(2048 * 20 + 333, 21);
    const manifest = await makeManifest(memorySeed('disc.iso', image), { sums: { weakBytes: 4, strongBytes: 6, seqMatches: 1 } });
    const bytes = await encodeManifest(manifest, { version: 1 });
    expect(bytes[7]).toBe(1);
    expect(bytes.length).toBe(12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true) + 21 * 10 + 32);
    const back = await decodeManifest(bytes);
    expect(back.version).toBe(1);
    expect(back.blocks.seqMatches).toBe(1);
    expect(Array.from(back.blocks.weak)).toEqual(Array.from(manifest.blocks.weak));
    expect(Array.from(back.blocks.strong)).toEqual(Array.from(manifest.blocks.strong));
    await expect(encodeManifest({ ...manifest, blocks: { ...manifest.blocks, seqMatches: 2 } }, { version: 1 })).rejects.toThrow(/version 1/);
  });

  it('refuses what each version does not allow: 3 strong bytes in version 1, a missing or wrong seqMatches in version 2', async () => {
    expect(await codeOf(decodeManifest(await craft({ ...validHeader, strongBytes: 3 }, new Uint8Array(2 * 7))))).toBe(ErrorCode.ManifestCorrupt);
    const v2 = async (header: Record<string, unknown>, table: Uint8Array) => {
      const bytes = await craft(header, table);
      bytes[7] = 2;
      const sha = await createSHA256();
      sha.init();
      sha.update(bytes.subarray(0, bytes.length - 32));
      bytes.set(sha.digest('binary'), bytes.length - 32);
      return bytes;
    };
    expect(await codeOf(decodeManifest(await v2({ ...validHeader, weakBytes: 2, strongBytes: 3, seqMatches: 2 }, new Uint8Array(2 * 5))))).toBe('no error');
    await expect(decodeManifest(await v2({ ...validHeader, strongBytes: 3 }, new Uint8Array(2 * 7)), 'm.tessera')).rejects.toThrow(/m\.tessera: the manifest is corrupted \("seqMatches" is not an integer\)/);
    await expect(decodeManifest(await v2({ ...validHeader, seqMatches: 3 }, new Uint8Array(2 * 10)))).rejects.toThrow(/"seqMatches" is 3, outside 1\.\.2/);
  });

  it('chooses 4096-byte blocks from 100 MB, wider ones past 2^18 blocks, and sums sized to the image', async () => {
    const { chooseBlockParameters } = await import('../../../src/core/manifest/manifest.ts');
    expect(chooseBlockParameters(50e6)).toEqual({ blockSize: 2048, weakBytes: 2, strongBytes: 4, seqMatches: 2 });
    expect(chooseBlockParameters(685_654_016)).toEqual({ blockSize: 4096, weakBytes: 2, strongBytes: 4, seqMatches: 2 });
    // 1 GiB is 2^18 blocks of 4096; a byte more, and the blocks double.
    expect(chooseBlockParameters(2 ** 30).blockSize).toBe(4096);
    expect(chooseBlockParameters(2 ** 30 + 1).blockSize).toBe(8192);
    expect(chooseBlockParameters(4 * 2 ** 30)).toEqual({ blockSize: 16384, weakBytes: 3, strongBytes: 4, seqMatches: 2 });
    expect(chooseBlockParameters(4.7e9).blockSize).toBe(32768); // a DVD image: 143,434 blocks
    expect(chooseBlockParameters(2 ** 40).blockSize).toBe(1 << 20); // (the largest block a manifest may have)
    expect(chooseBlockParameters(1 << 20, 2048)).toEqual({ blockSize: 2048, weakBytes: 2, strongBytes: 3, seqMatches: 2 });
  });

  it('`tessera make` keeps a longer strong sum when two different blocks would share their short sums', async () => {
    const { sharedSums } = await import('../../../src/core/make-manifest.ts');
    // Four blocks: 0 and 2 identical; 1 and 3 differ only after the third digest byte.
    const weak = new Uint32Array([0x10002, 0x30004, 0x10002, 0x50004]);
    const digests = new Uint8Array(4 * 16);
    digests.set([1, 2, 3, 4, 5], 0);
    digests.set([7, 7, 7, 1], 16);
    digests.set([1, 2, 3, 4, 5], 32);
    digests.set([7, 7, 7, 2], 48);
    expect(sharedSums(weak, digests, 0xffff, 3)).toBe(true); // blocks 1 and 3: same low weak half, same 3 bytes
    expect(sharedSums(weak, digests, 0xffff, 4)).toBe(false);
    expect(sharedSums(weak, digests, 0xffffffff, 3)).toBe(false); // the whole weak sums differ
  });

  it('reports truncation at every possible length', async () => {
    const { bytes } = await sample();
    for (let n = 0; n < bytes.length; n++) {
      expect(await codeOf(decodeManifest(bytes.subarray(0, n), 'm.tessera'))).toBe(ErrorCode.ManifestTruncated);
    }
  });

  it('detects a flipped bit anywhere after the magic', async () => {
    const { bytes } = await sample();
    for (const at of [9, 20, bytes.length >> 1, bytes.length - 40, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at] ^= 0x10;
      expect([ErrorCode.ManifestCorrupt, ErrorCode.ManifestTruncated, ErrorCode.ManifestLimit]).toContain(await codeOf(decodeManifest(bad)));
    }
  });

  it('says clearly when the file is not a Tessera manifest or is from a newer version', async () => {
    const { bytes } = await sample();
    const zsync = new TextEncoder().encode('zsync: 0.6.2\nFilename: x\n\n');
    await expect(decodeManifest(zsync, 'x.zsync')).rejects.toThrow(/x\.zsync: this is neither a Tessera manifest nor a .zsync control file/);
    const newer = bytes.slice();
    newer[7] = 9;
    expect(await codeOf(decodeManifest(newer))).toBe(ErrorCode.ManifestUnsupportedVersion);
  });

  it('refuses an absurd image length without allocating it', async () => {
    const huge = await craft({ ...validHeader, length: 2 ** 60 }, new Uint8Array(20));
    expect(await codeOf(decodeManifest(huge, 'huge.tessera'))).toBe(ErrorCode.ManifestLimit);
    await expect(decodeManifest(huge, 'huge.tessera')).rejects.toThrow(/huge\.tessera: "length" is 1152921504606847000, outside/);
    // Within limits but claiming a table that is not there: truncated, found before any allocation.
    const big = await craft({ ...validHeader, length: 2 ** 42 }, new Uint8Array(20));
    expect(await codeOf(decodeManifest(big))).toBe(ErrorCode.ManifestTruncated);
  });

  it('rejects malformed fields with a message naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...validHeader, blockSize: 3000 }, /power of two/],
      [{ ...validHeader, strongBytes: 99 }, /"strongBytes" is 99/],
      [{ ...validHeader, sha256: 'abc' }, /"sha256"/],
      [{ ...validHeader, name: '../../etc/passwd' }, /"name"/],
      [{ ...validHeader, mirrors: 'http://x' }, /"mirrors"/],
      [{ ...validHeader, strongHash: 'crc32' }, /unknown block hash/],
      [{ ...validHeader, length: '4096' }, /"length" is not an integer/],
    ];
    for (const [header, message] of cases) {
      await expect(decodeManifest(await craft(header, new Uint8Array(2 * 10)))).rejects.toThrow(message);
    }
  });

  it('rejects a header that is not JSON', async () => {
    const bytes = await craft(validHeader, new Uint8Array(20));
    bytes[12] = 0x7b + 1; // '{' -> '|'
    expect(await codeOf(decodeManifest(bytes))).toBe(ErrorCode.ManifestCorrupt);
  });
});
