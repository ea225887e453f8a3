/** The messages between the page and its workers (structured-cloned). */
import type { BlockIndexParts } from '../../core/block-index.ts';
import type { MirrorValidators } from '../../core/file-validators.ts';
import type { ChecksumAlgorithm, Manifest } from '../../core/manifest/manifest.ts';
import type { MirrorReport } from '../../core/range-downloader.ts';
import type { RebuildEvent } from '../../core/rebuild.ts';
import type { Sha256Chain } from '../../core/sha256-chain.ts';

export interface SeedFile {
  file: File;
  /** Path shown to the user (relative path inside a picked folder, or the file name). */
  name: string;
}

// Scan workers ---------------------------------------------------------------
export type ScanRequest =
  /**
   * `imageFile`: a port to the image file, to write the blocks found into it
   * (found-block-writer.ts); `imageFileName`: its name in the site's storage,
   * when the worker can open its own handle on it instead (direct-block-writer.ts).
   * `manifest`: decoded and checked by the page (a structured clone: no worker decodes it again;
   * its block table shared, not copied, when the page is cross-origin isolated).
   * `index`: the block index another worker built in shared memory (used as it is); without it
   * the worker builds its own, in shared memory if `shareIndex` (and reports its parts when ready).
   * `claimed`: where the workers have found each block so far, in shared memory (FoundBlocks).
   */
  | { type: 'init'; manifest: Manifest; findZeros: boolean; imageFile?: MessagePort; imageFileName?: string; index?: BlockIndexParts; shareIndex?: boolean; claimed?: Int32Array }
  | { type: 'scan'; task: number; seed: number; file: File; name: string; start: number; end: number };

export type ScanReply =
  | { type: 'ready'; zeroBlocks: Int32Array; index?: BlockIndexParts }
  | { type: 'progress'; task: number; bytes: number }
  /** `staged`: every block found was also written into the image file. */
  | { type: 'result'; task: number; blocks: Int32Array; offsets: Float64Array; staged: boolean; ms: number; readWaitMs: number }
  | { type: 'failed'; task: number; message: string }
  | { type: 'fatal'; message: string };

// The assembly worker --------------------------------------------------------
export type OutputTarget = { kind: 'file-handle'; handle: FileSystemFileHandle } | { kind: 'opfs'; name: string };
/** The image file the scan wrote its blocks into (image-file-worker.ts), completed in place. */
export interface InPlaceTarget {
  kind: 'image-file';
  name: string;
  port: MessagePort;
  /** The assembly may open a handle of its own on the file, and write what it downloads straight into it (shared-access.ts). */
  shared: boolean;
}

export interface AssembleRequest {
  type: 'assemble';
  /** Decoded and checked by the page (a structured clone). */
  manifest: Manifest;
  seeds: SeedFile[];
  /** Where each block comes from, as merged from the scan workers. */
  seedOf: Int32Array;
  /** 4 bytes a block unless a seed is 4 GiB or more. */
  offsetOf: Float64Array | Uint32Array;
  mirrors: string[];
  output: OutputTarget | InPlaceTarget;
  /** The SHA-256 the user expects (?sha256= or pasted), lowercase hex. */
  expectedSha256?: string;
  /** Blocks the scan wrote into the image file (1 per block): with an image-file output, stepped over. */
  staged?: Uint8Array;
  /** A request that receives nothing for this long is abandoned and retried; the engine's default (30 s) when absent. */
  stallTimeoutMs?: number;
  /** The ETag and Last-Modified each mirror's file had when the page first checked it: the download's baseline. */
  validators?: MirrorValidators;
  /** What earlier attempts (before a reload) saw from answers that verified: explains a file replaced since (DownloaderOptions.earlierValidators). */
  earlierValidators?: MirrorValidators;
}

export interface AssembleSummary {
  /** The verified checksum of the image (hex) and its algorithm. */
  digest: string;
  algorithm: ChecksumAlgorithm;
  bytesLocal: number;
  bytesFetched: number;
  requests: number;
  blocksRepaired: number;
  /** Bytes of the image the scan had already written into the image file (stepped over or copied from it, not read from the seeds again). */
  fromScan: number;
  seconds: number;
  /** What each mirror did (requests, failures, problems, set aside), when ranges were downloaded. */
  mirrors?: readonly MirrorReport[];
  /** Seeds left out because they could no longer be read (changed or removed since the scan); their part was downloaded. */
  skippedSeeds?: readonly { seed: string; reason: string }[];
  /** The image's SHA-256 is the one the user gave (when they gave one). */
  expectedSha256Confirmed?: boolean;
  /** The checksum was computed in this many segments (from the manifest's SHA-256 checkpoints) on this many workers. */
  hashing: { segments: number; workers: number };
  /** Milliseconds per part of the assembly (see AssembleTimings). */
  timings: Record<string, number>;
}

export type AssembleReply =
  | { type: 'event'; event: RebuildEvent }
  | { type: 'done'; summary: AssembleSummary }
  | { type: 'error'; code: string; message: string };

// The hash workers ---------------------------------------------------------------
/**
 * One worker hashes the whole image in order; or, when the manifest has
 * SHA-256 checkpoints, several workers each hash whole segments: `segment`
 * says which (a new one starts from its checkpoint), and the last batch of a
 * segment that has a checkpoint after it asks for the state there.
 */
