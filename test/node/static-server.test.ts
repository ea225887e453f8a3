import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange, type RunningServer, type ServedRequest, startStaticServer } from '../../src/node/static-server.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

describe('static server (tessera serve)', () => {
  const data = randomBytes(10_000, 41);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  const served: ServedRequest[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(join(dir.path, 'file.bin'), data);
    server = await startStaticServer({ root: dir.path, onRequest: (r) => served.push(r) });
  });
  afterAll(async () => {
    await server.close();
    await dir.remove();
  });

  it('answers a single range with 206, Content-Range, CORS and exactly those bytes', async () => {
    const res = await fetch(server.url + 'file.bin', { headers: { Range: 'bytes=100-199', Origin: 'https://page.example' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 100-199/10000');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Content-Range');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data.subarray(100, 200));
    await new Promise((r) => setTimeout(r, 20));
    expect(served.at(-1)).toMatchObject({ status: 206, bytesSent: 100, range: 'bytes=100-199' });
  });

  it('sends the headers that make a page it serves cross-origin isolated, unless told not to', async () => {
    const res = await fetch(server.url + 'file.bin');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin'); // (other isolated pages may use its files)
    const plain = await startStaticServer({ root: dir.path, isolate: false });
    try {
      const res2 = await fetch(plain.url + 'file.bin');
      expect(res2.status).toBe(200);
      expect(res2.headers.get('cross-origin-embedder-policy')).toBeNull();
      expect(res2.headers.get('cross-origin-opener-policy')).toBeNull();
    } finally {
      await plain.close();
    }
  });

  it('with ranges off, answers a range request with the whole file (200), as servers without range support do', async () => {
    const whole = await startStaticServer({ root: dir.path, ranges: false });
    try {
      const res = await fetch(whole.url + 'file.bin', { headers: { Range: 'bytes=100-199' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('accept-ranges')).toBe('none');
      expect(res.headers.get('content-range')).toBeNull();
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    } finally {
      await whole.close();
    }
  });

  it('answers an unsatisfiable range with 416 and the size', async () => {
    const res = await fetch(server.url + 'file.bin', { headers: { Range: 'bytes=20000-20010' } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */10000');
  });

  it('answers a CORS preflight for the Range header', async () => {
    const res = await fetch(server.url + 'file.bin', { method: 'OPTIONS', headers: { Origin: 'https://x.example', 'Access-Control-Request-Headers': 'range' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('Range');
  });

  it('serves nothing outside its folder', async () => {
    const res = await fetch(server.url + '..%2f..%2fetc%2fpasswd');
    expect([403, 404]).toContain(res.status);
  });

  it('parses the range forms of RFC 9110', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(parseRange('bytes=95-200', 100)).toEqual([95, 99]);
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
  });
});
