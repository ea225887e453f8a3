/**
 * The three small interfaces the engine needs from its platform. Node
 * implements them over files and fetch; the browser over File objects,
 * fetch and FileSystemWritableFileStream / OPFS.
 */

/** A local file the user already has (an old image, a package), read at random offsets. */
export interface SeedReader {
  /** Shown in messages and progress (a path or a file name). */
  readonly name: string;
  readonly size: number;
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
  /** A response header (case-insensitive name), or null. */
  header(name: string): string | null;
  /**
   * Read the body into `into` (with a BYOB reader where the platform has one:
   * no intermediate chunks to copy and collect). `into`'s buffer may be
   * transferred: use the returned `data` (same memory, new view). `onBytes` is
   * called as bytes arrive, with what has arrived so far; `overflow` says the
   * body was longer than `into`.
   */
  readAll(into: Uint8Array, onBytes: (bytes: number, filled: Uint8Array) => void): Promise<{ data: Uint8Array; length: number; overflow: boolean }>;
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
