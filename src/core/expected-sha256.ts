/**
 * The SHA-256 the user expects (pasted from the distribution's signed
 * checksum list, `--sha256` or `?sha256=`): an image description that names
 * another SHA-256 is refused before anything is downloaded. Descriptions that
 * carry only SHA-1 or MD5 (.zsync, some jigdo templates) cannot be checked in
 * advance; the built image's SHA-256 is then checked before it is handed over.
 */
import { ErrorCode, TesseraError } from './errors.ts';
import type { ImageChecksum } from './manifest/manifest.ts';

/**
 * The 64 hex digits in what the user pasted: a bare digest, a `sha256sum`
 * line ("HEX  debian.iso") or a BSD-style line ("SHA256 (debian.iso) = HEX").
 */
export function parseExpectedSha256(text: string): string {
  const found = text.match(/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/i);
  if (!found) {
    throw new TesseraError(ErrorCode.InvalidOption, `"${text.slice(0, 100)}" does not contain a SHA-256 (64 hexadecimal digits); copy the line for your image from the distribution's SHA256SUMS file`);
  }
  return found[0].toLowerCase();
}

/**
 * Compare the description's own checksum with the expected SHA-256. Throws
 * when they differ; returns whether the built image still has to be hashed
 * with SHA-256 (the description had another algorithm).
 */
export function checkDescribedImage(expected: string | undefined, described: ImageChecksum, source: string): boolean {
  if (expected === undefined) return false;
  if (described.algorithm !== 'sha256') return true;
  if (described.hex !== expected) {
    throw new TesseraError(
      ErrorCode.ExpectedChecksumMismatch,
      `${source} describes an image whose SHA-256 is ${described.hex}, not the ${expected} you asked for; it is for another image (or another version), so nothing was downloaded. Check that the manifest and the checksum are for the same file`,
      { expected, described: described.hex },
    );
  }
  return false;
}

/** The error for a built image whose SHA-256 is not the expected one (descriptions without SHA-256). */
export function builtImageMismatch(expected: string, actual: string, name: string): TesseraError {
  return new TesseraError(
    ErrorCode.ExpectedChecksumMismatch,
    `the image built as ${name} matches its description, but its SHA-256 is ${actual}, not the ${expected} you asked for; it was not kept. Check that the description and the checksum are for the same file`,
    { expected, actual },
  );
}
