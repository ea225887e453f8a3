import type { RangeFetcher, RangeResponse } from '../core/io.ts';

/**
 * A RangeFetcher over the standard fetch(), for Node (>= 18) and browsers alike.
 * One range per request: `Range: bytes=a-b` alone is CORS-safelisted, so a
 * cross-origin mirror needs no preflight; several ranges would need one, and
 * many servers and CDNs refuse or mangle multipart answers. `no-store` keeps
 * the browser's HTTP cache out of the way (it can break concurrent range
 * requests to one URL and add If-Range).
 */
export interface FetchRangeFetcherOptions {
  fetch?: typeof fetch;
  /**
   * Words for a request that failed without an HTTP answer. fetch() says only
   * "Failed to fetch"; a page knows more (a cross-origin mirror that sends no
   * CORS headers fails exactly this way).
   */
  explainNetworkError?: (url: string, error: unknown) => string;
  /**
   * How much of a response body one read may take (256 KiB unless said): each
   * read has a cost of its own, and a larger buffer takes what has arrived in
   * fewer reads, for that much more memory per request in flight. Arrivals
   * are reported to readAll's caller in stretches of at least this much
   * (or every 100 ms).
   */
  bodyReadBytes?: number;
  /**
   * Read bodies chunk by chunk (the stream's default reader, not BYOB), each
   * chunk handed to this once copied out, to free it at once (the page:
   * release-buffer.ts). Under a BYOB read Chromium's fetch still puts what
   * arrives into buffers of its own, copied into ours and left to the
   * collector: in the page's assembly worker they rose to 51-55 MB over an 8
   * GiB image's download (docs/web-page.md, Threads).
   */
  releaseChunk?: (chunk: Uint8Array) => void;
}

const BODY_READ_BYTES = 256 << 10;

export function createFetchRangeFetcher(options: FetchRangeFetcherOptions = {}): RangeFetcher {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  // Read buffers handed back by finished responses, for the next ones: a new one per request left
  // 1 MiB of garbage per request in the page (134 MB over a 4 GiB image's download).
  const bounces: ArrayBuffer[] = [];
  return {
    async fetchRange(url, start, end, signal) {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          headers: { Range: `bytes=${start}-${end - 1}` },
          cache: 'no-store',
          redirect: 'follow',
          signal,
        });
      } catch (error) {
        if (signal?.aborted || !options.explainNetworkError) throw error;
        throw new Error(options.explainNetworkError(url, error), { cause: error });
      }
      return toRangeResponse(response, options.bodyReadBytes ?? BODY_READ_BYTES, bounces, options.releaseChunk);
    },
  };
}

type ReadAllResult = { data: Uint8Array; length: number; overflow: boolean };
type OnBytes = (bytes: number, filled: Uint8Array) => void;

function toRangeResponse(response: Response, readBytes: number, bounces: ArrayBuffer[], releaseChunk?: (chunk: Uint8Array) => void): RangeResponse {
  const body = response.body;
  let reader: { cancel(): Promise<void> } | undefined;
  /** Read the body's chunks (`expected`: how many bytes the caller can take, for the size of the read buffer); `empty` without a body. */
  const through = async <T>(expected: number, empty: T, read: (chunks: BodyChunks) => Promise<T>): Promise<T> => {
    if (!body) return empty;
    const chunks = releaseChunk ? chunksAsMade(body, releaseChunk) : bodyChunks(body, expected, readBytes, bounces);
    reader = chunks.reader;
    try {
      return await read(chunks);
    } finally {
      chunks.done();
    }
  };
  return {
    status: response.status,
    url: response.url || undefined,
    header: (name) => response.headers.get(name),
    readAll: (into, onBytes) => through(into.length + 1, { data: into, length: 0, overflow: false }, (chunks) => readInto(chunks, into, onBytes, readBytes)),
    readPieces: (piece, limit, onPiece) => through(limit + 1, { length: 0, overflow: false }, (chunks) => inPieces(chunks, piece, limit, onPiece)),
    cancel() {
      (reader ?? body)?.cancel().catch(() => {});
    },
  };
}

/** Read buffers kept for reuse (one per connection is all that is in use at once). */
const MAX_SPARE_BOUNCES = 8;

