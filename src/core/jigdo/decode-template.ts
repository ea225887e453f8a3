import { ErrorCode, TesseraError } from '../errors.ts';
import { MANIFEST_LIMITS } from '../manifest/manifest.ts';

/** One stretch of the image, in order: bytes kept in the template, or a whole file the user may have. */
export type TemplateEntry =
  | { readonly kind: 'data'; readonly offset: number; readonly length: number }
  | {
      readonly kind: 'file';
      readonly offset: number;
      readonly length: number;
      /** rsync64 of the file's first rsyncBlockLength bytes. */
      readonly rsync64: Uint8Array;
      /** MD5 (16 bytes) or SHA-256 (32 bytes) of the whole file. */
      readonly checksum: Uint8Array;
    };

/** A compressed part of the template; their decompressed bytes, in order, are the image's data entries. */
export interface TemplatePart {
  readonly compression: 'zlib' | 'bzip2';
  /** Where the compressed stream sits in the template file. */
  readonly start: number;
  readonly end: number;
  readonly uncompressedLength: number;
}

/** A jigdo .template (see ../shared/reference/jigdo.md). */
export interface JigdoTemplate {
  readonly version: string;
  readonly creator: string;
  readonly imageLength: number;
  /** MD5 for version-1 descriptions (type 5/6 entries), SHA-256 for version 2 (8/9). */
  readonly algorithm: 'md5' | 'sha256';
  /** The whole image's checksum. */
  readonly imageChecksum: Uint8Array;
  readonly rsyncBlockLength: number;
  readonly entries: readonly TemplateEntry[];
  readonly parts: readonly TemplatePart[];
}

const u48 = (b: Uint8Array, at: number) => b[at] + b[at + 1] * 2 ** 8 + b[at + 2] * 2 ** 16 + b[at + 3] * 2 ** 24 + b[at + 4] * 2 ** 32 + b[at + 5] * 2 ** 40;
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const ascii = (b: Uint8Array) => String.fromCharCode(...b);

/**
 * Read a template's structure: its DESC table (located from the file's last 6
 * bytes) and the list of compressed parts. Nothing is decompressed here. It
 * is untrusted input: every length is checked against the file before use,
 * and every problem is a TesseraError naming `source`.
 */
