import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { startFaultServer } from '../helpers/fault-server.ts';
import { concat, padTo, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const BS = 2048;

/**
 * An "old" image and a "new" one in the style of an ISO: files on 2048-byte
 * sectors, zero-padded. The new image reuses files of the old image (which
 * sit there at unaligned offsets), two loose package files, zero sectors, and
 * adds fresh data: exactly the fresh blocks are missing from the seeds.
 */
function makeImages() {
  const files = Array.from({ length: 12 }, (_, i) => randomBytes(5000 + ((i * 37_813) % 300_000), 100 + i));
  const junk = (n: number) => randomBytes(1 + ((n * 7919) % 3000), 500 + n);
  const old = concat([randomBytes(3 * BS, 1), ...files.slice(0, 10).flatMap((f, i) => [junk(i), padTo(f, BS)]), randomBytes(10_000, 2)]);
  const fresh = { header: randomBytes(2 * BS, 3), a: randomBytes(40_000, 4), b: randomBytes(10_000, 5) };
  const newImage = concat([
    fresh.header,
    padTo(files[3], BS),
    padTo(files[1], BS),
    padTo(fresh.a, BS),
    padTo(files[10], BS),
    padTo(files[0], BS),
    padTo(files[11], BS),
    padTo(files[5], BS),
    new Uint8Array(5 * BS),
    padTo(fresh.b, BS),
    files[7], // last, unpadded: the image ends in a partial block
  ]);
  const missingBlocks = 2 + Math.ceil(40_000 / BS) + Math.ceil(10_000 / BS);
  return { old, newImage, loose: [files[10], files[11]], missingBytes: missingBlocks * BS, missingRuns: 3 };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('tessera make + get (real files, real HTTP server, the built command line)', () => {
  const images = makeImages();
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let imageBytesSent = 0;
  let imageRequests = 0;
  /** Bytes sent of wide.iso (the wide-blocks case). */
  let wideBytesSent = 0;
  const resetCounters = () => {
    imageBytesSent = 0;
    imageRequests = 0;
  };

  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'www'));
    await mkdir(join(dir.path, 'loose'));
    await writeFile(join(dir.path, 'www', 'new.iso'), images.newImage);
    await writeFile(join(dir.path, 'old.iso'), images.old);
    await writeFile(join(dir.path, 'loose', 'pkg-a_1.0_amd64.deb'), images.loose[0]);
    await writeFile(join(dir.path, 'loose', 'pkg-b_2.0_amd64.deb'), images.loose[1]);
    await writeFile(join(dir.path, 'loose', 'unrelated.txt'), randomBytes(7000, 77));
    server = await startStaticServer({
      root: join(dir.path, 'www'),
      onRequest: (r) => {
        if (r.path === '/new.iso') {
          imageBytesSent += r.bytesSent;
          imageRequests++;
        }
        if (r.path === '/wide.iso') wideBytesSent += r.bytesSent;
      },
    });
    const made = await runCli(['make', join(dir.path, 'www', 'new.iso'), '--json']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.json()).toMatchObject({ ok: true, imageBytes: images.newImage.length, sha256: sha256(images.newImage), mirrors: ['new.iso'] });
  });
  afterAll(async () => {
    await server.close();
    await dir.remove();
  });

  it('rebuilds the new image from an old image plus loose files, fetching exactly the missing blocks', async () => {
    resetCounters();
    const out = join(dir.path, 'out', 'new.iso');
    await mkdir(join(dir.path, 'out'), { recursive: true });
    // The manifest is fetched by URL, so its relative mirror "new.iso" resolves next to it.
    const run = await runCli(['get', server.url + 'new.iso.tessera', '--seed', join(dir.path, 'old.iso'), '--seed', join(dir.path, 'loose'), '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expectSameBytes(await readFile(out), images.newImage);
    const result = run.json();
    expect(result).toMatchObject({ ok: true, sha256: sha256(images.newImage), bytesFetched: images.missingBytes, requests: images.missingRuns });
    expect(result.bytesLocal).toBe(images.newImage.length - images.missingBytes);
    expect(imageBytesSent).toBe(images.missingBytes);
    expect(imageRequests).toBe(images.missingRuns);
    expect(run.stderr).toMatch(/Verified: SHA-256 [0-9a-f]{64} matches the manifest/);
    await expect(stat(out + '.tessera-part')).rejects.toThrow();
  });

  it('rebuilds with wide blocks (as `tessera make` chooses past 1 GiB), the seed off their grid, fetching exactly the blocks it lacks', async () => {
    // 64 KiB blocks: A (4 blocks) and B (5) come from the old image, where junk puts them at odd offsets;
    // X (2 blocks) and the image's last, partial block T are new.
    const WIDE = 65536;
    const [a, x, b, t] = [randomBytes(4 * WIDE, 41), randomBytes(2 * WIDE, 42), randomBytes(5 * WIDE, 43), randomBytes(10_000, 44)];
    const image = concat([a, x, b, t]);
    const old = concat([randomBytes(777, 45), a, randomBytes(1234, 46), b, randomBytes(5000, 47)]);
    await mkdir(join(dir.path, 'wide'), { recursive: true });
    await writeFile(join(dir.path, 'www', 'wide.iso'), image);
    await writeFile(join(dir.path, 'wide', 'old.iso'), old);
    const made = await runCli(['make', join(dir.path, 'www', 'wide.iso'), '--block-size', String(WIDE), '--json']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.json()).toMatchObject({ blocks: 12, blockSize: WIDE });
    const out = join(dir.path, 'wide', 'new.iso');
    const run = await runCli(['get', server.url + 'wide.iso.tessera', '--seed', join(dir.path, 'wide', 'old.iso'), '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expectSameBytes(await readFile(out), image);
    const missing = x.length + t.length;
    expect(run.json()).toMatchObject({ ok: true, sha256: sha256(image), bytesFetched: missing, bytesLocal: a.length + b.length, requests: 2 });
    expect(wideBytesSent).toBe(missing);
  });

  it('shows the plan and downloads nothing with --dry-run', async () => {
    resetCounters();
    const out = join(dir.path, 'dry', 'new.iso');
    const run = await runCli(['get', server.url + 'new.iso.tessera', '--seed', join(dir.path, 'old.iso'), '--seed', join(dir.path, 'loose'), '-o', out, '--dry-run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ ok: true, dryRun: true, bytesToFetch: images.missingBytes, requests: images.missingRuns, bytesFetched: 0 });
    expect(run.stderr).toMatch(/Plan: .* from your files.* to download in 3 requests from 1 mirror/);
    expect(imageRequests).toBe(0);
    await expect(stat(out)).rejects.toThrow();
  });

  it('downloads everything but the zero blocks when there are no seeds', async () => {
    resetCounters();
    const out = join(dir.path, 'full.iso');
    const run = await runCli(['get', server.url + 'new.iso.tessera', '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expectSameBytes(await readFile(out), images.newImage);
    expect(run.json().bytesFetched).toBe(images.newImage.length - 5 * BS);
    expect(imageBytesSent).toBe(images.newImage.length - 5 * BS);
  });

  it('keeps verified work when every mirror fails, names the mirror, and resumes from it', async () => {
    // A mirror that serves the first request (the data before the zero blocks), then only 503s.
    const flaky = await startFaultServer(images.newImage, (n) => (n < 1 ? 'ok' : { status: 503 }));
    const out = join(dir.path, 'resume.iso');
    const manifest = join(dir.path, 'www', 'new.iso.tessera');
    try {
      const first = await runCli(['get', manifest, '--mirror', flaky.url, '-o', out, '--connections', '1', '--merge-gap', '0', '--json']);
      expect(first.code).toBe(1);
      expect(first.json()).toMatchObject({ ok: false, error: { code: 'E_MIRRORS_FAILED' } });
      expect(first.stderr).toContain(`${flaky.url}: HTTP 503`);
      expect(first.stderr).toContain('run the same command again to resume');
      const kept = (await stat(out + '.tessera-part')).size;
      expect(kept).toBeGreaterThan(0);
      await expect(stat(out)).rejects.toThrow();

      resetCounters();
      const second = await runCli(['get', manifest, '--mirror', server.url + 'new.iso', '-o', out, '--json']);
      expect(second.code, second.stderr).toBe(0);
      expectSameBytes(await readFile(out), images.newImage);
      // Nothing that was kept (the first range and the zero blocks after it) is fetched again.
      expect(second.json().bytesFetched).toBe(images.newImage.length - kept);
      await expect(stat(out + '.tessera-resume')).rejects.toThrow();
    } finally {
      await flaky.close();
    }
  });

  it('refuses a corrupted manifest with a clear message and exit status 1', async () => {
    const bytes = await readFile(join(dir.path, 'www', 'new.iso.tessera'));
    bytes[bytes.length - 100] ^= 1;
    const bad = join(dir.path, 'bad.tessera');
    await writeFile(bad, bytes);
    const run = await runCli(['get', bad, '-o', join(dir.path, 'never.iso')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`tessera: ${bad}: the manifest is corrupted (its checksum does not match its content)`);
    const missing = await runCli(['get', join(dir.path, 'nope.tessera')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');
  });

  it('exits 2 with usage help on a bad command line', async () => {
    const run = await runCli(['get']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/get takes exactly one MANIFEST[\s\S]*tessera --help/);
  });
});

describe('tessera demo (what npm start runs)', () => {
  it('makes a demo pair, serves it and rebuilds the new image, verified', async () => {
    const dir = await tempDir();
    try {
      const run = await runCli(['demo', '--dir', dir.path, '--port', '0', '--once']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Verified: SHA-256 [0-9a-f]{64} matches the manifest/);
      expect(run.stdout).toMatch(/from your files, .* downloaded in \d+ requests/);
      const made = createHash('sha256').update(await readFile(join(dir.path, 'out', 'new.img'))).digest('hex');
      expect(made).toBe(createHash('sha256').update(await readFile(join(dir.path, 'www', 'new.img'))).digest('hex'));
    } finally {
      await dir.remove();
    }
  });
});
