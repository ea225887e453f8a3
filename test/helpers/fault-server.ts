import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/** What the server does with one ranged request. */
export type Behaviour =
  | 'ok'
  | 'full-200' // ignores Range: 200 with the whole file
  | 'wrong-range' // 206 with a Content-Range for other bytes (and those bytes)
  | 'short' // 206, correct headers, then closes half-way
  | 'corrupt' // 206, correct headers, one byte changed
  | 'reset' // 206, correct headers, a quarter of the body, then a TCP reset
  | { status: number } // that status, no body (416 carries Content-Range: bytes */size, as servers send it)
  | { stall: number; after?: number } // 206, headers and `after` body bytes (default 0), then nothing for `stall` ms, then the rest
  | { redirect: string; status?: number }; // 302 (or `status`) to that URL, e.g. another server's

export interface FaultServerOptions {
  /** Send CORS headers (default true); without them a page cannot read the answers. */
  cors?: boolean;
  /** ETag of the image (default "v1"); null sends none. */
  etag?: string | null;
  /** Last-Modified of the image (default a fixed date); null sends none. */
  lastModified?: string | null;
  /** The file changes on the server: from image request `from` (counted from 0) on, `data` is served with a new ETag and date. */
  changed?: { from: number; data: Uint8Array; etag?: string; lastModified?: string };
  /** Other files, by path (e.g. '/image.iso.tessera'), served whole; every other path serves the image. */
  files?: Record<string, Uint8Array>;
}

export interface ServedImageRequest {
  range?: string;
  behaviour: Behaviour;
  /** Body bytes sent for this request. */
  bytesSent: number;
  /** 1, or 2 once the file has changed (options.changed). */
  version: 1 | 2;
  /** When it arrived (performance.now()), to check retry delays. */
  at: number;
}

export interface FaultServer {
  /** The image's URL (any path other than options.files serves it). */
  url: string;
  /** The server's origin with a trailing slash, for options.files paths. */
  origin: string;
  /** Image body bytes sent, over all requests. */
  bytesSent: number;
  /** Requests for the image, in order (requests for options.files are not counted). */
  requests: ServedImageRequest[];
  close(): Promise<void>;
}

const DEFAULT_LAST_MODIFIED = 'Mon, 01 Jan 2024 00:00:00 GMT';

/** Bytes [start, end] (inclusive) of a request's `bytes=a-b` Range header, clamped to `size`; null for anything else. */
export function requestedRange(range: string | undefined, size: number): [number, number] | null {
  const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
  return m ? [Number(m[1]), Math.min(Number(m[2]), size - 1)] : null;
}

/**
 * A real HTTP server over `data` whose behaviour the test picks per request
 * (`choose` gets the image request's number, from 0). Stands in for a faulty
 * mirror; several instances act as several mirrors (each its own origin).
 */
