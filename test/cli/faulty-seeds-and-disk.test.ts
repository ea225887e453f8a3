import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Behaviour, useFaultServers } from '../helpers/fault-server.ts';
import { BS, CHUNK, CHUNKS, expectImage, faultFixture } from '../helpers/fault-fixture.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { runCli } from '../helpers/run-cli.ts';

/** `tessera get` when a seed is unusable or changes under it, and when the disk fills up. */
let fx: Awaited<ReturnType<typeof faultFixture>>;
const startServer = useFaultServers();

beforeAll(async () => {
  fx = await faultFixture();
});
afterAll(async () => {
  await fx.dir.remove();
});
const mirror = (choose?: (n: number) => Behaviour) => startServer(fx.image, choose);

/** Where each even chunk of the image sits in old.iso (faultImages: junk of 1000 + i bytes before chunk i). */
function chunkOffsetsInOld(): Map<number, number> {
  const offsets = new Map<number, number>();
  let o = 0;
  for (let i = 0; i < CHUNKS; i += 2) {
    o += 1000 + i;
    offsets.set(i, o);
    o += CHUNK;
  }
  return offsets;
}

describe('tessera get with unusable seeds', () => {
  it('skips a dangling link and a pipe given as seeds, naming each, and uses the rest', async () => {
    const dangling = join(fx.dir.path, 'gone.iso');
    await symlink(join(fx.dir.path, 'nowhere.iso'), dangling);
    const fifo = join(fx.dir.path, 'pipe.iso');
    execFileSync('mkfifo', [fifo]);
    const m = await mirror();
    const out = join(fx.dir.path, 'seeds.iso');
    const run = await runCli(['get', fx.manifestPath, '--seed', dangling, '--seed', fifo, '--seed', fx.oldPath, '--mirror', m.url, '-o', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(run.stderr).toContain(`warning: seed ${dangling}: a link to ${join(fx.dir.path, 'nowhere.iso')}, which does not exist; skipped`);
    expect(run.stderr).toContain(`warning: seed ${fifo}: not a regular file or folder; skipped`);
    // The good seed still gave its half of the image.
    expect(run.json().bytesFetched).toBe(fx.missingBytes);
    expect(m.bytesSent).toBe(fx.missingBytes);
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'seed unreadable (a dangling link, a pipe)',
      cases: 2,
      outcome: `each skipped with a warning naming it; the other seed used; image verified with the planned ${fx.missingBytes} bytes fetched`,
    });
  });

  it('a seed truncated between the scan and the writing: named once, its lost blocks fetched, image verified', async () => {
    const seed = join(fx.dir.path, 'shrinking.iso');
    await writeFile(seed, fx.old);
    // The first range comes slowly, so the seed is cut while the writer waits for it, before it reads the seed again.
    const m = await mirror((n) => (n === 0 ? { stall: 1500 } : 'ok'));
    const offsets = chunkOffsetsInOld();
    const cut = offsets.get(12)! + 3 * BS + 100; // chunks 0-10 and three blocks of chunk 12 stay
    let truncated: Promise<void> | undefined;
    const out = join(fx.dir.path, 'truncated.iso');
    const run = await runCli(['get', fx.manifestPath, '--seed', seed, '--mirror', m.url, '-o', out, '--json'], {
      onStderr: (text) => {
        if (!truncated && text.includes('Plan: ')) truncated = truncate(seed, cut);
      },
    });
    await truncated;
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    let lostBlocks = 0;
    for (const [, o] of offsets) for (let j = 0; j < CHUNK / BS; j++) if (o + (j + 1) * BS > cut) lostBlocks++;
    expect(lostBlocks).toBe(1 + 5 * (CHUNK / BS));
    expect(run.stderr.match(/changed since it was scanned/g)).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`warning: seed ${seed} changed since it was scanned \\(block \\d+ differs\\); what of it no longer matches is downloaded instead`));
    expect(run.json().bytesFetched).toBe(fx.missingBytes + lostBlocks * BS);
    expect(m.bytesSent).toBe(fx.missingBytes + lostBlocks * BS);
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'seed truncated between scan and writing',
      cases: 1,
      outcome: `one warning naming the seed; exactly its ${lostBlocks} lost blocks fetched instead (${lostBlocks * BS} bytes); image verified`,
    });
  });
});

/** A small tmpfs to fill up; tests that need it are skipped where mounting is not allowed. */
const disk = { path: '', mounted: false };

