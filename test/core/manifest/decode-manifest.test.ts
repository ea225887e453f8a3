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

describe('manifest v1', () => {
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
