import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  /** The Range header, if any. */
  range?: string;
  /** Body bytes actually sent (fewer than planned if the client went away). */
  bytesSent: number;
}

export interface StaticServerOptions {
  root: string;
  port?: number;
  host?: string;
  /** Send CORS headers (default true). */
  cors?: boolean;
  /** Send each response at most this many bytes per second (to try slow mirrors, interruptions). */
  rateBytesPerSecond?: number;
  onRequest?: (request: ServedRequest) => void;
  /** Serve https with this key and certificate (PEM), as a page or mirror on a real site would be. */
  tls?: { key: string; cert: string };
  /**
   * Send the headers that make a page served from here cross-origin isolated
   * (default true): COOP same-origin and COEP require-corp, and CORP
   * cross-origin so that other isolated pages may still use these files. See
   * CROSS_ORIGIN_ISOLATION.
   */
  isolate?: boolean;
  /** Answer Range requests (default true); false: every file whole with 200, as servers without range support do. */
  ranges?: boolean;
}

/**
 * The web page uses shared memory (SharedArrayBuffer: one copy of the
 * image's block tables for all its scan workers) only when cross-origin
 * isolated, which needs these headers on the page. Its mirrors are fetched
 * with CORS, which require-corp accepts. Also in vite.config.ts.
 */
export const CROSS_ORIGIN_ISOLATION: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.iso': 'application/x-iso9660-image',
};

/** Parse a single-range header against a file size: [start, end] inclusive, 'unsatisfiable', or null (ignore: serve whole). */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or garbage: RFC 9110 lets us ignore it
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

/**
 * A static file server with Range and CORS, for trying Tessera locally and for
 * tests (not a production server: see docs/mirrors.md for real ones).
 */
export function startStaticServer(options: StaticServerOptions): Promise<RunningServer> {
  const root = resolve(options.root);
  const cors = options.cors ?? true;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const urlPath = decodeURIComponent((req.url ?? '/').split('?')[0]);
    let bytesSent = 0;
    const rangeHeader = req.headers.range;
    res.on('close', () =>
      options.onRequest?.({ method, path: urlPath, status: res.statusCode, range: rangeHeader, bytesSent }),
    );
    if (cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Last-Modified, Accept-Ranges');
    }
    if (options.isolate ?? true) {
      for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION)) res.setHeader(name, value);
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    }
    if (method === 'OPTIONS') {
      if (cors) {
        res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'Range, If-Range');
        res.setHeader('Access-Control-Max-Age', '86400');
      }
      res.writeHead(204).end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD, OPTIONS' }).end();
      return;
    }
    let path = resolve(root, '.' + urlPath);
    if (path !== root && !path.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    let info;
    try {
      info = await stat(path);
      if (info.isDirectory()) {
        // A folder is served as its index.html, if it has one (the web page).
        path = resolve(path, 'index.html');
        info = await stat(path);
      }
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!info.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const size = info.size;
    const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', info.mtime.toUTCString());
    const ranges = options.ranges ?? true;
    res.setHeader('Accept-Ranges', ranges ? 'bytes' : 'none');
    res.setHeader('Content-Type', TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');

    let start = 0;
    let end = size - 1;
    let status = 200;
    const ifRange = req.headers['if-range'];
    if (ranges && rangeHeader && (!ifRange || ifRange === etag)) {
      const range = parseRange(rangeHeader, size);
      if (range === 'unsatisfiable') {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      if (range) {
        [start, end] = range;
        status = 206;
        res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
      }
    }
    const length = size === 0 ? 0 : end - start + 1;
    res.writeHead(status, { 'Content-Length': String(length) });
    if (method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(path, { start, end, highWaterMark: options.rateBytesPerSecond ? 64 << 10 : 256 << 10 });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    const rate = options.rateBytesPerSecond;
    if (!rate) {
      stream.on('data', (chunk) => {
        bytesSent += chunk.length;
      });
      stream.pipe(res);
      return;
    }
    // Paced by hand: pipe() would resume the stream on every drain and undo the pauses.
    stream.on('data', (chunk) => {
      bytesSent += chunk.length;
      res.write(chunk);
      stream.pause();
      setTimeout(() => stream.resume(), (1000 * chunk.length) / rate);
    });
    stream.on('end', () => res.end());
  };

  return new Promise((resolvePromise, reject) => {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res).catch(() => res.destroy());
    };
    const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
    server.keepAliveTimeout = 5000;
    server.on('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const { port, address } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolvePromise({
        url: `${options.tls ? 'https' : 'http'}://${host}:${port}/`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