interface BodyChunks {
  readonly reader: { cancel(): Promise<void> };
  /** The next chunk, of at most `max` bytes where the stream lets us say so; null at the end. */
  next(max?: number): Promise<Uint8Array | null>;
  /** The caller is done with the chunks: the read buffer goes back to `bounces`. */
  done(): void;
}

/**
 * A body's chunks, one at a time. Where the stream allows BYOB reads, through
 * one buffer that each read hands back (no chunk is allocated per read),
 * taken from `bounces` (or made, of at most `expected` bytes) and put back by
 * done(); elsewhere the chunks the stream makes.
 */
function bodyChunks(body: ReadableStream<Uint8Array>, expected: number, readBytes: number, bounces: ArrayBuffer[]): BodyChunks {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream here: its chunks as they come.
  }
  if (!byob) return chunksAsMade(body);
  const reads = byob;
  let bounce = (expected >= readBytes && bounces.pop()) || new ArrayBuffer(Math.min(expected, readBytes));
  return {
    reader: reads,
    async next(max = Infinity) {
      const { done, value } = await reads.read(new Uint8Array(bounce, 0, Math.min(bounce.byteLength, max)));
      if (value) bounce = value.buffer as ArrayBuffer;
      return done || !value ? null : value;
    },
    done() {
      // (A read that failed may have left it with the stream: detached, it has no bytes.)
      if (bounce.byteLength === readBytes && bounces.length < MAX_SPARE_BOUNCES) bounces.push(bounce);
    },
  };
}

/** A body's chunks as the stream makes them, each handed to `release` once the next is asked for (or at the end). */
function chunksAsMade(body: ReadableStream<Uint8Array>, release: (chunk: Uint8Array) => void = () => {}): BodyChunks {
  const reader = body.getReader();
  let last: Uint8Array | null = null;
  const drop = () => {
    if (last) release(last);
    last = null;
  };
  return {
    reader,
    async next() {
      drop();
      last = (await reader.read()).value ?? null;
      return last;
    },
    done: drop,
  };
}

/** However few bytes have come, they are reported after this long (the caller's stall timer counts from its last report). */
const REPORT_EVERY_MS = 100;

/**
 * Copy the body into `into`: `into` itself is never handed to the stream, so
 * what arrived before a failure is still there. Arrivals are reported in
 * stretches of at least `reportBytes` (or after REPORT_EVERY_MS, at the end,
 * and before a failure is passed on): a browser's chunks can be as small as
 * 32 KiB, and each report is a block check and a write for the caller.
 */
async function readInto(chunks: BodyChunks, into: Uint8Array, onBytes: OnBytes, reportBytes: number): Promise<ReadAllResult> {
  const size = into.length;
  let length = 0;
  let unreported = 0;
  let reportedAt = Date.now();
  const report = () => {
    if (unreported === 0) return;
    const n = unreported;
    unreported = 0;
    reportedAt = Date.now();
    onBytes(n, into.subarray(0, length));
  };
  try {
    for (;;) {
      // Ask for one byte more than is left, to see a body longer than asked for.
      const value = await chunks.next(size + 1 - length);
      if (!value) break;
      const n = Math.min(value.length, size - length);
      into.set(value.subarray(0, n), length);
      length += n;
      unreported += n;
      if (n < value.length) {
        report();
        return { data: into, length, overflow: true };
      }
      if (unreported >= reportBytes || Date.now() - reportedAt >= REPORT_EVERY_MS) report();
    }
  } catch (error) {
    report();
    throw error;
  }
  report();
  return { data: into, length, overflow: false };
}

/** Gather the body's chunks into `piece`, handing it to `onPiece` each time it is full, and at the end. */
async function inPieces(chunks: BodyChunks, piece: Uint8Array, limit: number, onPiece: (data: Uint8Array) => Promise<void>): Promise<{ length: number; overflow: boolean }> {
  let filled = 0;
  let length = 0;
  for (let chunk = await chunks.next(); chunk; chunk = await chunks.next()) {
    for (let at = 0; at < chunk.length; ) {
      if (length === limit) return { length, overflow: true };
      const n = Math.min(chunk.length - at, piece.length - filled, limit - length);
      piece.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      length += n;
      if (filled === piece.length) {
        await onPiece(piece.subarray(0, filled));
        filled = 0;
      }
    }
  }
  if (filled > 0) await onPiece(piece.subarray(0, filled));
  return { length, overflow: false };
}
