import { ErrorCode, TesseraError } from '../errors.ts';
import { decodeJigdoBase64 } from './jigdo-base64.ts';

/** A .jigdo file: which template, which parts, and where to fetch them (see ../shared/reference/jigdo.md). */
export interface JigdoFile {
  /** [Jigdo] Version=, e.g. "1.2" (MD5 parts) or "2.0" (SHA-256 parts). */
  readonly version: string;
  readonly generator?: string;
  /** The first [Image] section. */
  readonly image: {
    readonly filename: string;
    /** URL of the template, absolute or relative to the .jigdo's URL. */
    readonly template: string;
    readonly templateMd5?: Uint8Array;
    readonly templateSha256?: Uint8Array;
    readonly shortInfo?: string;
    readonly info?: string;
  };
  /** [Parts]: checksum (jigdo base64) -> where to get the file, in order (Label:path or a URL). */
  readonly parts: ReadonlyMap<string, readonly string[]>;
  /** [Servers]: label -> URL prefixes (or Label:path of another label), in file order; --try-last ones at the end. */
  readonly servers: ReadonlyMap<string, readonly string[]>;
}

/** A .jigdo is a few MB at most; refuse anything far larger. */
export const MAX_JIGDO_BYTES = 64 << 20;

/**
 * Parse a .jigdo file (already gunzipped: see isGzip). It is untrusted input:
 * problems are TesseraErrors naming `source`.
 */
export function decodeJigdo(bytes: Uint8Array, source = '.jigdo file'): JigdoFile {
  const fail = (code: ErrorCode, what: string): never => {
    throw new TesseraError(code, `${source}: ${what}`, { source });
  };
  if (bytes.length > MAX_JIGDO_BYTES) fail(ErrorCode.ManifestLimit, `${bytes.length} bytes is too large for a .jigdo file; check that this is the .jigdo file`);
  const text = new TextDecoder('utf-8').decode(bytes);
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | null = null;
  let imageSections = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = section[1].trim();
      if (name === 'Image' && ++imageSections > 1) {
        current = null; // only the first [Image] counts
        continue;
      }
      current = sections.get(name) ?? [];
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) fail(ErrorCode.ManifestCorrupt, `a line that is neither a [Section] nor Name=Value: ${JSON.stringify(line.slice(0, 60))}; download it again`);
    current?.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  if (!sections.has('Jigdo') && !sections.has('Image')) fail(ErrorCode.ManifestNotRecognized, 'this is not a .jigdo file (no [Jigdo] or [Image] section); give the .jigdo file made by jigdo-file');
  const get = (section: string, key: string) => sections.get(section)?.find(([k]) => k === key)?.[1];

  const version = get('Jigdo', 'Version') ?? '1.0';
  const major = Number.parseInt(version, 10);
  if (!(major >= 0) || major > 2) fail(ErrorCode.ManifestUnsupportedVersion, `.jigdo format ${version} is not supported (Tessera reads 1.x and 2.x); update Tessera`);

  const word = (section: string, key: string) => {
    const value = get(section, key);
    return value === undefined ? undefined : (splitWords(value)[0] ?? '');
  };
  const filename = word('Image', 'Filename');
  const template = word('Image', 'Template');
  if (!filename || !template) fail(ErrorCode.ManifestCorrupt, 'its [Image] section lacks Filename= or Template=; download it again');
  const checksum = (key: string, length: number) => {
    const value = word('Image', key);
    if (value === undefined) return undefined;
    const decoded = decodeJigdoBase64(value);
    if (!decoded || decoded.length !== length) fail(ErrorCode.ManifestCorrupt, `${key} is not a checksum: ${JSON.stringify(value.slice(0, 60))}; download it again`);
    return decoded!;
  };

  const parts = new Map<string, string[]>();
  for (const [key, value] of sections.get('Parts') ?? []) {
    if (key.length !== 22 && key.length !== 43) fail(ErrorCode.ManifestCorrupt, `[Parts] has a key that is not an MD5 or SHA-256 checksum: ${JSON.stringify(key.slice(0, 60))}; download it again`);
    const where = splitWords(value)[0];
    if (where) parts.set(key, [...(parts.get(key) ?? []), where]);
  }
  const servers = new Map<string, string[]>();
  const last = new Map<string, string[]>();
  for (const [label, value] of sections.get('Servers') ?? []) {
    const [prefix, ...options] = splitWords(value);
    if (!prefix) continue;
    const list = options.includes('--try-last') ? last : servers;
    list.set(label, [...(list.get(label) ?? []), prefix]);
  }
  for (const [label, prefixes] of last) servers.set(label, [...(servers.get(label) ?? []), ...prefixes]);

  return {
    version,
    generator: get('Jigdo', 'Generator'),
    image: {
      filename: filename!.split('/').pop()!,
      template: template!,
      templateMd5: checksum('Template-MD5Sum', 16),
      templateSha256: checksum('Template-SHA256Sum', 32),
      shortInfo: get('Image', 'ShortInfo'),
      info: get('Image', 'Info'),
    },
    parts,
    servers,
  };
}

/** Is this gzip data (the usual form of a published .jigdo, under the same name)? */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** More references than any real [Servers] section leads to for one part. */
const MAX_EXPANDED_REFS = 1000;

/**
 * Every URL a part can be fetched from, in the order to try them: a part's
 * alternatives in file order, each `Label:path` expanded through [Servers]
 * (labels may point at other labels; --try-last prefixes come last). Relative
 * results are left for the caller to resolve against the .jigdo's URL.
 */
export function partUrls(jigdo: JigdoFile, checksumKey: string): string[] {
  const out: string[] = [];
  // Each reference is expanded once, and only so many in all: labels that
  // point at each other several times over would otherwise multiply at every level.
  const seen = new Set<string>();
  const expand = (ref: string, depth: number) => {
    if (seen.has(ref) || seen.size >= MAX_EXPANDED_REFS) return;
    seen.add(ref);
    const m = /^([A-Za-z0-9_.-]+):(.*)$/.exec(ref);
    const label = m?.[1];
    if (!m || !label || !jigdo.servers.has(label) || /^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
      out.push(ref);
      return;
    }
    if (depth > 10) return; // a loop of labels
    for (const prefix of jigdo.servers.get(label)!) expand(prefix + m[2], depth + 1);
  };
  for (const ref of jigdo.parts.get(checksumKey) ?? []) expand(ref, 0);
  return [...new Set(out)];
}

/** jigdo's value syntax: words split on spaces, with '…' and "…" quoting and backslash escapes. */
export function splitWords(value: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === "'") {
      const close = value.indexOf("'", i + 1);
      word += value.slice(i + 1, close < 0 ? value.length : close);
      i = close < 0 ? value.length : close;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        word += value[i++];
      }
      inWord = true;
    } else if (c === '\\' && i + 1 < value.length) {
      word += value[++i];
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
