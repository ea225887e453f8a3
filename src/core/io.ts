/**
 * The three small interfaces the engine needs from its platform. Node
 * implements them over files and fetch; the browser over File objects,
 * fetch and FileSystemWritableFileStream / OPFS.
 */

/**
 * The largest single write into a file, on every platform. Writes of 2 MiB or
 * more into new parts of a file can cost far more than smaller ones: on the
 * Linux 6.18 VM this was measured on (ext4), 512 MB took 0.5-1.3 s in 2 or
 * 4 MiB writes and ~0.1 s in writes of 64 KiB to 1 MiB, from Node and through
 * Chromium's sync access handles alike. Most likely the page cache then takes
 * 2 MiB folios, and free blocks of that size are what the VM reports to its
 * host (free page reporting, order 9), so each is faulted back in. Smaller
 * writes cost nothing extra anywhere.
 */
export const MAX_WRITE_BYTES = 1 << 20;

/** A local file the user already has (an old image, a package), read at random offsets. */
export interface SeedReader {
  /** Shown in messages and progress (a path or a file name). */
  readonly name: string;
  readonly size: number;
  /**
   * What an earlier, interrupted run of this download kept (to be replaced by
   * this run's output): when this run fails too, its blocks not yet written
   * are kept aside with the new output (OutputSink.keepAside).
   */
  readonly leftover?: boolean;
  /**
   * Read up to target.length bytes at `position` into `target`; resolves to the
   * number of bytes read, which is less only at the end of the file.
   */
  readInto(position: number, target: Uint8Array): Promise<number>;
}

/** Cancellation: the platforms' AbortSignal (declared for the core in types/core-host.d.ts). */
export type CancelSignal = AbortSignal;

/** The answer to one `Range: bytes=start-(end-1)` request, before the body is read. */
export interface RangeResponse {
  readonly status: number;
  /** The URL that answered, after redirects (when the platform tells). */
  readonly url?: string;
  /** A response header (case-insensitive name), or null. */
  header(name: string): string | null;
  /**
   * Read the body into `into`, in place: `data` is `into`, and the bytes
   * reported through `onBytes` stay in it even when the read then fails (a
   * retry continues after them). `onBytes` is called as bytes arrive, with
   * what has arrived so far; `overflow` says the body was longer than `into`.
   */
  readAll(into: Uint8Array, onBytes: (bytes: number, filled: Uint8Array) => void): Promise<{ data: Uint8Array; length: number; overflow: boolean }>;
  /**
   * Read the body through `piece`, handing each filled piece (the last one
   * shorter) to `onPiece`, which has it until it resolves: a body of any
   * length in the memory of one piece. Stops with `overflow` once the body
   * is longer than `limit` bytes. Optional: platforms without it leave
   * callers to readAll().
   */
  readPieces?(piece: Uint8Array, limit: number, onPiece: (data: Uint8Array) => Promise<void>): Promise<{ length: number; overflow: boolean }>;
  /** Stop receiving the body (on error or cancellation). */
  cancel(): void;
}

/** Something that can issue single-range GET requests. */
export interface RangeFetcher {
  /** Request bytes [start, end) of `url`. Network failures reject. */
  fetchRange(url: string, start: number, end: number, signal?: CancelSignal): Promise<RangeResponse>;
}

/**
 * Where the image is written, strictly in order from byte 0. The chunk may be
 * reused by the caller once write() resolves.
 */
export interface OutputSink {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * The work stopped (a failure, a cancel): `data`, verified bytes of the
   * image from byte `start`, will not be written in order. A sink that keeps
   * its output for a resume stores them after what it wrote (a resume finds
   * blocks by content, wherever they are).
   */
  keepAside?(start: number, data: Uint8Array): Promise<void>;
  /**
   * A sink that computes the SHA-256 of what it writes (on another thread, say)
   * provides it here, after the last write; the engine then does not hash.
   */
  digest?(): Promise<string>;
  /**
   * The next `length` bytes are already in the output (blocks marked
   * FROM_OUTPUT): step over them. Only a sink that writes in place into a
   * file holding them provides it; it must still include them in digest().
   */
  skip?(length: number): Promise<void>;
}
