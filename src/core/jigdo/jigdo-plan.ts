import type { JigdoMatches } from './assemble-jigdo.ts';
import { type JigdoFile, partUrls } from './decode-jigdo.ts';
import type { JigdoTemplate } from './decode-template.ts';
import { encodeJigdoBase64 } from './jigdo-base64.ts';

/** Where a jigdo image's bytes will come from, once the user's files are matched. */
export interface JigdoPlan {
  readonly imageLength: number;
  /** Bytes copied from the user's files, and how many of the image's files that is. */
  readonly bytesLocal: number;
  readonly filesLocal: number;
  /** Bytes kept in the template itself (already downloaded with it). */
  readonly bytesFromTemplate: number;
  /** The files the user lacks, fetched whole from the servers: one request each. */
  readonly bytesToFetch: number;
  readonly requests: number;
}

export function planJigdo(template: JigdoTemplate, matches: JigdoMatches): JigdoPlan {
  let bytesLocal = 0;
  let filesLocal = 0;
  let bytesToFetch = 0;
  let requests = 0;
  template.entries.forEach((e, i) => {
    if (e.kind !== 'file') return;
    if (matches.has(i)) {
      bytesLocal += e.length;
      filesLocal++;
    } else {
      bytesToFetch += e.length;
      requests++;
    }
  });
  return { imageLength: template.imageLength, bytesLocal, filesLocal, bytesFromTemplate: template.imageLength - bytesLocal - bytesToFetch, bytesToFetch, requests };
}

/**
 * Each template file entry's URLs, in the order to try them: its [Parts]
 * alternatives through [Servers], relative ones resolved against the .jigdo's
 * URL; http(s) only (a browser cannot fetch anything else, nor can we).
 */
export function fileUrls(jigdo: JigdoFile, template: JigdoTemplate, jigdoUrl: string | undefined): (entryIndex: number) => string[] {
  return (i) => {
    const entry = template.entries[i];
    if (entry.kind !== 'file') return [];
    return partUrls(jigdo, encodeJigdoBase64(entry.checksum)).flatMap((u) => {
      try {
        const url = jigdoUrl ? new URL(u, jigdoUrl) : new URL(u);
        return url.protocol === 'http:' || url.protocol === 'https:' ? [url.href] : [];
      } catch {
        return [];
      }
    });
  };
}
