// `tessera get` on .zsync control files made by the real zsyncmake, against
// the real zsync 0.6.2 on the same files and the same nginx.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concat, padTo, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { startStaticServer } from '../../src/node/static-server.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { type RunningNginx, startNginx } from '../helpers/nginx.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { zsyncmake } from '../helpers/zsyncmake.ts';

/** Old and new "ISO": files on 2048-byte sectors; the new one moves some, drops some, adds fresh data. */
function makeImages() {
  const files = Array.from({ length: 16 }, (_, i) => randomBytes(20_000 + ((i * 91_813) % 400_000), 300 + i));
  const old = concat([randomBytes(8 * 2048, 1), ...files.slice(0, 13).map((f) => padTo(f, 2048)), randomBytes(30_000, 2)]);
  const fresh = [randomBytes(70_000, 3), randomBytes(9_000, 4)];
  const newImage = concat([
    randomBytes(8 * 2048, 5),
    ...[4, 2, 9, 0, 12, 6].map((i) => padTo(files[i], 2048)),
    padTo(fresh[0], 2048),
    ...[7, 1, 11].map((i) => padTo(files[i], 2048)),
    new Uint8Array(20 * 2048),
    padTo(fresh[1], 2048),
    files[3], // ends in a partial block
  ]);
  return { old, newImage };
}

describe('tessera get with a .zsync control file', () => {
  const { old, newImage } = makeImages();
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let nginx: RunningNginx;

  beforeAll(async () => {
    dir = await tempDir('tessera-zsync-get-');
    await mkdir(join(dir.path, 'www'));
    await writeFile(join(dir.path, 'www', 'new.iso'), newImage);
    await writeFile(join(dir.path, 'old.iso'), old);
    nginx = await startNginx(join(dir.path, 'www'), join(dir.path, 'nginx'));
  });
  afterAll(async () => {
    await nginx?.close();
    await dir?.remove();
  });

  for (const [label, args] of [
    ['zsyncmake defaults (2048-byte blocks)', []],
    ['4096-byte blocks', ['-b', '4096']],
  ] as const) {
    it(`rebuilds the same bytes as zsync 0.6.2, fetching no more than it: ${label}`, async () => {
      const control = join(dir.path, 'www', `new-${args.length}.iso.zsync`);
      // A relative URL line, as zsyncmake writes by default: it resolves against the control file's URL.
      const controlText = new TextDecoder().decode(zsyncmake(join(dir.path, 'www', 'new.iso'), control, [...args, '-u', 'new.iso']).subarray(0, 300));
      const controlUrl = `${nginx.url}new-${args.length}.iso.zsync`;

      await nginx.resetLog();
      const zsync = spawnSync('zsync', ['-q', '-i', join(dir.path, 'old.iso'), '-o', join(dir.path, `zsync-${args.length}.iso`), controlUrl], { cwd: dir.path, encoding: 'utf8' });
      expect(zsync.status, zsync.stderr).toBe(0);
      const zsyncFetched = await nginx.bytesSent('/new.iso');

      await nginx.resetLog();
      const out = join(dir.path, `tessera-${args.length}.iso`);
      const run = await runCli(['get', controlUrl, '--seed', join(dir.path, 'old.iso'), '-o', out, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const tesseraFetched = await nginx.bytesSent('/new.iso');

      expectSameBytes(new Uint8Array(await readFile(out)), newImage);
      expectSameBytes(new Uint8Array(await readFile(join(dir.path, `zsync-${args.length}.iso`))), newImage);
      const sha1 = createHash('sha1').update(newImage).digest('hex');
      expect(controlText).toContain(`SHA-1: ${sha1}`);
      expect(run.json()).toMatchObject({ ok: true, sha1, bytesFetched: tesseraFetched });
      expect(run.stderr).toContain(`SHA-1 ${sha1} matches the control file`);
      // Both fetch the fresh data (79 kB) and little else; we never fetch more than zsync.
      expect(tesseraFetched).toBeGreaterThanOrEqual(79_000);
      expect(tesseraFetched).toBeLessThanOrEqual(zsyncFetched);
    }, 60_000);
  }

  it('fetches from the server its absolute URL line names, not from where the control file is', async () => {
    // The image on a "mirror" of its own; the control file, made for that URL, on nginx (which also has a new.iso it must not be asked for).
    const mirrorDir = join(dir.path, 'other-mirror');
    await mkdir(mirrorDir);
    await writeFile(join(mirrorDir, 'distro.iso'), newImage);
    const served: { path: string; bytesSent: number }[] = [];
    const mirror = await startStaticServer({ root: mirrorDir, onRequest: (r) => served.push(r) });
    try {
      const control = join(dir.path, 'www', 'elsewhere.iso.zsync');
      const text = new TextDecoder().decode(zsyncmake(join(mirrorDir, 'distro.iso'), control, ['-u', `${mirror.url}distro.iso`]).subarray(0, 400));
      expect(text).toContain(`URL: ${mirror.url}distro.iso`);
      await nginx.resetLog();
      const out = join(dir.path, 'elsewhere.iso');
      const run = await runCli(['get', `${nginx.url}elsewhere.iso.zsync`, '--seed', join(dir.path, 'old.iso'), '-o', out, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expectSameBytes(new Uint8Array(await readFile(out)), newImage);
      const fetched = served.filter((r) => r.path === '/distro.iso').reduce((n, r) => n + r.bytesSent, 0);
      expect(run.json()).toMatchObject({ ok: true, sha1: createHash('sha1').update(newImage).digest('hex'), bytesFetched: fetched });
      expect(fetched).toBeGreaterThanOrEqual(79_000); // the fresh data, from the other server
      expect(served.every((r) => r.path === '/distro.iso')).toBe(true);
      expect(await nginx.requests('/new.iso')).toBe(0);
      expect(await nginx.requests('/elsewhere.iso.zsync')).toBe(1);
    } finally {
      await mirror.close();
    }
  });

  it('refuses a gzip-mode control file before fetching anything, and says what to use', async () => {
    const gz = join(dir.path, 'www', 'data.gz');
    const { gzipSync } = await import('node:zlib');
    await writeFile(gz, gzipSync(randomBytes(300_000, 9)));
    zsyncmake(gz, `${gz}.zsync`, ['-u', 'data.gz']);
    await nginx.resetLog();
    const run = await runCli(['get', `${nginx.url}data.gz.zsync`, '-o', join(dir.path, 'data.out')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('gzip mode');
    expect(run.stderr).toContain('zsyncmake -Z');
    expect(await nginx.requests('/data.gz')).toBe(0);
  });
});
