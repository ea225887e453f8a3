/** The messages between the page and its jigdo worker (structured-cloned). */
import type { JigdoPlan } from '../../core/jigdo/jigdo-plan.ts';
import type { RebuildEvent } from '../../core/rebuild.ts';
import type { AssembleSummary, OutputTarget, SeedFile } from './messages.ts';

/** What the page shows of a jigdo image once its template is fetched and checked. */
export interface JigdoImageInfo {
  name: string;
  length: number;
  algorithm: 'md5' | 'sha256';
  /** The image's checksum (hex), from the template. */
  checksum: string;
  templateUrl: string;
  /** [Servers] prefixes, resolved against the .jigdo's URL, in the order they are tried. */
  servers: string[];
  /** Files of the image that the user may have (the template's file entries). */
  files: number;
  shortInfo?: string;
}

/** Files kept from an earlier, failed download of this image that hold some of its files (resume). */
export interface JigdoResumed {
  /** How many of the image's files they hold, and their bytes. */
  files: number;
  bytes: number;
  /** The kept files themselves (references to the site's storage). */
  kept: File[];
}

export type JigdoRequest =
  /** Read the .jigdo, fetch its template and check it; `jigdoUrl` when it came from a URL. */
  | { type: 'open'; jigdo: Uint8Array; source: string; jigdoUrl?: string }
  /** Match these files (numbered from `first`, after those given before) to the image's files. */
  | { type: 'match'; seeds: SeedFile[]; first: number }
  /** Fetch what is missing and write the image. */
  /** expectedSha256: the SHA-256 the user expects; checked before the image is kept when the template's is MD5. */
  | { type: 'assemble'; output: OutputTarget; expectedSha256?: string };

export type JigdoReply =
  /** The template is checked; `resumed`: what files kept earlier provide, already matched. */
  | { type: 'opened'; image: JigdoImageInfo; resumed: JigdoResumed }
  | { type: 'seed-progress'; seed: number; bytes: number }
  | { type: 'seed-done'; seed: number }
  | { type: 'seed-skipped'; seed: number; reason: string }
  /** Matching is finished: the plan, and the image's byte ranges still missing (start, length pairs). */
  | { type: 'matched'; plan: JigdoPlan; missing: Float64Array }
  /** During the assembly: 'progress' and 'range-fetched' (one per fetched file), as the assembly worker sends. */
  | { type: 'event'; event: RebuildEvent }
  | { type: 'done'; summary: AssembleSummary }
  | { type: 'error'; code: string; message: string };
