import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { zsyncmake } from '../helpers/zsyncmake.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

// `tessera get --sha256`: the user's own checksum (from the distribution's
// SHA256SUMS) is the last word on which image they get.
describe('tessera get --sha256', () => {
  const next = randomBytes(300_000, 11);
  const old = concat([next.subarray(0, 200_000), randomBytes(100_000, 12)]);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let sent = 0;
  const url = (name: string) => `${server.url}${name}`;

  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'www'));
    await writeFile(join(dir.path, 'www', 'new.img'), next);
    await writeFile(join(dir.path, 'old.img'), old);
    server = await startStaticServer({ root: join(dir.path, 'www'), onRequest: (r) => (sent += r.path === '/new.img' ? r.bytesSent : 0) });
    expect((await runCli(['make', join(dir.path, 'www', 'new.img')])).code).toBe(0);
    zsyncmake(join(dir.path, 'www', 'new.img'), join(dir.path, 'www', 'new.img.zsync'), ['-u', 'new.img']);
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  const get = (description: string, expected: string, out: string) => {
    sent = 0;
    return runCli(['get', url(description), '--seed', join(dir.path, 'old.img'), '-o', join(dir.path, out), '--sha256', expected]);
  };

  it('accepts a sha256sum line for the right image and says the SHA-256 matched', async () => {
    const run = await get('new.img.tessera', `${sha256(next).toUpperCase()}  new.img`, 'ok.img');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain('its SHA-256 is the one you gave');
    expect(sha256(await readFile(join(dir.path, 'ok.img')))).toBe(sha256(next));
  });

  it('refuses a manifest of another image before fetching anything', async () => {
    const other = sha256(old);
    const run = await get('new.img.tessera', other, 'refused.img');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`describes an image whose SHA-256 is ${sha256(next)}, not the ${other} you asked for`);
    expect(run.stderr).toContain('nothing was downloaded');
    expect(sent).toBe(0);
    expect(existsSync(join(dir.path, 'refused.img'))).toBe(false);
    expect(existsSync(join(dir.path, 'refused.img.tessera-part'))).toBe(false);
  });

  it('checks the built image when the description has only SHA-1 (.zsync), keeping nothing on a mismatch', async () => {
    const good = await get('new.img.zsync', sha256(next), 'z-ok.img');
    expect(good.code, good.stderr).toBe(0);
    expect(sha256(await readFile(join(dir.path, 'z-ok.img')))).toBe(sha256(next));

    const other = sha256(old);
    const bad = await get('new.img.zsync', other, 'z-bad.img');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`its SHA-256 is ${sha256(next)}, not the ${other} you asked for; it was not kept`);
    expect(existsSync(join(dir.path, 'z-bad.img'))).toBe(false);
    expect(existsSync(join(dir.path, 'z-bad.img.tessera-part'))).toBe(false);
  });

  it('rejects a value without a SHA-256 as a usage error', async () => {
    const run = await get('new.img.tessera', 'deadbeef', 'x.img');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('does not contain a SHA-256 (64 hexadecimal digits)');
  });
});