export type HashRequest =
  | { type: 'init'; algorithm: ChecksumAlgorithm; chain?: Sha256Chain }
  | { type: 'update'; data: Uint8Array<ArrayBuffer>; segment?: number; endsSegment?: boolean }
  /** `segment`: the image's last segment, when segments came interleaved. */
  | { type: 'digest'; segment?: number }
  /**
   * Pieces of SHA-256 segments, each hashed from the state it comes with (the
   * image file's verifier keeps every segment's state, so any worker can take
   * any segment); pieces of one length are hashed four at a time (Sha256Lanes).
   * No 'init' needed.
   */
  | { type: 'pieces'; pieces: SegmentPiece[] }
  /** The image's last bytes, from `state` (the state after `offset` bytes; ignored at 0): answered with the digest. */
  | { type: 'finish'; offset: number; state: string; data: Uint8Array<ArrayBuffer> };

/** Bytes of the image from `offset` (a multiple of 64), to hash from `state`: the SHA-256 state after `offset` bytes. */
export interface SegmentPiece {
  offset: number;
  state: string;
  /** A multiple of 64 bytes. */
  data: Uint8Array<ArrayBuffer>;
}
export type HashReply =
  /** `data`: the batch's buffer, handed back for reuse (fresh buffers cost page faults and collections). */
  | { type: 'hashed'; bytes: number; data: Uint8Array<ArrayBuffer> }
  /** The states after each piece, in order; their buffers handed back for reuse. */
  | { type: 'pieces-hashed'; states: string[]; data: Uint8Array<ArrayBuffer>[]; ms: number }
  /** The state after a whole segment (to compare with its checkpoint). */
  | { type: 'segment'; index: number; state: string }
  | { type: 'digest'; hex: string; ms: number }
  /** The worker hit an internal error; it hashes nothing more. */
  | { type: 'failed'; message: string };

// The output (write) worker ----------------------------------------------------
export type WriteRequest =
  | { type: 'open'; target: OutputTarget }
  | { type: 'write'; data: Uint8Array<ArrayBuffer> }
  | { type: 'flush' }
  | { type: 'commit' }
  | { type: 'discard' };

/** A storage error as a plain object (DOMExceptions keep their name across postMessage, but not reliably in every browser). */
export interface StorageErrorInfo {
  name: string;
  message: string;
}

export type WriteReply =
  | { type: 'written'; bytes: number }
  | { type: 'done'; request: 'open' | 'flush' | 'commit' | 'discard'; writeMs: number }
  | { type: 'failed'; error: StorageErrorInfo };

// The image file (built in place in the site's storage) -------------------------
/** From the page, which owns the image file's worker. */
export type ImageFileControl =
  /**
   * `share`: let other workers open handles of their own on the file where the browser can (shared-access.ts).
   * `adopt`: the file is an interrupted visit's (named by its range log, partial-store.ts): kept as it is if it has the image's length.
   */
  | { type: 'open'; name: string; length: number; share: boolean; adopt: boolean }
  /** Serve requests arriving on this port (a scan worker's, the assembly's). */
  | { type: 'connect'; port: MessagePort }
  /** Hash the file as it becomes final (image-verifier.ts): the image will be built in place. */
  | { type: 'verify'; algorithm: ChecksumAlgorithm; chain?: Sha256Chain; alsoSha256: boolean; blockSize: number }
  /** These blocks are final in the file (written by the scan, or zero blocks). */
  | { type: 'final-blocks'; blocks: Int32Array }
  /** Hold the hashing while seeds are scanned (the scan has a worker on every core), or go on with it. */
  | { type: 'hold-hashing'; hold: boolean }
  /** Write what the file holds so far to the disk now (a download is starting), so that keep() has only the rest left to write. */
  | { type: 'flush' }
  /** Built and verified: close the file and keep it, renamed to `name` where the browser can rename. */
  | { type: 'keep'; name: string }
  /** Close the file and delete it. */
  | { type: 'discard' }
  /** Close the file and leave it (its range logs name it: the next visit adopts it). */
  | { type: 'release' };
/** `shared`: other workers may open handles of their own on the file (see shared-access.ts); `adopted`: it was kept as it was. */
export type ImageFileStatus =
  | { type: 'opened'; shared: boolean; adopted: boolean }
  | { type: 'kept'; name: string }
  | { type: 'discarded' }
  | { type: 'released' }
  | { type: 'failed'; error: StorageErrorInfo };

/** Over a connected port; answered on that port with the same id. */
export type ImageFileRequest =
  | { type: 'write'; id: number; position: number; data: Uint8Array<ArrayBuffer> }
  /** Everything before `upTo` is final (sent after the writes it covers, on the same port; not answered). */
  | { type: 'final'; upTo: number }
  /** Bytes [start, end) are final, out of order (written by the sender itself; not answered). */
  | { type: 'final-range'; start: number; end: number }
  /** The checksum of the file, once all of it is final. */
  | { type: 'digest'; id: number };
export type ImageFileReply =
  /** `data`: the written buffer, handed back for reuse. */
  | { type: 'written'; id: number; data: Uint8Array<ArrayBuffer> }
  | { type: 'digest'; id: number; hex: string; sha256?: string; hashMs: number; segments: number; workers: number }
  /** A SHA-256 segment did not end on its checkpoint. */
  | { type: 'mismatch'; id: number; segment: number; message: string }
  | { type: 'failed'; id: number; error: StorageErrorInfo };