describe('tessera get on a full disk', () => {
  beforeAll(async () => {
    disk.path = join(fx.dir.path, 'small-disk');
    await mkdir(disk.path);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tessera-test', disk.path], { stdio: 'ignore' });
      disk.mounted = true;
    } catch {
      disk.mounted = false; // not root, or no CAP_SYS_ADMIN (a container)
    }
  });
  afterAll(() => {
    if (disk.mounted) execFileSync('umount', [disk.path]);
  });

  /** Take every free byte of the tmpfs. */
  function fill(path: string): void {
    const fd = openSync(path, 'a');
    try {
      for (const size of [1 << 16, 4096, 1]) {
        const chunk = new Uint8Array(size);
        try {
          for (;;) writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  it('refuses to start when the image cannot fit, saying how much space is missing', async (ctx) => {
    if (!disk.mounted) ctx.skip();
    const filler = join(disk.path, 'filler');
    await writeFile(filler, new Uint8Array((1 << 20) - 100 * 1024));
    try {
      const m = await mirror();
      const out = join(disk.path, 'image.iso');
      const run = await runCli(['get', fx.manifestPath, '--seed', fx.oldPath, '--mirror', m.url, '-o', out, '--json']);
      expect(run.code).toBe(1);
      expect(run.json()).toMatchObject({ ok: false, error: { code: 'E_NO_SPACE' } });
      expect(run.stderr).toMatch(
        new RegExp(`tessera: not enough free space in ${disk.path}: the image needs 197 kB \\(${fx.image.length} bytes\\), only [\\d.]+ kB is free; free [\\d.]+ kB more, or write the image elsewhere with -o PATH`),
      );
      expect(m.requests).toHaveLength(0);
      await expect(stat(out + '.tessera-part')).rejects.toThrow();
      recordFaultOutcome(import.meta.url, {
        surface: 'command line',
        fault: 'not enough free space for the image (checked before starting)',
        cases: 1,
        outcome: 'E_NO_SPACE naming the folder, the space needed and free; nothing fetched or written',
      });
    } finally {
      await rm(filler, { force: true });
    }
  });

  it('the disk fills up while writing: said plainly, what was written is kept, and a later run resumes from it', async (ctx) => {
    if (!disk.mounted) ctx.skip();
    const filler = join(disk.path, 'filler');
    const out = join(disk.path, 'image.iso');
    const part = out + '.tessera-part';
    // One connection; the second range comes 2 s late. By then the first three chunks are written, and the disk is full.
    const m = await mirror((n) => (n === 1 ? { stall: 2000 } : 'ok'));
    let filled: Promise<void> | undefined;
    const waitAndFill = async () => {
      const deadline = Date.now() + 5000;
      while (((await stat(part).catch(() => undefined))?.size ?? 0) < 3 * CHUNK && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      fill(filler);
    };
    try {
      const first = await runCli(['get', fx.manifestPath, '--seed', fx.oldPath, '--mirror', m.url, '-o', out, '--connections', '1', '--json'], {
        onStderr: (text) => {
          if (!filled && text.includes('Plan: ')) filled = waitAndFill();
        },
      });
      await filled;
      expect(first.code).toBe(1);
      expect(first.json()).toMatchObject({ ok: false, error: { code: 'E_NO_SPACE' } });
      expect(first.stderr).toContain(`tessera: the disk is full: could not write the image at byte ${3 * CHUNK} (ENOSPC: no space left on device, write); free some space, or write the image elsewhere`);
      expect(first.stderr).toContain(`warning: everything verified so far is kept in ${part} (24.6 kB); run the same command again to resume once there is space`);
      const kept = await readFile(part);
      expect(kept.length).toBe(3 * CHUNK);
      expect(Buffer.from(kept).equals(Buffer.from(fx.image.subarray(0, 3 * CHUNK)))).toBe(true);
      await expect(stat(out)).rejects.toThrow();

      await rm(filler);
      const good = await mirror();
      const second = await runCli(['get', fx.manifestPath, '--seed', fx.oldPath, '--mirror', good.url, '-o', out, '--json']);
      expect(second.code, second.stderr).toBe(0);
      await expectImage(out, fx.image);
      expect(second.stderr).toContain('Resuming: the verified part of an earlier run');
      // The chunk downloaded before the disk filled up is not fetched again.
      expect(second.json().bytesFetched).toBe(fx.missingBytes - CHUNK);
      expect(good.bytesSent).toBe(fx.missingBytes - CHUNK);
      recordFaultOutcome(import.meta.url, {
        surface: 'command line',
        fault: 'disk full while writing (a 1 MiB tmpfs filled up mid-run)',
        cases: 2,
        outcome: `E_NO_SPACE "the disk is full" with the byte offset; the ${3 * CHUNK} bytes written were kept; the next run fetched only the other ${fx.missingBytes - CHUNK} bytes; image verified`,
      });
    } finally {
      await rm(filler, { force: true });
      await rm(out, { force: true });
    }
  });
});
