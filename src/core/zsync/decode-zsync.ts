import type { BlockTable } from '../block-table.ts';
import { ErrorCode, TesseraError } from '../errors.ts';
import { MANIFEST_LIMITS } from '../manifest/manifest.ts';

/** A zsync 0.6.2 control file, as zsyncmake writes it (see ../shared/reference/zsync.md). */
export interface ZsyncControl {
  /** The `zsync:` header: the version of zsyncmake that wrote it. */
  readonly version: string;
  /** Suggested output name (no directories). */
  readonly filename: string;
  /** The `MTime:` header as written, if any. */
  readonly mtime?: string;
  /** `URL:` lines as written: absolute, or relative to the control file's URL. */
  readonly urls: readonly string[];
  /** Lowercase hex SHA-1 of the whole file. */
  readonly sha1: string;
  /** Blocks: weak sums (rsum_bytes trailing bytes), MD4 prefixes (checksum_bytes), seq_matches. */
  readonly blocks: BlockTable;
}

/** Headers zsyncmake 0.6.2 writes for a plain (not gzip) file, which this reader understands. */
const KNOWN = new Set(['zsync', 'filename', 'mtime', 'blocksize', 'length', 'hash-lengths', 'url', 'sha-1', 'min-version', 'safe']);
/** Headers of zsync's gzip mode: the file is fetched compressed and recompressed. */
const GZIP_MODE = ['z-url', 'z-map2', 'recompress', 'z-filename'];
/** The newest zsync format version this reader follows. */
const READS_VERSION = [0, 6, 2];
/** More header than any real control file has; protects against a binary file given by mistake. */
const MAX_HEADER_BYTES = 64 << 10;

/**
 * Parse a .zsync control file. It is untrusted input: every problem is a
 * TesseraError with a code and a message naming `source`, and sizes are
 * checked against the bytes present before anything is allocated.
 */
