/** The messages between the page and its workers (structured-cloned). */
import type { ChecksumAlgorithm } from '../../core/manifest/manifest.ts';
import type { RebuildEvent } from '../../core/rebuild.ts';
import type { Sha256Chain } from '../../core/sha256-chain.ts';

export interface SeedFile {
  file: File;
  /** Path shown to the user (relative path inside a picked folder, or the file name). */
  name: string;
}

// Scan workers ---------------------------------------------------------------
export type ScanRequest =
  | { type: 'init'; manifest: Uint8Array; source: string; findZeros: boolean }
  | { type: 'scan'; task: number; seed: number; file: File; name: string; start: number; end: number };

export type ScanReply =
  | { type: 'ready'; zeroBlocks: Int32Array }
  | { type: 'progress'; task: number; bytes: number }
  | { type: 'result'; task: number; blocks: Int32Array; offsets: Float64Array; ms: number; readWaitMs: number }
  | { type: 'failed'; task: number; message: string }
  | { type: 'fatal'; message: string };

// The assembly worker --------------------------------------------------------
export type OutputTarget = { kind: 'file-handle'; handle: FileSystemFileHandle } | { kind: 'opfs'; name: string };

export interface AssembleRequest {
  type: 'assemble';
  manifest: Uint8Array;
  source: string;
  seeds: SeedFile[];
  /** Where each block comes from, as merged from the scan workers. */
  seedOf: Int32Array;
  offsetOf: Float64Array;
  mirrors: string[];
  output: OutputTarget;
  /** The SHA-256 the user expects (?sha256= or pasted), lowercase hex. */
  expectedSha256?: string;
}

export interface AssembleSummary {
  /** The verified checksum of the image (hex) and its algorithm. */
  digest: string;
  algorithm: ChecksumAlgorithm;
  bytesLocal: number;
  bytesFetched: number;
  requests: number;
  blocksRepaired: number;
  seconds: number;
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
  | { type: 'digest' };
export type HashReply =
  | { type: 'hashed'; bytes: number }
  /** The state after a whole segment (to compare with its checkpoint). */
  | { type: 'segment'; index: number; state: string }
  | { type: 'digest'; hex: string; ms: number };

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
