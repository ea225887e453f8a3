/**
 * Named error codes: callers (command line, page) branch on `code`, never on
 * the message text. Messages say what happened, to which file or mirror, and
 * what the user can do about it.
 */
export const ErrorCode = {
  /** The manifest ends before its declared content does. */
  ManifestTruncated: 'E_MANIFEST_TRUNCATED',
  /** The manifest's bytes do not match its own checksum, or a field is malformed. */
  ManifestCorrupt: 'E_MANIFEST_CORRUPT',
  /** Not a Tessera manifest at all (wrong magic bytes). */
  ManifestNotRecognized: 'E_MANIFEST_NOT_RECOGNIZED',
  /** A manifest of a newer format version than this program reads. */
  ManifestUnsupportedVersion: 'E_MANIFEST_UNSUPPORTED_VERSION',
  /** A field is outside what this program accepts (e.g. an image of 2^60 bytes). */
  ManifestLimit: 'E_MANIFEST_LIMIT',
  /** A .zsync or jigdo file uses a feature this program does not read (gzip-mode .zsync, unknown headers...). */
  FormatUnsupported: 'E_FORMAT_UNSUPPORTED',
  /** The manifest could not be read or fetched at all. */
  ManifestUnavailable: 'E_MANIFEST_UNAVAILABLE',
  /** Invalid options given by the caller (block size, URLs...). */
  InvalidOption: 'E_INVALID_OPTION',
  /** A seed file could not be read. */
  SeedRead: 'E_SEED_READ',
  /** Every mirror failed for some range; the message lists what each did. */
  MirrorsFailed: 'E_MIRRORS_FAILED',
  /** The image on a mirror is not the one the manifest describes (size/ETag changed). */
  RemoteChanged: 'E_REMOTE_CHANGED',
  /** The assembled image does not have the SHA-256 the manifest promised. */
  ChecksumMismatch: 'E_CHECKSUM_MISMATCH',
  /** The image is not the one the user asked for (--sha256 / ?sha256=): refused before downloading, or after building when only the result can tell. */
  ExpectedChecksumMismatch: 'E_EXPECTED_CHECKSUM',
  /** Writing the output failed (permission denied, I/O error...). */
  OutputWrite: 'E_OUTPUT_WRITE',
  /** The output's disk is full, or has less free space than the image needs. */
  OutputNoSpace: 'E_NO_SPACE',
  /** The work was cancelled by the user. */
  Aborted: 'E_ABORTED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class TesseraError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (file name, mirror, offsets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TesseraError';
    this.code = code;
    this.details = details;
  }
}

export function isTesseraError(value: unknown, code?: ErrorCode): value is TesseraError {
  return value instanceof TesseraError && (code === undefined || value.code === code);
}

/** A short description of any thrown value, for messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A failed write, as the user should read it: a full disk (or storage quota) is said plainly. */
export function outputWriteError(error: unknown, at: number): TesseraError {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  if (code === 'ENOSPC' || code === 'EDQUOT' || name === 'QuotaExceededError') {
    return new TesseraError(
      ErrorCode.OutputNoSpace,
      `the disk is full: could not write the image at byte ${at} (${describeError(error)}); free some space, or write the image elsewhere`,
      { at },
      { cause: error },
    );
  }
  return new TesseraError(ErrorCode.OutputWrite, `could not write the image at byte ${at}: ${describeError(error)}`, { at }, { cause: error });
}
