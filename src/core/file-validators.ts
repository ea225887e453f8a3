/**
 * A mirror's file must not change under us (zip.js's rule): its ETag and
 * Last-Modified, as first seen, are compared with every later answer, and a
 * new value means a new file. They are kept per mirror and per URL that
 * answered for it (a redirector's targets each have their own), and can be
 * carried from one attempt to the next: the page's first check of a mirror
 * is the baseline of every download it starts, so a file replaced between two
 * tries is said to have changed rather than to send bad data. Across runs and
 * visits only those of answers that verified are kept, and they only explain
 * a failure (DownloaderOptions.earlierValidators).
 */

/** ETag and Last-Modified of a mirror's file, as first seen. */
export interface FileValidators {
  etag?: string;
  lastModified?: string;
}

/** Per mirror URL, per URL that answered for it: the validators first seen. */
export type MirrorValidators = Record<string, Record<string, FileValidators>>;

/**
 * Compare an answer's validators with those seen before: a description of
 * what changed ('ETag "a" -> "b"'), or null. Values not seen before are
 * recorded in `seen`.
 */
export function validatorChange(seen: FileValidators, header: (name: string) => string | null): string | null {
  for (const [key, name, label] of [
    ['etag', 'etag', 'ETag'],
    ['lastModified', 'last-modified', 'Last-Modified'],
  ] as const) {
    const value = header(name);
    if (!value) continue;
    const before = seen[key];
    if (before === undefined) seen[key] = value;
    else if (before !== value) return `${label} ${before} -> ${value}`;
  }
  return null;
}

/** Where the file changed, for a message: on the mirror itself, or at the URL it redirected to. */
export const changedWhere = (mirror: string, answered: string) => (answered === mirror ? 'on the mirror' : `at ${answered}`);

/** `later`'s validators over `earlier`'s, per mirror and per URL that answered (neither is changed). */
export function mergeValidators(earlier: MirrorValidators | undefined, later: MirrorValidators): MirrorValidators {
  const out: MirrorValidators = {};
  for (const source of [earlier ?? {}, later]) {
    for (const [mirror, answers] of Object.entries(source)) Object.assign((out[mirror] ??= {}), answers);
  }
  return out;
}