export async function startFaultServer(data: Uint8Array, choose: (n: number) => Behaviour = () => 'ok', options: FaultServerOptions = {}): Promise<FaultServer> {
  const state: FaultServer = { url: '', origin: '', bytesSent: 0, requests: [], close: async () => {} };
  const timers = new Set<ReturnType<typeof setTimeout>>();

  // `options` is read per request: a test may change it between (or during) downloads.
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const cors = options.cors ?? true;
    if (cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Last-Modified');
    }
    const path = (req.url ?? '/').split('?')[0];
    const file = options.files?.[path];
    if (file) {
      res.writeHead(200, { 'Content-Length': file.length }).end(file);
      return;
    }
    if (req.method === 'OPTIONS') {
      if (cors) res.setHeader('Access-Control-Allow-Headers', 'Range');
      res.writeHead(204).end();
      return;
    }
    const n = state.requests.length;
    const behaviour = choose(n);
    const changed = options.changed && n >= options.changed.from ? options.changed : undefined;
    const image = changed ? changed.data : data;
    const record: ServedImageRequest = { range: req.headers.range, behaviour, bytesSent: 0, version: changed ? 2 : 1, at: performance.now() };
    state.requests.push(record);
    /** Write body bytes, counting them; `then` runs once they are flushed. */
    const write = (body: Uint8Array, end: boolean, then?: () => void) => {
      if (res.destroyed) return;
      record.bytesSent += body.length;
      state.bytesSent += body.length;
      if (end) res.end(body, then);
      else res.write(body, then);
    };

    const etag = changed ? (changed.etag ?? '"v2"') : options.etag === undefined ? '"v1"' : options.etag;
    const lastModified = changed ? (changed.lastModified ?? 'Tue, 02 Jan 2024 00:00:00 GMT') : options.lastModified === undefined ? DEFAULT_LAST_MODIFIED : options.lastModified;
    if (etag) res.setHeader('ETag', etag);
    if (lastModified) res.setHeader('Last-Modified', lastModified);

    if (typeof behaviour === 'object' && 'redirect' in behaviour) {
      res.writeHead(behaviour.status ?? 302, { Location: behaviour.redirect, 'Content-Length': 0 }).end();
      return;
    }
    if (typeof behaviour === 'object' && 'status' in behaviour) {
      res.writeHead(behaviour.status, behaviour.status === 416 ? { 'Content-Range': `bytes */${image.length}`, 'Content-Length': 0 } : { 'Content-Length': 0 }).end();
      return;
    }
    const requested = requestedRange(req.headers.range, image.length);
    if (!requested || behaviour === 'full-200') {
      res.writeHead(200, { 'Content-Length': image.length });
      write(image, true);
      return;
    }
    let [start, end] = requested;
    if (behaviour === 'wrong-range') {
      const shift = start >= 2048 ? -2048 : 2048;
      start += shift;
      end += shift;
    }
    const body = image.slice(start, end + 1);
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${image.length}`, 'Content-Length': body.length });
    if (behaviour === 'corrupt') body[body.length >> 1] ^= 0xff;
    if (behaviour === 'short') {
      write(body.subarray(0, body.length >> 1), false, () => res.destroy());
      return;
    }
    if (behaviour === 'reset') {
      write(body.subarray(0, body.length >> 2), false, () => req.socket.resetAndDestroy());
      return;
    }
    if (typeof behaviour === 'object' && 'stall' in behaviour) {
      const first = Math.min(body.length, behaviour.after ?? 0);
      res.flushHeaders();
      if (first > 0) write(body.subarray(0, first), false);
      const timer = setTimeout(() => {
        timers.delete(timer);
        write(body.subarray(first), true);
      }, behaviour.stall);
      timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
      return;
    }
    write(body, true);
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}/`;
  state.url = `${state.origin}image.iso`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A request that could not have delivered its range: any fault but a redirect (its target's request is counted there), or a changed file. */
export const failedRequest = (r: ServedImageRequest) => r.version === 2 || (r.behaviour !== 'ok' && !(typeof r.behaviour === 'object' && 'redirect' in r.behaviour));

/**
 * The most image bytes a download may cost: what the plan fetches plus, for
 * each failed request, the bytes it asked for (its retry fetches them again).
 */
export function bytesAllowed(plannedBytes: number, servers: readonly FaultServer[], size: number, failed = failedRequest): number {
  let allowed = plannedBytes;
  for (const s of servers) {
    for (const r of s.requests) {
      const range = failed(r) ? requestedRange(r.range, size) : null;
      if (range) allowed += range[1] - range[0] + 1;
    }
  }
  return allowed;
}

/**
 * For a test file: a function that starts fault servers (as startFaultServer);
 * each is closed after the test that started it.
 */
export function useFaultServers(): typeof startFaultServer {
  const servers: FaultServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (...args) => {
    const server = await startFaultServer(...args);
    servers.push(server);
    return server;
  };
}
