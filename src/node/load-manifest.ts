import { readFile } from 'node:fs/promises';
import { describeError, ErrorCode, TesseraError } from '../core/errors.ts';
import { decodeDescription } from '../core/decode-description.ts';
import type { Manifest } from '../core/manifest/manifest.ts';

/** A manifest is at most a few tens of MB; refuse to download a larger "manifest". */
const MAX_MANIFEST_BYTES = 256 << 20;

export interface LoadedManifest {
  manifest: Manifest;
  /** The URL it came from, to resolve relative mirror URLs against. */
  url?: string;
  size: number;
}

/** Read a manifest (ours, or a .zsync control file) from a local path or an http(s) URL, and decode it. */
export async function loadManifest(pathOrUrl: string): Promise<LoadedManifest> {
  const { bytes, url } = await loadDescriptionBytes(pathOrUrl);
  const manifest = await decodeDescription(bytes, url ?? pathOrUrl);
  return { manifest, url, size: bytes.length };
}

/** The bytes of a manifest, .zsync, .jigdo or .template, from a local path or an http(s) URL (with the URL it came from, after redirects). */
export async function loadDescriptionBytes(pathOrUrl: string, what = 'manifest'): Promise<{ bytes: Uint8Array; url?: string }> {
  let bytes: Uint8Array;
  let url: string | undefined;
  if (/^https?:\/\//i.test(pathOrUrl)) {
    url = pathOrUrl;
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow' });
    } catch (error) {
      throw new TesseraError(ErrorCode.ManifestUnavailable, `could not fetch the ${what} ${url}: ${describeError((error as Error).cause ?? error)}`);
    }
    if (!response.ok) throw new TesseraError(ErrorCode.ManifestUnavailable, `could not fetch the ${what} ${url}: HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_MANIFEST_BYTES) throw new TesseraError(ErrorCode.ManifestLimit, `${url}: ${declared} bytes is too large for a ${what}`);
    bytes = declared > 0 && response.body ? await readInto(response.body, declared) : new Uint8Array(await response.arrayBuffer());
    url = response.url || url;
  } else {
    try {
      bytes = await readFile(pathOrUrl);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new TesseraError(ErrorCode.ManifestUnavailable, `cannot read the ${what} ${pathOrUrl}: ${code === 'ENOENT' ? 'no such file' : describeError(error)}`);
    }
  }
  return { bytes, url };
}

/**
 * A body of a known length, read straight into one buffer (arrayBuffer()
 * keeps the chunks and a copy: three times a large manifest's size at once).
 * A body longer than declared (a compressed transfer) makes the buffer grow.
 */
async function readInto(body: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
  let out = new Uint8Array(length);
  let at = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > out.length) {
      if (at + value.length > MAX_MANIFEST_BYTES) {
        await reader.cancel();
        throw new TesseraError(ErrorCode.ManifestLimit, `more than ${MAX_MANIFEST_BYTES} bytes is too large for a manifest`);
      }
      const grown = new Uint8Array(Math.min(MAX_MANIFEST_BYTES, Math.max(2 * out.length, at + value.length)));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    out.set(value, at);
    at += value.length;
  }
  return at === out.length ? out : out.subarray(0, at);
}
