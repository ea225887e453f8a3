import { createSHA256 } from 'hash-wasm';
import { MANIFEST_MAGIC, MANIFEST_VERSION, type Manifest } from './manifest.ts';

/**
 * Serialize a manifest (layout in docs/manifest-format.md): magic, version
 * byte, u32 LE header length, JSON header, block table, SHA-256 of everything
 * before it. Version 2 (the default) stores the weak sums of all blocks, then
 * their strong sums; version 1 (for tests of old files) one record per block,
 * and cannot say seqMatches 2.
 */
export async function encodeManifest(manifest: Manifest, options: { version?: 1 | 2 } = {}): Promise<Uint8Array> {
  const version = options.version ?? MANIFEST_VERSION;
  const t = manifest.blocks;
  const seqMatches = t.seqMatches ?? 1;
  if (version === 1 && seqMatches !== 1) throw new Error('a version 1 manifest cannot say seqMatches 2');
  const header = new TextEncoder().encode(
    JSON.stringify({
      name: manifest.name,
      length: t.length,
      sha256: manifest.checksum.hex,
      blockSize: t.blockSize,
      weakBytes: t.weakBytes,
      strongBytes: t.strongBytes,
      strongHash: t.strongHash,
      ...(version >= 2 ? { seqMatches } : {}),
      mirrors: manifest.mirrors,
      generator: manifest.generator,
      ...(manifest.sha256Chain ? { sha256Chain: manifest.sha256Chain } : {}),
    }),
  );
  const tableStart = 12 + header.length;
  const tableBytes = t.blockCount * (t.weakBytes + t.strongBytes);
  const out = new Uint8Array(tableStart + tableBytes + 32);
  out.set(MANIFEST_MAGIC, 0);
  out[7] = version;
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let p = tableStart;
  // The trailing weakBytes bytes of the big-endian 32-bit sum, as zsync stores it.
  const putWeak = (w: number) => {
    for (let k = t.weakBytes - 1; k >= 0; k--) out[p++] = (w >>> (8 * k)) & 0xff;
  };
  if (version === 1) {
    for (let i = 0; i < t.blockCount; i++) {
      putWeak(t.weak[i]);
      out.set(t.strong.subarray(i * t.strongBytes, (i + 1) * t.strongBytes), p);
      p += t.strongBytes;
    }
  } else {
    for (let i = 0; i < t.blockCount; i++) putWeak(t.weak[i]);
    out.set(t.strong.subarray(0, t.blockCount * t.strongBytes), p);
    p += t.blockCount * t.strongBytes;
  }
  const sha = await createSHA256();
  sha.init();
  sha.update(out.subarray(0, p));
  out.set(sha.digest('binary'), p);
  return out;
}