export function decodeZsync(bytes: Uint8Array, source = 'control file'): ZsyncControl {
  const fail = (code: ErrorCode, what: string): never => {
    throw new TesseraError(code, `${source}: ${what}`, { source });
  };
  const corrupt = (what: string) => fail(ErrorCode.ManifestCorrupt, `this .zsync file is damaged (${what}); download it again`);

  // The header: "Name: value" lines, ended by an empty line; the block table follows.
  const startsRight = bytes.length >= 7 && new TextDecoder().decode(bytes.subarray(0, 7)) === 'zsync: ';
  if (!startsRight) fail(ErrorCode.ManifestNotRecognized, 'this is not a .zsync control file (it does not start with "zsync: "); give the .zsync file made by zsyncmake');
  const headers = new Map<string, string[]>();
  const text = new TextDecoder('utf-8', { fatal: false });
  let end = -1;
  for (let at = 0; end < 0; ) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0 || nl > MAX_HEADER_BYTES) {
      if (bytes.length < MAX_HEADER_BYTES) fail(ErrorCode.ManifestTruncated, 'the .zsync file ends inside its header; download it again');
      corrupt('no end of header in the first 64 KB');
    }
    if (nl === at) {
      end = at; // the empty line
      break;
    }
    const line = text.decode(bytes.subarray(at, nl));
    const colon = line.indexOf(':');
    if (colon <= 0) corrupt(`a header line without "Name:": ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    // Gzip mode puts binary data (the Z-Map2 table) inside the header: refuse before reading on.
    if (GZIP_MODE.includes(name)) {
      fail(
        ErrorCode.FormatUnsupported,
        "it was made in zsync's gzip mode (Z-URL/Z-Map2: the file is fetched compressed and recompressed), which Tessera does not read; use the .zsync of the uncompressed file (zsyncmake -Z)",
      );
    }
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    at = nl + 1;
  }
  const one = (name: string): string | undefined => headers.get(name)?.[0];

  const version = one('zsync') ?? '';
  const minVersion = one('min-version');
  if (minVersion && compareVersions(minVersion, READS_VERSION) > 0) {
    fail(ErrorCode.FormatUnsupported, `it needs zsync ${minVersion} or newer; Tessera reads the format of zsync ${READS_VERSION.join('.')}`);
  }
  // zsync itself refuses a header it does not know unless the file lists it as safe to ignore.
  const safe = new Set((one('safe') ?? '').split(/\s+/).filter(Boolean).map((h) => h.toLowerCase()));
  for (const name of headers.keys()) {
    if (!KNOWN.has(name) && !safe.has(name)) fail(ErrorCode.FormatUnsupported, `it has a header "${name}" that zsync ${READS_VERSION.join('.')} does not know; update Tessera`);
  }

  const integer = (name: string, min: number, max: number): number => {
    const text = one(name);
    if (text === undefined) corrupt(`no ${name} header`);
    if (!/^\d{1,16}$/.test(text!)) corrupt(`${name} is not a number: ${JSON.stringify(text!.slice(0, 30))}`);
    const value = Number(text);
    if (value < min || value > max) fail(ErrorCode.ManifestLimit, `${name} ${value} is outside what Tessera accepts (${min} to ${max}); the file is damaged or not meant for this program: download it again`);
    return value;
  };
  const blockSize = integer('blocksize', 1, MANIFEST_LIMITS.maxBlockSize);
  if ((blockSize & (blockSize - 1)) !== 0) corrupt(`Blocksize ${blockSize} is not a power of two`);
  const length = integer('length', 0, MANIFEST_LIMITS.maxImageLength);

  const hashLengths = (one('hash-lengths') ?? '1,4,16').split(',').map((x) => x.trim());
  if (hashLengths.length !== 3 || hashLengths.some((x) => !/^\d{1,2}$/.test(x))) corrupt(`Hash-Lengths is not three numbers: ${one('hash-lengths')}`);
  const [seqMatches, rsumBytes, checksumBytes] = hashLengths.map(Number);
  if (seqMatches < 1 || seqMatches > 2 || rsumBytes < 1 || rsumBytes > 4 || checksumBytes < 3 || checksumBytes > 16) {
    corrupt(`Hash-Lengths ${seqMatches},${rsumBytes},${checksumBytes} is outside 1-2, 1-4, 3-16`);
  }

  const sha1 = (one('sha-1') ?? '').toLowerCase();
  if (!sha1) fail(ErrorCode.FormatUnsupported, 'it has no SHA-1 line, so the result could not be verified; use a .zsync made by zsyncmake 0.6.2, which writes one');
  if (!/^[0-9a-f]{40}$/.test(sha1)) corrupt(`SHA-1 is not 40 hex digits: ${JSON.stringify(sha1.slice(0, 50))}`);
  const urls = headers.get('url') ?? [];
  if (urls.some((u) => u.length === 0 || u.length > MANIFEST_LIMITS.maxUrlLength)) corrupt('an empty or overlong URL line');
  const filename = (one('filename') ?? '').split('/').pop() || source.split(/[/\\?#]/).filter(Boolean).pop()?.replace(/\.zsync$/, '') || 'download';

  // The block table: per block, the trailing rsumBytes bytes of a_hi a_lo b_hi b_lo, then checksumBytes of MD4.
  const blockCount = Math.ceil(length / blockSize);
  const record = rsumBytes + checksumBytes;
  const table = bytes.subarray(end + 1);
  if (table.length < blockCount * record) {
    fail(ErrorCode.ManifestTruncated, `the .zsync file is truncated (its block table has ${table.length} of ${blockCount * record} bytes); download it again`);
  }
  const weak = new Uint32Array(blockCount);
  const strong = new Uint8Array(blockCount * checksumBytes);
  for (let k = 0; k < blockCount; k++) {
    const at = k * record;
    let w = 0;
    for (let i = 0; i < rsumBytes; i++) w = (w << 8) | table[at + i];
    weak[k] = w >>> 0;
    strong.set(table.subarray(at + rsumBytes, at + record), k * checksumBytes);
  }
  return {
    version,
    filename,
    mtime: one('mtime'),
    urls,
    sha1,
    blocks: {
      length,
      blockSize,
      blockCount,
      weakBytes: rsumBytes,
      strongBytes: checksumBytes,
      strongHash: 'md4',
      seqMatches: seqMatches as 1 | 2,
      weak,
      strong,
    },
  };
}

/** Compare a dotted version with [major, minor, patch]: <0, 0, >0. */
function compareVersions(text: string, than: number[]): number {
  const parts = text.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(parts.length, than.length); i++) {
    const d = (parts[i] ?? 0) - (than[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
