// `tessera get` on .jigdo + .template made by the real jigdo-file over an ISO
// built by xorriso, compared with `jigdo-file make-image` byte for byte.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { type JigdoFixture, makeJigdoFixture, readBytes } from '../helpers/jigdo-file.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

describe('tessera get with a .jigdo file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  const sent = new Map<string, number>();
  const fixtures: Record<string, JigdoFixture> = {};

  beforeAll(async () => {
    dir = await tempDir('tessera-jigdo-get-');
    const www = join(dir.path, 'www');
    await mkdir(www);
    server = await startStaticServer({ root: www, onRequest: (r) => sent.set(r.path, (sent.get(r.path) ?? 0) + r.bytesSent) });
    for (const checksum of ['md5', 'sha256'] as const) {
      const fx = makeJigdoFixture(join(dir.path, checksum), { checksum, seed: checksum === 'md5' ? 11 : 12, labels: { Debian: `${server.url}${checksum}/debian/` } });
      fixtures[checksum] = fx;
      // The mirror: the packages under /<checksum>/debian/, the .jigdo (gzipped, as published) and the template beside them.
      await mkdir(join(www, checksum));
      await symlink(fx.files, join(www, checksum, 'debian'));
      await writeFile(join(www, checksum, 'image.jigdo'), gzipSync(readBytes(fx.jigdo)));
      await symlink(fx.template, join(www, checksum, 'image.template'));
      // The user's files: 5 of the 9 packages, in a folder of their own.
      await mkdir(join(dir.path, `seeds-${checksum}`));
      for (const name of [...fx.packages.keys()].filter((_, i) => i % 2 === 0)) {
        await writeFile(join(dir.path, `seeds-${checksum}`, name.replace(/\//g, '_')), fx.packages.get(name)!);
      }
    }
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  for (const checksum of ['md5', 'sha256'] as const) {
    it(`rebuilds the same bytes as jigdo-file make-image, fetching only the packages you lack (${checksum})`, async () => {
      const fx = fixtures[checksum];
      // jigdo-file's own result, from all the packages.
      const reference = join(dir.path, `reference-${checksum}.iso`);
      const made = spawnSync('jigdo-file', ['make-image', '--force', '--report=quiet', `--image=${reference}`, `--jigdo=${fx.jigdo}`, `--template=${fx.template}`, `${fx.files}//`], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);

      sent.clear();
      const out = join(dir.path, `tessera-${checksum}.iso`);
      const run = await runCli(['get', `${server.url}${checksum}/image.jigdo`, '--seed', join(dir.path, `seeds-${checksum}`), '-o', out, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const image = new Uint8Array(await readFile(out));
      expectSameBytes(image, readBytes(reference));
      expectSameBytes(image, readBytes(fx.iso));

      const lacking = [...fx.packages.entries()].filter((_, i) => i % 2 === 1);
      const lackingBytes = lacking.reduce((n, [, d]) => n + d.length, 0);
      const digest = createHash(checksum).update(image).digest('hex');
      expect(run.json()).toMatchObject({ ok: true, [checksum]: digest, bytesFetched: lackingBytes, filesFetched: lacking.length });
      expect(run.stderr).toContain(`${checksum === 'md5' ? 'MD5' : 'SHA-256'} ${digest} matches the template`);
      // Exactly the lacking packages came from the server; the user's were not fetched.
      for (const [name, data] of fx.packages) expect(sent.get(`/${checksum}/debian/${name}`) ?? 0).toBe(lacking.some(([n]) => n === name) ? data.length : 0);
    }, 60_000);
  }

  it('fetches every package when you have none of them', async () => {
    const fx = fixtures.md5;
    const run = await runCli(['get', `${server.url}md5/image.jigdo`, '-o', join(dir.path, 'none.iso'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ bytesLocal: 0, filesFetched: fx.packages.size, bytesFetched: [...fx.packages.values()].reduce((n, d) => n + d.length, 0) });
    expectSameBytes(new Uint8Array(await readFile(join(dir.path, 'none.iso'))), readBytes(fx.iso));
  }, 60_000);

  it('says which file could not be fetched and from where, and leaves no output', async () => {
    const broken = join(dir.path, 'www', 'broken');
    await mkdir(broken);
    await symlink(fixtures.md5.template, join(broken, 'image.template'));
    // A copy of the .jigdo whose [Servers] points at a folder the mirror does not have.
    const text = new TextDecoder().decode(readBytes(fixtures.md5.jigdo)).replace(`${server.url}md5/debian/`, `${server.url}nowhere/`);
    await writeFile(join(broken, 'image.jigdo'), text);
    const out = join(dir.path, 'broken.iso');
    const failed = await runCli(['get', `${server.url}broken/image.jigdo`, '-o', out]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${server.url}nowhere/`);
    expect(failed.stderr).toContain('HTTP 404');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tessera-part`)).toBe(false);
  }, 60_000);
});
