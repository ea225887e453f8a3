import { createSHA256 } from 'hash-wasm';
import { MANIFEST_MAGIC, MANIFEST_VERSION, type Manifest } from './manifest.ts';

/**
 * Serialize a manifest (layout in docs/manifest-format.md):
 * magic, version byte, u32 LE header length, JSON header, binary block table,
 * SHA-256 of everything before it.
 */
export async function encodeManifest(manifest: Manifest): Promise<Uint8Array> {
  const t = manifest.blocks;
  const header = new TextEncoder().encode(
    JSON.stringify({
      name: manifest.name,
      length: t.length,
      sha256: manifest.checksum.hex,
      blockSize: t.blockSize,
      weakBytes: t.weakBytes,
      strongBytes: t.strongBytes,
      strongHash: t.strongHash,
      mirrors: manifest.mirrors,
      generator: manifest.generator,
      ...(manifest.sha256Chain ? { sha256Chain: manifest.sha256Chain } : {}),
    }),
  );
  const record = t.weakBytes + t.strongBytes;
  const tableStart = 12 + header.length;
  const out = new Uint8Array(tableStart + t.blockCount * record + 32);
  out.set(MANIFEST_MAGIC, 0);
  out[7] = MANIFEST_VERSION;
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let p = tableStart;
  for (let i = 0; i < t.blockCount; i++) {
    const w = t.weak[i];
    // The trailing weakBytes bytes of the big-endian 32-bit sum, as zsync stores it.
    for (let k = t.weakBytes - 1; k >= 0; k--) out[p++] = (w >>> (8 * k)) & 0xff;
    out.set(t.strong.subarray(i * t.strongBytes, (i + 1) * t.strongBytes), p);
    p += t.strongBytes;
  }
  const sha = await createSHA256();
  sha.init();
  sha.update(out.subarray(0, p));
  out.set(sha.digest('binary'), p);
  return out;
}