export function decodeTemplate(bytes: Uint8Array, source = 'template'): JigdoTemplate {
  const fail = (code: ErrorCode, what: string): never => {
    throw new TesseraError(code, `${source}: ${what}`, { source });
  };
  const corrupt = (what: string) => fail(ErrorCode.ManifestCorrupt, `this .template is damaged (${what}); download it again`);
  const truncated = (what: string) => fail(ErrorCode.ManifestTruncated, `this .template is truncated (${what}); download it again`);

  // Header: three CRLF-terminated lines.
  const head = ascii(bytes.subarray(0, Math.min(bytes.length, 1024)));
  if (!head.startsWith('JigsawDownload template ')) fail(ErrorCode.ManifestNotRecognized, 'this is not a jigdo .template (it does not start with "JigsawDownload template"); give the .template the .jigdo names');
  let at = 0;
  const lines: string[] = [];
  for (let i = 0; i < 3; i++) {
    const crlf = head.indexOf('\r\n', at);
    if (crlf < 0) truncated('its header');
    lines.push(head.slice(at, crlf));
    at = crlf + 2;
  }
  const [, , version = '', creator = ''] = lines[0].split(' ');
  const major = Number.parseInt(version, 10);
  if (!(major >= 1 && major <= 2)) fail(ErrorCode.ManifestUnsupportedVersion, `template format ${version} is not supported (Tessera reads 1.x and 2.x); update Tessera`);

  // DESC: its length is repeated in the file's last 6 bytes.
  if (bytes.length < at + 16) truncated(`only ${bytes.length} bytes`);
  const descLength = u48(bytes, bytes.length - 6);
  if (descLength < 16 || descLength > bytes.length - at) truncated('its table of contents (DESC) is missing or cut');
  const descStart = bytes.length - descLength;
  if (ascii(bytes.subarray(descStart, descStart + 4)) !== 'DESC' || u48(bytes, descStart + 4) !== descLength) corrupt('no DESC table where its length says');

  const entries: TemplateEntry[] = [];
  let offset = 0;
  let image: { length: number; checksum: Uint8Array; rsync: number; algorithm: 'md5' | 'sha256' } | null = null;
  let p = descStart + 10;
  const end = bytes.length - 6;
  const need = (n: number) => {
    if (p + n > end) corrupt('an entry runs past the end of the DESC table');
  };
  while (p < end) {
    const type = bytes[p++];
    if (image) corrupt('entries after the image information');
    switch (type) {
      case 2: {
        need(6);
        const length = u48(bytes, p);
        p += 6;
        entries.push({ kind: 'data', offset, length });
        offset += length;
        break;
      }
      case 5:
      case 8: {
        const digest = type === 5 ? 16 : 32;
        need(6 + digest + 4);
        image = { length: u48(bytes, p), checksum: bytes.slice(p + 6, p + 6 + digest), rsync: u32(bytes, p + 6 + digest), algorithm: type === 5 ? 'md5' : 'sha256' };
        p += 6 + digest + 4;
        break;
      }
      case 6:
      case 9: {
        const digest = type === 6 ? 16 : 32;
        need(6 + 8 + digest);
        const length = u48(bytes, p);
        entries.push({ kind: 'file', offset, length, rsync64: bytes.slice(p + 6, p + 14), checksum: bytes.slice(p + 14, p + 14 + digest) });
        offset += length;
        p += 6 + 8 + digest;
        break;
      }
      case 7:
      case 10:
        fail(ErrorCode.FormatUnsupported, "this is an unfinished image's .tmp table, not a published template; give the .template the .jigdo names");
        break;
      default:
        corrupt(`an entry of unknown type ${type}`);
    }
  }
  if (!image) corrupt('no image information entry');
  const info = image!;
  if (info.length !== offset) corrupt(`its entries add up to ${offset} bytes, but the image has ${info.length}`);
  if (info.length > MANIFEST_LIMITS.maxImageLength) fail(ErrorCode.ManifestLimit, `an image of ${info.length} bytes is larger than Tessera accepts (4 TiB); check that this is the right template`);
  const wrongKind = entries.find((e) => e.kind === 'file' && e.checksum.length !== (info.algorithm === 'md5' ? 16 : 32));
  if (wrongKind) corrupt('file entries and the image use different checksums');

  // The compressed parts between the header and DESC.
  const parts: TemplatePart[] = [];
  let q = at;
  while (q < descStart) {
    if (q + 16 > descStart) corrupt('a part header runs into the DESC table');
    const id = ascii(bytes.subarray(q, q + 4));
    const partLength = u48(bytes, q + 4);
    if (partLength < 16 || q + partLength > descStart) corrupt(`part ${JSON.stringify(id)} at byte ${q} has an impossible length`);
    if (id !== 'DATA' && id !== 'BZIP') corrupt(`a part of unknown kind ${JSON.stringify(id)} at byte ${q}`);
    parts.push({ compression: id === 'DATA' ? 'zlib' : 'bzip2', start: q + 16, end: q + partLength, uncompressedLength: u48(bytes, q + 10) });
    q += partLength;
  }
  const dataBytes = entries.reduce((n, e) => n + (e.kind === 'data' ? e.length : 0), 0);
  const partBytes = parts.reduce((n, x) => n + x.uncompressedLength, 0);
  if (dataBytes !== partBytes) corrupt(`its parts hold ${partBytes} bytes, but its data entries need ${dataBytes}`);

  return { version, creator, imageLength: info.length, algorithm: info.algorithm, imageChecksum: info.checksum, rsyncBlockLength: info.rsync, entries, parts };
}
