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

function toRangeResponse(response: Response): RangeResponse {
  const body = response.body;
  let reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader | undefined;
  return {
    async readAll(into, onBytes) {
      const size = into.length;
      let byob: ReadableStreamBYOBReader;
      try {
        byob = body!.getReader({ mode: 'byob' });
      } catch {
        // Not a byte stream here: gather the chunks.
        let length = 0;
        for await (const chunk of this.body) {
          if (length + chunk.length > size) {
            onBytes(chunk.length, into.subarray(0, length));
            return { data: into, length, overflow: true };
          }
          into.set(chunk, length);
          length += chunk.length;
          onBytes(chunk.length, into.subarray(0, length));
        }
        return { data: into, length, overflow: false };
      }
      reader = byob;
      // Each read hands the buffer back (transferred): keep the latest one.
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
    },
    status: response.status,
    header: (name) => response.headers.get(name),
    body: {
      async *[Symbol.asyncIterator]() {
        if (!body) return;
        const chunks = body.getReader();
        reader = chunks;
        for (;;) {
          const { done, value } = await chunks.read();
          if (done) return;
          yield value;
        }
      },
    },
    cancel() {
      (reader ? (reader as ReadableStreamDefaultReader<Uint8Array>).cancel() : body?.cancel())?.catch(() => {});
    },
  };
}
