import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server does with one ranged request. */
export type Behaviour =
  | 'ok'
  | 'full-200' // ignores Range: 200 with the whole file
  | 'wrong-range' // 206 with a Content-Range for other bytes (and those bytes)
  | 'short' // 206, correct headers, then closes half-way
  | 'corrupt' // 206, correct headers, one byte changed
  | { status: number };

export interface FaultServer {
  url: string;
  /** Body bytes sent, over all requests. */
  bytesSent: number;
  requests: { range?: string; behaviour: Behaviour }[];
  close(): Promise<void>;
}

/**
 * A real HTTP server over `data` whose behaviour the test picks per request
 * (`choose` gets the request number, from 0). Stands in for a faulty mirror.
 */
export async function startFaultServer(data: Uint8Array, choose: (n: number) => Behaviour = () => 'ok'): Promise<FaultServer> {
  const state: FaultServer = { url: '', bytesSent: 0, requests: [], close: async () => {} };
  const send = (res: ServerResponse, body: Uint8Array) => {
    state.bytesSent += body.length;
    res.end(body);
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const behaviour = choose(state.requests.length);
    const range = req.headers.range;
    state.requests.push({ range, behaviour });
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag');
    res.setHeader('ETag', '"v1"');
    if (typeof behaviour === 'object') {
      res.writeHead(behaviour.status).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
    if (!m || behaviour === 'full-200') {
      res.writeHead(200, { 'Content-Length': data.length });
      send(res, data);
      return;
    }
    let start = Number(m[1]);
    let end = Math.min(Number(m[2]), data.length - 1);
    if (behaviour === 'wrong-range') {
      const shift = start >= 2048 ? -2048 : 2048;
      start += shift;
      end += shift;
    }
    let body = data.slice(start, end + 1);
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': body.length });
    if (behaviour === 'corrupt') body[body.length >> 1] ^= 0xff;
    if (behaviour === 'short') {
      body = body.subarray(0, body.length >> 1);
      state.bytesSent += body.length;
      res.write(body, () => res.destroy());
      return;
    }
    send(res, body);
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/image.iso`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
