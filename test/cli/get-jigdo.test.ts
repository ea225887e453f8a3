// `tessera get` on .jigdo + .template made by the real jigdo-file over an ISO
// built by xorriso, compared with `jigdo-file make-image` byte for byte.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { type JigdoFixture, makeJigdoFixture, readBytes } from '../helpers/jigdo-file.ts';
import { runCli } from '../helpers/run-cli.ts';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp-dir.ts';

describe('tessera get with a .jigdo file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  const sent = new Map<string, number>();
  const fixtures: Record<string, JigdoFixture> = {};
  /** The body bytes of each response for a big.deb, while a test collects them. */
  let largeResponses: number[] | undefined;

  beforeAll(async () => {
    dir = await tempDir('tessera-jigdo-get-');
    const www = join(dir.path, 'www');
    await mkdir(www);
    server = await startStaticServer({
      root: www,
      onRequest: (r) => {
        sent.set(r.path, (sent.get(r.path) ?? 0) + r.bytesSent);
        if (r.path.endsWith('/big.deb')) largeResponses?.push(r.bytesSent);
      },
    });
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

  /** An image with one large package (37 MiB), served under /large/ (made once). */
  let large: JigdoFixture | undefined;
  const largeFixture = async (): Promise<JigdoFixture> => {
    if (large) return large;
    const fx = makeJigdoFixture(join(dir.path, 'large'), { seed: 13, largePackageBytes: 37 << 20, labels: { Debian: `${server.url}large/debian/` } });
    await mkdir(join(dir.path, 'www', 'large'));
    await symlink(fx.files, join(dir.path, 'www', 'large', 'debian'));
    await symlink(fx.jigdo, join(dir.path, 'www', 'large', 'image.jigdo'));
    await symlink(fx.template, join(dir.path, 'www', 'large', 'image.template'));
    return (large = fx);
  };

  it('fetches a large package in range requests through the kept folder, not whole into memory', async () => {
    const fx = await largeFixture();
    const responses: number[] = [];
    largeResponses = responses;
    const out = join(dir.path, 'tessera-large.iso');
    const run = await runCli(['get', `${server.url}large/image.jigdo`, '-o', out, '--json']);
    largeResponses = undefined;
    expect(run.code, run.stderr).toBe(0);
    expectSameBytes(new Uint8Array(await readFile(out)), readBytes(fx.iso));
    // 37 MiB in 3 requests of at most 16 MiB (the others, small, whole), and nothing left beside the image.
    expect(responses.length).toBe(3);
    expect(Math.max(...responses)).toBe(16 << 20);
    expect(responses.reduce((a, b) => a + b, 0)).toBe(37 << 20);
    expect(run.json()).toMatchObject({ ok: true, filesFetched: fx.packages.size });
    expect(existsSync(`${out}.tessera-parts`)).toBe(false);
  }, 60_000);

  it('from a server that ignores ranges, takes a large package whole in one answer, still through the kept folder', async () => {
    const fx = await largeFixture();
    const answers: { path: string; range?: string; status: number; bytes: number }[] = [];
    const whole = await startStaticServer({ root: join(dir.path, 'www'), ranges: false, onRequest: (r) => answers.push({ path: r.path, range: r.range, status: r.status, bytes: r.bytesSent }) });
    try {
      const jigdo = join(dir.path, 'www', 'large-whole.jigdo');
      await writeFile(jigdo, new TextDecoder().decode(readBytes(fx.jigdo)).replace(`${server.url}large/debian/`, `${whole.url}large/debian/`).replace(/^Template=.*$/m, `Template=${server.url}large/image.template`));
      const out = join(dir.path, 'large-whole.iso');
      const run = await runCli(['get', `${server.url}large-whole.jigdo`, '-o', out, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expectSameBytes(new Uint8Array(await readFile(out)), readBytes(fx.iso));
      // The 37 MiB package: one answer, the whole file with 200 to a request for its first 16 MiB, taken as it came
      // (before, it was let go and asked for again whole, into memory: two answers).
      expect(answers.filter((a) => a.path.endsWith('/big.deb'))).toEqual([{ path: '/large/debian/pool/main/big.deb', range: 'bytes=0-16777215', status: 200, bytes: 37 << 20 }]);
      expect(existsSync(`${out}.tessera-parts`)).toBe(false);
    } finally {
      await whole.close();
    }
  }, 60_000);

  it('when the kept folder cannot be made, fetches a large package into memory instead, says so, and builds the image', async () => {
    const fx = await largeFixture();
    const out = join(dir.path, 'no-store.iso');
    // A file of the user's where the kept folder would go: no folder can be made there (as with a full disk, the store fails).
    await writeFile(`${out}.tessera-parts`, 'mine');
    const responses: number[] = [];
    largeResponses = responses;
    const run = await runCli(['get', `${server.url}large/image.jigdo`, '-o', out, '--json']);
    largeResponses = undefined;
    expect(run.code, run.stderr).toBe(0);
    expectSameBytes(new Uint8Array(await readFile(out)), readBytes(fx.iso));
    expect(run.stderr).toContain(`could not keep a large fetched file in ${out}.tessera-parts`);
    expect(run.stderr).toContain('large files are fetched into memory instead');
    // The 37 MiB package once, whole (not counted against the mirror, nor fetched twice); the user's file left as it was.
    expect(responses).toEqual([37 << 20]);
    expect(await readFile(`${out}.tessera-parts`, 'utf8')).toBe('mine');
  }, 60_000);

  it('keeps a large package fetched before a failure, and the next run does not fetch it again', async () => {
    const fx = await largeFixture();
    const big = fx.packages.get('pool/main/big.deb')!;
    const [victim, victimData] = [...fx.packages.entries()].find(([name]) => name !== 'pool/main/big.deb')!;
    // A mirror that lacks one small package, for now.
    const mirrorDir = join(dir.path, 'www', 'large-resume');
    await mkdir(join(mirrorDir, 'debian', 'pool', 'main'), { recursive: true });
    for (const [name, data] of fx.packages) if (name !== victim) await writeFile(join(mirrorDir, 'debian', name), data);
    await symlink(fx.template, join(mirrorDir, 'image.template'));
    await writeFile(join(mirrorDir, 'image.jigdo'), new TextDecoder().decode(readBytes(fx.jigdo)).replace(`${server.url}large/debian/`, `${server.url}large-resume/debian/`));
    const out = join(dir.path, 'large-resume.iso');
    const kept = `${out}.tessera-parts`;
    const args = ['get', `${server.url}large-resume/image.jigdo`, '-o', out];

    const failed = await runCli(args);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${server.url}large-resume/debian/${victim}: HTTP 404`);
    // Kept under its MD5, whole, with nothing half-written beside it.
    const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');
    expectSameBytes(readBytes(join(kept, md5(big))), big);
    expect(readdirSync(kept).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    await writeFile(join(mirrorDir, 'debian', victim), victimData);
    sent.clear();
    const resumed = await runCli([...args, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sent.get('/large-resume/debian/pool/main/big.deb') ?? 0).toBe(0);
    expect(sent.get(`/large-resume/debian/${victim}`)).toBe(victimData.length);
    expectSameBytes(new Uint8Array(await readFile(out)), readBytes(fx.iso));
    expect(existsSync(kept)).toBe(false);
  }, 60_000);

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
    expect(existsSync(`${out}.tessera-parts`)).toBe(false); // nothing was fetched, so nothing is kept
  }, 60_000);

  it('keeps the files fetched before a failure, and the next run fetches only the rest', async () => {
    const fx = fixtures.md5;
    const lacking = [...fx.packages.entries()].filter((_, i) => i % 2 === 1);
    const [victim, victimData] = lacking[1];
    // A mirror that lacks one of the packages the user lacks (404), for now.
    const mirrorDir = join(dir.path, 'www', 'resume');
    await mkdir(join(mirrorDir, 'debian', 'pool', 'main'), { recursive: true });
    for (const [name, data] of fx.packages) if (name !== victim) await writeFile(join(mirrorDir, 'debian', name), data);
    await symlink(fx.template, join(mirrorDir, 'image.template'));
    const text = new TextDecoder().decode(readBytes(fx.jigdo)).replace(`${server.url}md5/debian/`, `${server.url}resume/debian/`);
    await writeFile(join(mirrorDir, 'image.jigdo'), text);
    const out = join(dir.path, 'resume.iso');
    const kept = `${out}.tessera-parts`;
    const args = ['get', `${server.url}resume/image.jigdo`, '--seed', join(dir.path, 'seeds-md5'), '-o', out, '--json'];

    sent.clear();
    const failed = await runCli(args);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${server.url}resume/debian/${victim}: HTTP 404`);
    expect(failed.stderr).toContain(`The ${lacking.length - 1} files`);
    expect(failed.stderr).toContain(`fetched and verified so far are kept in ${kept}; run the same command again (same -o)`);
    expect(failed.json()).toMatchObject({ ok: false, error: { code: 'E_MIRRORS_FAILED' } });
    expect(existsSync(out)).toBe(false);
    // Every other lacking package was fetched whole, and is kept under its MD5.
    for (const [name, data] of lacking) expect(sent.get(`/resume/debian/${name}`) ?? 0, name).toBe(name === victim ? 0 : data.length);
    const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');
    expect(readdirSync(kept).sort()).toEqual(lacking.filter(([n]) => n !== victim).map(([, d]) => md5(d)).sort());

    // The mirror gets the missing package; the same command resumes.
    await writeFile(join(mirrorDir, 'debian', victim), victimData);
    sent.clear();
    const resumed = await runCli(args);
    expect(resumed.code, resumed.stderr).toBe(0);
    const keptBytes = lacking.filter(([n]) => n !== victim).reduce((n, [, d]) => n + d.length, 0);
    expect(resumed.stderr).toMatch(new RegExp(`Resuming: ${lacking.length - 1} files, [\\d.]+ [kM]B verified earlier`));
    expect(resumed.json()).toMatchObject({ ok: true, filesFetched: 1, bytesFetched: victimData.length, bytesLocal: expect.any(Number) });
    expect((resumed.json() as { bytesLocal: number }).bytesLocal).toBeGreaterThanOrEqual(keptBytes);
    // Only the package that failed was fetched again.
    for (const [name, data] of fx.packages) expect(sent.get(`/resume/debian/${name}`) ?? 0, name).toBe(name === victim ? data.length : 0);
    expectSameBytes(new Uint8Array(await readFile(out)), readBytes(fx.iso));
    expect(existsSync(kept)).toBe(false);
  }, 60_000);

  it('stops cleanly on Ctrl-C, keeping the files already fetched', async () => {
    // The same mirror, slowed down (50 kB/s per response), so that Ctrl-C comes mid-download.
    const slow = await startStaticServer({ root: join(dir.path, 'www'), rateBytesPerSecond: 50_000 });
    try {
      const slowDir = join(dir.path, 'www', 'slow');
      await mkdir(slowDir);
      await symlink(fixtures.md5.template, join(slowDir, 'image.template'));
      await writeFile(join(slowDir, 'image.jigdo'), new TextDecoder().decode(readBytes(fixtures.md5.jigdo)).replace(`${server.url}md5/debian/`, `${slow.url}md5/debian/`));
      const out = join(dir.path, 'interrupted.iso');
      const kept = `${out}.tessera-parts`;
      const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url)), 'get', `${slow.url}slow/image.jigdo`, '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Ctrl-C once the first file is kept (and before the last: 9 files take ~20 s at this rate).
      await expect.poll(() => (existsSync(kept) ? readdirSync(kept).filter((n) => !n.endsWith('.tmp')).length : 0), { timeout: 20_000, interval: 50 }).toBeGreaterThan(0);
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      const files = readdirSync(kept);
      expect(files.length).toBeLessThan(fixtures.md5.packages.size);
      expect(stderr).toContain('tessera: cancelled');
      expect(stderr).toContain(`The ${files.length} file${files.length === 1 ? '' : 's'} (`);
      expect(stderr).toContain(`fetched and verified so far are kept in ${kept}`);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.tessera-part`)).toBe(false);
    } finally {
      await slow.close();
    }
  }, 60_000);
  it('with --sha256, refuses a SHA-256 template of another image before fetching, and checks an MD5 one once built', async () => {
    const wrong = 'ab'.repeat(32);
    sent.clear();
    const refused = await runCli(['get', `${server.url}sha256/image.jigdo`, '--seed', join(dir.path, 'seeds-sha256'), '-o', join(dir.path, 'refused.iso'), '--sha256', wrong]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`not the ${wrong} you asked for; it is for another image`);
    expect([...sent.keys()].filter((p) => p.includes('/debian/'))).toEqual([]);
    expect(existsSync(join(dir.path, 'refused.iso'))).toBe(false);

    const md5 = fixtures.md5;
    const right = createHash('sha256').update(await readFile(md5.iso)).digest('hex');
    const bad = await runCli(['get', `${server.url}md5/image.jigdo`, '--seed', join(dir.path, 'seeds-md5'), '-o', join(dir.path, 'md5-bad.iso'), '--sha256', wrong]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("The MD5 template cannot confirm --sha256 in advance; the built image's SHA-256 is checked before it is kept.");
    expect(bad.stderr).toContain(`its SHA-256 is ${right}, not the ${wrong} you asked for; it was not kept`);
    expect(existsSync(join(dir.path, 'md5-bad.iso'))).toBe(false);
    const good = await runCli(['get', `${server.url}md5/image.jigdo`, '--seed', join(dir.path, 'seeds-md5'), '-o', join(dir.path, 'md5-good.iso'), '--sha256', right]);
    expect(good.code, good.stderr).toBe(0);
    expect(createHash('sha256').update(await readFile(join(dir.path, 'md5-good.iso'))).digest('hex')).toBe(right);
  }, 60_000);
});
