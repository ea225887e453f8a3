import { ErrorCode, TesseraError, describeError } from '../errors.ts';
import { type StreamHasherFactory, bytesToHex } from '../hashing.ts';
import { checksumName } from '../manifest/manifest.ts';
import { type JigdoFile, MAX_JIGDO_BYTES, decodeJigdo, isGzip } from './decode-jigdo.ts';
import type { Decompressor } from './template-data.ts';

// What the command line and the page do alike with a .jigdo before any file
// is matched: recognise it, read it, find its template and check it.

/** Does this look like a .jigdo file (gzipped, or jigdo's INI text)? Anything else is a manifest or a .zsync. */
export function looksLikeJigdo(bytes: Uint8Array): boolean {
  if (isGzip(bytes)) return true;
  const head = new TextDecoder().decode(bytes.subarray(0, 512));
  return /^\s*(#[^\n]*\n\s*)*\[(Jigdo|Image)\]/.test(head);
}

/** A .jigdo as published (usually gzipped under the plain name), decoded. */
export async function readJigdo(raw: Uint8Array, source: string, decompress: Decompressor): Promise<JigdoFile> {
  if (!isGzip(raw)) return decodeJigdo(raw, source);
  let text: Uint8Array;
  try {
    text = await decompress('gzip', raw, MAX_JIGDO_BYTES);
  } catch (error) {
    throw new TesseraError(ErrorCode.ManifestCorrupt, `${source}: this gzipped .jigdo could not be decompressed (${describeError(error)}); download it again`, { source }, { cause: error });
  }
  return decodeJigdo(text, source);
}

const isAbsoluteUrl = (ref: string) => /^[a-z][a-z0-9+.-]*:/i.test(ref);

/**
 * The template's absolute URL: as written, or relative to the .jigdo's URL.
 * Undefined when it is relative and the .jigdo has no URL (a local file):
 * the caller then looks beside the file, or says it cannot.
 */
export function templateUrl(jigdo: JigdoFile, jigdoUrl: string | undefined): string | undefined {
  if (isAbsoluteUrl(jigdo.image.template)) return new URL(jigdo.image.template).href;
  return jigdoUrl ? new URL(jigdo.image.template, jigdoUrl).href : undefined;
}

/**
 * Check the template's bytes against the .jigdo's Template-MD5Sum and
 * Template-SHA256Sum (those it has), before anything is built from it.
 */
export async function verifyTemplate(jigdo: JigdoFile, templateBytes: Uint8Array, source: string, createHasher: StreamHasherFactory): Promise<void> {
  for (const [algorithm, expected] of [['md5', jigdo.image.templateMd5], ['sha256', jigdo.image.templateSha256]] as const) {
    if (!expected) continue;
    const h = await createHasher(algorithm);
    h.update(templateBytes);
    if ((await h.digest()) !== bytesToHex(expected)) {
      throw new TesseraError(ErrorCode.ManifestCorrupt, `${source}: the template is not the one the .jigdo names (its ${checksumName(algorithm)} differs); download both again`, { source });
    }
  }
}
