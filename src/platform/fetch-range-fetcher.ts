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
}

export function createFetchRangeFetcher(options: FetchRangeFetcherOptions = {}): RangeFetcher {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
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
      return toRangeResponse(response);
    },
  };
}

type ReadAllResult = { data: Uint8Array; length: number; overflow: boolean };
type OnBytes = (bytes: number, filled: Uint8Array) => void;

function toRangeResponse(response: Response): RangeResponse {
  const body = response.body;
  let reader: { cancel(): Promise<void> } | undefined;
  return {
    status: response.status,
    header: (name) => response.headers.get(name),
    async readAll(into, onBytes) {
      if (!body) return { data: into, length: 0, overflow: false };
      let byob: ReadableStreamBYOBReader | undefined;
      try {
        byob = body.getReader({ mode: 'byob' });
      } catch {
        // Not a byte stream here: gather the chunks.
      }
      if (byob) {
        reader = byob;
        return readByob(byob, into, onBytes);
      }
      const chunks = body.getReader();
      reader = chunks;
      return readChunks(chunks, into, onBytes);
    },
    cancel() {
      (reader ?? body)?.cancel().catch(() => {});
    },
  };
}

/** Read straight into `into`; each read hands the buffer back (transferred), so keep the latest one. */
async function readByob(byob: ReadableStreamBYOBReader, into: Uint8Array, onBytes: OnBytes): Promise<ReadAllResult> {
  const size = into.length;
  let buffer = into.buffer as ArrayBuffer;
  const base = into.byteOffset;
  let length = 0;
  while (length < size) {
    const { done, value } = await byob.read(new Uint8Array(buffer, base + length, size - length));
    if (value) buffer = value.buffer as ArrayBuffer;
    if (done || !value) break;
    length += value.byteLength;
    onBytes(value.byteLength, new Uint8Array(buffer, base, length));
  }
  let overflow = false;
  if (length === size) {
    const { done, value } = await byob.read(new Uint8Array(1));
    overflow = !done || (value?.byteLength ?? 0) > 0;
  }
  return { data: new Uint8Array(buffer, base, size), length, overflow };
}

/** Copy the stream's chunks into `into`. */
async function readChunks(chunks: ReadableStreamDefaultReader<Uint8Array>, into: Uint8Array, onBytes: OnBytes): Promise<ReadAllResult> {
  let length = 0;
  for (;;) {
    const { done, value } = await chunks.read();
    if (done) return { data: into, length, overflow: false };
    if (length + value.length > into.length) {
      onBytes(value.length, into.subarray(0, length));
      return { data: into, length, overflow: true };
    }
    into.set(value, length);
    length += value.length;
    onBytes(value.length, into.subarray(0, length));
  }
}
