/**
 * Turn browser errors into messages a user can act on. Names of DOMExceptions
 * are stable across browsers; their messages are not.
 */
export function explainNetworkError(url: string, origin: string | undefined): string {
  let crossOrigin = true;
  try {
    crossOrigin = origin !== undefined && new URL(url).origin !== origin;
  } catch {
    // keep the default
  }
  if (crossOrigin) {
    return (
      'could not be read from this page: the mirror does not allow this site (CORS), or it is unreachable. ' +
      `Its server (and any server it redirects to) must send "Access-Control-Allow-Origin" (for ${origin ?? 'this site'} or *) and ` +
      '"Access-Control-Expose-Headers: Content-Range"; see docs/mirrors.md'
    );
  }
  return 'could not be reached (network error)';
}

export function explainStorageError(error: unknown, what: string): string {
  const name = (error as { name?: string })?.name;
  const message = (error as { message?: string })?.message ?? String(error);
  switch (name) {
    case 'QuotaExceededError':
      return `${what}: the disk is full, or the browser's storage quota is used up. Free some space and try again.`;
    case 'NotAllowedError':
    case 'SecurityError':
      return `${what}: permission denied. Choose another place to save the image, or allow this site to write there.`;
    case 'NoModificationAllowedError':
      return `${what}: the file is locked by another tab or program. Close it and try again.`;
    case 'NotReadableError':
      return `${what}: the file could not be read; it changed or was removed after you picked it. Pick it again.`;
    case 'NotFoundError':
      return `${what}: the file is gone; it was removed or moved after you picked it. Pick it again.`;
    default:
      return `${what}: ${message}`;
  }
}

/**
 * A failed write of the image. Chromium fails a "Save as" file's writes with
 * QuotaExceededError when the disk is full, or, depending on timing, with an
 * AbortError "Failed to write data to data pipe" for the same cause.
 */
export function explainWriteError(error: unknown, what: string): string {
  if ((error as { name?: string })?.name === 'AbortError') return diskFullInOtherWords(error, what);
  return explainStorageError(error, what);
}

/** An error Chromium gives for a full disk under another name: said with its own words, as a full disk. */
function diskFullInOtherWords(error: unknown, what: string): string {
  const message = (error as { message?: string })?.message ?? String(error);
  return `${what}: the browser could not write it (${message}), as Chromium says when the disk is full. Free some space and try again.`;
}

/**
 * Copying a file of ours (the verified image, in the site's storage) into the
 * file the user chose failed. When the disk fills up Chromium says
 * QuotaExceededError, or, depending on timing, NotReadableError about our file;
 * if our file can still be read (`sourceReadable`), that too was the write.
 */
export function explainCopyError(error: unknown, what: string, sourceReadable: boolean): string {
  if (sourceReadable && (error as { name?: string })?.name === 'NotReadableError') return diskFullInOtherWords(error, what);
  return explainWriteError(error, what);
}

/**
 * A failed assembly as the page shows it: what stopped it, then what to do.
 * (The page's "Try again" button and its note say that verified work is kept.)
 */
export function explainAssemblyFailure(code: string, message: string): string {
  if (code === 'E_MIRRORS_FAILED') {
    // Only access problems are for the mirror's operator to fix; the rest (5xx, lost connections, bad data) usually pass.
    const access = /CORS|Range|Content-Range|compressed/.test(message);
    const advice = access
      ? 'Ask the mirror’s operator to allow Range requests from this site (see docs/mirrors.md), or try again later.'
      : 'The mirrors may be down or overloaded: try again later.';
    return `The download stopped: ${message}\n\n${advice}`;
  }
  // The mirrors hold another file (changed, or a new version): the message says to get the new manifest.
  if (code === 'E_REMOTE_CHANGED') return `The download stopped: ${message}`;
  if (code === 'E_OUTPUT_WRITE' || code === 'E_NO_SPACE') return `The image could not be saved: ${message}`;
  return message;
}
