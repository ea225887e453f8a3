import { createSHA256 } from 'hash-wasm';
import { ErrorCode, TesseraError } from '../errors.ts';
import type { StrongHashName } from '../hashing.ts';
import { chainProblem, type Sha256Chain } from '../sha256-chain.ts';
import { MANIFEST_LIMITS as L, MANIFEST_MAGIC, MANIFEST_VERSION, type Manifest } from './manifest.ts';

const STRONG_HASHES: readonly StrongHashName[] = ['xxh128'];

export interface DecodeOptions {
  /** Put the block table's sums in SharedArrayBuffers (for scan threads). */
  shared?: boolean;
}

/**
 * Parse and check a manifest. It is untrusted input: every size is checked
 * against the bytes actually present before anything is allocated, and every
 * problem is a TesseraError with a code, never a crash. `source` names the
 * file or URL in messages.
 */
export async function decodeManifest(bytes: Uint8Array, source = 'manifest', options: DecodeOptions = {}): Promise<Manifest> {
  const fail = (code: ErrorCode, what: string): never => {
    throw new TesseraError(code, `${source}: ${what}`, { source });
  };
  const truncated = (what: string) =>
    fail(ErrorCode.ManifestTruncated, `the manifest is truncated (${what}); download it again`);
  const corrupt = (what: string) =>
    fail(ErrorCode.ManifestCorrupt, `the manifest is corrupted (${what}); download it again`);

  for (let i = 0; i < MANIFEST_MAGIC.length; i++) {
    if (i >= bytes.length) truncated(`only ${bytes.length} bytes`);
    if (bytes[i] !== MANIFEST_MAGIC[i]) {
      fail(
        ErrorCode.ManifestNotRecognized,
        'this is neither a Tessera manifest nor a .zsync control file; give the .tessera file made by `tessera make`, or a .zsync file',
      );
    }
  }
  if (bytes.length < 12) truncated(`only ${bytes.length} bytes`);
  const version = bytes[7];
  if (version === 0 || version > MANIFEST_VERSION) {
    fail(
      ErrorCode.ManifestUnsupportedVersion,
      `manifest format version ${version} is not supported (this program reads versions 1 to ${MANIFEST_VERSION}); update Tessera`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (headerLength < 2 || headerLength > L.maxHeaderBytes) corrupt(`header length ${headerLength} is out of range`);
  if (12 + headerLength > bytes.length) truncated(`header of ${headerLength} bytes, ${bytes.length - 12} present`);

  let header: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    header = parsed as Record<string, unknown>;
  } catch {
    return corrupt('its header is not valid JSON');
  }

  const integer = (key: string, min: number, max: number, code: ErrorCode = ErrorCode.ManifestCorrupt): number => {
    const v = header[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) return corrupt(`"${key}" is not an integer`);
    if (v < min || v > max) fail(code, `"${key}" is ${v}, outside ${min}..${max}; the manifest is damaged or not meant for this program; download it again`);
    return v;
  };
  const length = integer('length', 1, L.maxImageLength, ErrorCode.ManifestLimit);
  const blockSize = integer('blockSize', L.minBlockSize, L.maxBlockSize, ErrorCode.ManifestLimit);
  if ((blockSize & (blockSize - 1)) !== 0) corrupt(`block size ${blockSize} is not a power of two`);
  const weakBytes = integer('weakBytes', L.minWeakBytes, L.maxWeakBytes);
  const strongBytes = integer('strongBytes', version === 1 ? 4 : L.minStrongBytes, L.maxStrongBytes);
  // Version 1 has no such field: its blocks match on their own.
  const seqMatches = version === 1 ? 1 : (integer('seqMatches', 1, 2) as 1 | 2);
  const strongHash = header.strongHash;
  if (typeof strongHash !== 'string' || !STRONG_HASHES.includes(strongHash as StrongHashName)) {
    corrupt(`unknown block hash ${JSON.stringify(strongHash)}`);
  }
  const sha256 = header.sha256;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) corrupt('"sha256" is not 64 hex digits');
  const name = header.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > L.maxNameLength || /[/\\\0]/.test(name) || name === '.' || name === '..') {
    corrupt('"name" is not a plain file name');
  }
  const mirrors = header.mirrors;
  if (!Array.isArray(mirrors) || mirrors.length > L.maxMirrors || !mirrors.every((m) => typeof m === 'string' && m.length > 0 && m.length <= L.maxUrlLength)) {
    corrupt('"mirrors" is not a list of URLs');
  }
  const chain = header.sha256Chain;
  if (chain !== undefined) {
    const problem = chainProblem(chain, length);
    if (problem) corrupt(`"sha256Chain" ${problem}`);
  }
  const generator = typeof header.generator === 'string' ? header.generator.slice(0, 200) : 'unknown';

  const blockCount = Math.ceil(length / blockSize);
  const record = weakBytes + strongBytes;
  const tableStart = 12 + headerLength;
  const expected = tableStart + blockCount * record + 32;
  if (bytes.length < expected) truncated(`${bytes.length} bytes of ${expected}`);
  if (bytes.length > expected) corrupt(`${bytes.length - expected} unexpected bytes at the end`);

  const sha = await createSHA256();
  sha.init();
  sha.update(bytes.subarray(0, expected - 32));
  const digest = sha.digest('binary');
  for (let i = 0; i < 32; i++) if (digest[i] !== bytes[expected - 32 + i]) corrupt('its checksum does not match its content');

  // In shared memory if asked: scan threads then use the table as it is (see shareTable).
  const memory = (size: number) => (options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  const weak = new Uint32Array(memory(blockCount * 4));
  let strong: Uint8Array;
  let p = tableStart;
  if (version === 1) {
    // One record per block: weak sum, then strong sum.
    strong = new Uint8Array(memory(blockCount * strongBytes));
    for (let i = 0; i < blockCount; i++) {
      let w = 0;
      for (let k = 0; k < weakBytes; k++) w = (w << 8) | bytes[p++];
      weak[i] = w >>> 0;
      strong.set(bytes.subarray(p, p + strongBytes), i * strongBytes);
      p += strongBytes;
    }
  } else {
    // Every block's weak sum, then every block's strong sum.
    for (let i = 0; i < blockCount; i++) {
      let w = 0;
      for (let k = 0; k < weakBytes; k++) w = (w << 8) | bytes[p++];
      weak[i] = w >>> 0;
    }
    strong = new Uint8Array(memory(blockCount * strongBytes));
    strong.set(bytes.subarray(p, p + blockCount * strongBytes));
  }
  return {
    version,
    name: name as string,
    checksum: { algorithm: 'sha256', hex: sha256 as string },
    mirrors: mirrors as string[],
    generator,
    ...(chain !== undefined ? { sha256Chain: chain as Sha256Chain } : {}),
    blocks: { length, blockSize, blockCount, weakBytes, strongBytes, strongHash: strongHash as StrongHashName, seqMatches, weak, strong },
  };
}
