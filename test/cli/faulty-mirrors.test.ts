import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Behaviour, type FaultServer, type FaultServerOptions, bytesAllowed, failedRequest, requestedRange, useFaultServers } from '../helpers/fault-server.ts';
import { BS, countKeptBlocks, expectImage, faultFixture, missingBlock } from '../helpers/fault-fixture.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { runCli } from '../helpers/run-cli.ts';

/**
 * `tessera get` (the built command line) against real HTTP mirrors that fail
 * in the ways real ones do. The plan fetches 12 ranges of 8 KiB.
 */
let fx: Awaited<ReturnType<typeof faultFixture>>;
const startServer = useFaultServers();
let runNumber = 0;

beforeAll(async () => {
  fx = await faultFixture();
});
afterAll(async () => {
  await fx.dir.remove();
});
const mirror = (choose?: (n: number) => Behaviour, options?: FaultServerOptions, data = fx.image) => startServer(data, choose, options);

/** `tessera get` with the old file as seed and these mirrors; a fresh output path unless `out` is given. */
async function get(mirrors: FaultServer[] | string[], extra: string[] = [], out = join(fx.dir.path, `out-${++runNumber}.iso`)) {
  const urls = mirrors.map((m) => (typeof m === 'string' ? m : m.url));
  const run = await runCli(['get', fx.manifestPath, '--seed', fx.oldPath, ...urls.flatMap((u) => ['--mirror', u]), '-o', out, '--json', '--stall-timeout', '0.5', ...extra]);
  return { run, out, json: run.code === 0 || run.stdout.trim() ? run.json<Record<string, unknown>>() : {} };
}

const sent = (list: FaultServer[]) => list.reduce((s, m) => s + m.bytesSent, 0);
const failedCount = (list: FaultServer[]) => list.reduce((s, m) => s + m.requests.filter(failedRequest).length, 0);
/** Bytes that failed requests sent: the most a retry that continues after verified blocks may fetch again. */
const failedBytes = (list: FaultServer[]) => list.reduce((s, m) => s + m.requests.filter(failedRequest).reduce((t, r) => t + r.bytesSent, 0), 0);

describe('tessera get against faulty mirrors', () => {
  it.each<[string, Behaviour, RegExp]>([
    ['mirror resets the connection mid-body', 'reset', /connection lost after \d+ of 8192 bytes/],
    ['mirror stalls (headers, then nothing)', { stall: 10_000 }, /stalled: nothing received for 0\.5 s after 0 of 8192 bytes/],
    ['mirror answers 503', { status: 503 }, /HTTP 503/],
    ['mirror sends a short body', 'short', /connection lost after 4096 of 8192 bytes/],
  ])('transient fault: %s; retried with backoff, image verified, bytes within plan + retries', async (fault, behaviour, problem) => {
    const m = await mirror((n) => (n === 1 || n === 4 ? behaviour : 'ok'));
    const { run, out, json } = await get([m]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    // Each fault is named and retried; the summary names the mirror with its problem.
    expect(run.stderr.match(new RegExp(`warning: ${m.url}: ${problem.source}[^\n]*; retrying`, 'g'))).toHaveLength(2);
    expect(run.stderr).toMatch(new RegExp(`${m.url}: 14 requests, .* verified, 2 failed \\(${problem.source}`));
    expect(failedCount([m])).toBe(2);
    expect(json.requests).toBe(fx.missingRanges + 2);
    // Every planned byte came once; what the retries fetched again is no more than what the faults wasted.
    const allowed = bytesAllowed(fx.missingBytes, [m], fx.image.length);
    expect(m.bytesSent).toBeGreaterThanOrEqual(fx.missingBytes);
    expect(m.bytesSent).toBeLessThanOrEqual(allowed);
    expect(m.bytesSent - fx.missingBytes).toBeLessThanOrEqual(failedBytes([m]));
    expect(json.bytesFetched).toBe(m.bytesSent);
    // Backoff: the next try for a failed range comes at least 250 ms after the failed one began.
    for (const [i, r] of m.requests.entries()) {
      if (!failedRequest(r)) continue;
      const [start, end] = requestedRange(r.range, fx.image.length)!;
      const retry = m.requests.slice(i + 1).find((q) => {
        const [s] = requestedRange(q.range, fx.image.length)!;
        return s >= start && s <= end;
      });
      expect(retry!.at - r.at).toBeGreaterThanOrEqual(245);
    }
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault,
      cases: 1,
      outcome: `image verified; ${failedCount([m])} requests failed and were retried; ${m.bytesSent} bytes sent for ${fx.missingBytes} planned (at most ${allowed} allowed)`,
    });
  });

  it.each<[string, Behaviour, RegExp, boolean]>([
    ['one of three mirrors answers 503', { status: 503 }, /HTTP 503/, false],
    ['one of three mirrors resets every connection', 'reset', /connection lost after \d+ of \d+ bytes/, false],
    ['one of three mirrors sends corrupted bytes', 'corrupt', /sent bad data \(block \d+, bytes \d+-\d+ fails its checksum\)/, false],
    ['one of three mirrors ignores Range (200, whole file)', 'full-200', /answered 200 with the whole file instead of 206/, true],
    ['one of three mirrors sends a wrong Content-Range', 'wrong-range', /sent bytes \d+-\d+ when asked for \d+-\d+/, false],
  ])('%s: the others take over its ranges, the summary names it', async (fault, behaviour, problem, permanent) => {
    const bad = await mirror(() => behaviour);
    const good = [await mirror(), await mirror()];
    const { run, out, json } = await get([good[0], bad, good[1]]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    // Every request to it failed, and each range it failed was then fetched from a good mirror.
    const rangesFailed = new Set(bad.requests.map((r) => requestedRange(r.range, fx.image.length)![1])).size;
    const line = run.stderr.split('\n').find((l) => l.startsWith(`  ${bad.url}: `));
    expect(line, run.stderr).toMatch(new RegExp(`: ${bad.requests.length} requests?, .* verified, ${bad.requests.length} failed \\(${problem.source}`));
    expect(line).toMatch(new RegExp(`; ${rangesFailed} of its ranges fetched from the other mirrors$`));
    if (permanent) expect(line).toContain('; set aside: ');
    const report = (json.mirrors as { url: string; bytesGood: number }[]).find((m) => m.url === bad.url)!;
    // The good mirrors sent each byte once, except those the bad one delivered verified before failing.
    expect(sent(good)).toBe(fx.missingBytes - report.bytesGood);
    expect(json.bytesFetched).toBeLessThanOrEqual(bytesAllowed(fx.missingBytes, [bad, ...good], fx.image.length));
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault,
      cases: 1,
      outcome:
        `image verified; the bad mirror failed all ${bad.requests.length} of its requests${permanent ? ' and was set aside at once' : ''}, the other two took over its ${rangesFailed} ranges; ` +
        `the summary names it and its problem; good mirrors sent ${sent(good)} bytes for ${fx.missingBytes} planned`,
    });
  });

  it('corrupted data from the only mirror, twice: detected per block, refetched, image verified', async () => {
    const m = await mirror((n) => (n === 0 || n === 3 ? 'corrupt' : 'ok'));
    const { run, out } = await get([m]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(run.stderr.match(/sent bad data \(block \d+, bytes \d+-\d+ fails its checksum\); retrying/g)).toHaveLength(2);
    expect(m.bytesSent - fx.missingBytes).toBeLessThanOrEqual(failedBytes([m]));
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: `mirror sends corrupted bytes (2 of ${m.requests.length} requests)`,
      cases: 1,
      outcome: `image verified; both bad blocks named in a warning and fetched again (${m.bytesSent - fx.missingBytes} bytes more than planned)`,
    });
  });

  it('corrupted data from the only mirror, always: fails clearly, no output, the kept part holds only verified blocks', async () => {
    const m = await mirror(() => 'corrupt');
    const { run, out, json } = await get([m]);
    expect(run.code).toBe(1);
    expect(json).toMatchObject({ ok: false, error: { code: 'E_MIRRORS_FAILED' } });
    expect(run.stderr).toMatch(new RegExp(`${m.url}: sent bad data \\(block \\d+, bytes \\d+-\\d+ fails its checksum\\)`));
    await expect(stat(out)).rejects.toThrow();
    // The blocks before each bad byte were verified and kept; the bad ones never reach the file.
    const part = await readFile(out + '.tessera-part');
    const kept = countKeptBlocks(part, fx.image, missingBlock);
    expect(kept).toBeGreaterThan(0);
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'the only mirror always sends corrupted bytes',
      cases: 1,
      outcome: `E_MIRRORS_FAILED naming the mirror and "sent bad data"; no image; the kept part is ${part.length / BS} blocks, each a verified block of the image (${kept} of them downloaded)`,
    });
  });

  it('the file changes on the only mirror (new ETag, same size): named, E_REMOTE_CHANGED, no mixing, no output', async () => {
    const m = await mirror(undefined, { changed: { from: 3, data: fx.changed } });
    const { run, out, json } = await get([m], ['--connections', '1']);
    expect(run.code).toBe(1);
    expect(json).toMatchObject({ ok: false, error: { code: 'E_REMOTE_CHANGED' } });
    expect(run.stderr).toContain(`${m.url}: the file changed on the mirror during the download (ETag "v1" -> "v2")`);
    expect(run.stderr).toMatch(/get the new manifest/);
    await expect(stat(out)).rejects.toThrow();
    // Of the new version not one block was taken: everything kept is the manifest's image.
    const part = await readFile(out + '.tessera-part');
    const kept = countKeptBlocks(part, fx.image, missingBlock);
    expect(kept).toBe(3 * (8192 / BS)); // the 3 ranges served before the change
    expect(m.requests.filter((r) => r.version === 2)).toHaveLength(1); // set aside at its first answer
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'the file changes on the only mirror (new ETag, same size)',
      cases: 1,
      outcome: `E_REMOTE_CHANGED naming the mirror and both ETags; no image; the kept part holds only blocks of the manifest's version (${kept} downloaded)`,
    });
  });

  it('run again after the file changed on the mirror (new ETag): said to have changed since the last attempt, not "bad data"; a mirror copied again with the same bytes is used', async () => {
    const m = await mirror(undefined, { changed: { from: 3, data: fx.changed } });
    const out = join(fx.dir.path, 'changed-between-runs.iso');
    const first = await get([m], ['--connections', '1'], out);
    expect(first.json).toMatchObject({ ok: false, error: { code: 'E_REMOTE_CHANGED' } });
    const kept = JSON.parse(await readFile(out + '.tessera-mirrors', 'utf8'));
    expect(kept.mirrors[m.url][m.url]).toMatchObject({ etag: '"v1"' });

    // The mirror still holds the new version: its first answer of this run fails the checksums, and the kept ETag says why.
    const second = await get([m], ['--connections', '1'], out);
    expect(second.json).toMatchObject({ ok: false, error: { code: 'E_REMOTE_CHANGED' } });
    expect(second.run.stderr).toContain(`${m.url}: the file changed on the mirror since the last attempt (ETag "v1" -> "v2"); its bytes are not the manifest's image`);
    expect(second.run.stderr).not.toContain('sent bad data');
    expect(second.run.stderr).toMatch(/get the new manifest/);
    expect(m.requests.filter((r) => r.version === 2)).toHaveLength(2); // one in each run, then set aside

    // The same version copied again (a new ETag, the same bytes): not refused, and only what no run verified is fetched.
    const copied = await mirror(undefined, { changed: { from: 0, data: fx.image, etag: '"v3"' } });
    const keptBlocks = countKeptBlocks(await readFile(out + '.tessera-part'), fx.image, missingBlock);
    const third = await get([copied], [], out);
    expect(third.run.code, third.run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(copied.bytesSent).toBe(fx.missingBytes - keptBlocks * BS);
    for (const leftover of ['.tessera-part', '.tessera-resume', '.tessera-mirrors']) await expect(stat(out + leftover)).rejects.toThrow();
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'run again after the file changed on the only mirror (new ETag, same size)',
      cases: 3,
      outcome:
        'E_REMOTE_CHANGED, "the file changed on the mirror since the last attempt" with both ETags (the ETags seen are kept beside the part file), not "bad data"; ' +
        `a mirror with the same bytes under a new ETag is used; the last run fetched only the ${fx.missingBytes - keptBlocks * BS} bytes no run verified`,
    });
  });

  it('the file changes on one of two mirrors (new size): set aside, named, image verified from the other', async () => {
    const longer = new Uint8Array(fx.image.length + 4096);
    longer.set(fx.changed);
    const changing = await mirror(undefined, { changed: { from: 2, data: longer } });
    const good = await mirror();
    const { run, out } = await get([changing, good]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(run.stderr).toMatch(
      new RegExp(`  ${changing.url}: .*set aside: holds a different file: ${longer.length} bytes, the manifest says ${fx.image.length}; [1-9]\\d* of its ranges fetched from the other mirrors$`, 'm'),
    );
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'the file changes on one of two mirrors (new size)',
      cases: 1,
      outcome: 'image verified from the other mirror; the summary names the mirror, set aside for holding a file of another size',
    });
  });

  it('the file changes on the only mirror without ETag or Last-Modified: caught by block checksums, no mixing', async () => {
    const m = await mirror(undefined, { etag: null, lastModified: null, changed: { from: 2, data: fx.changed, etag: '', lastModified: '' } });
    const { run, out, json } = await get([m], ['--connections', '1']);
    expect(run.code).toBe(1);
    expect(json).toMatchObject({ ok: false, error: { code: 'E_MIRRORS_FAILED' } });
    expect(run.stderr).toMatch(new RegExp(`${m.url}: sent bad data \\(block`));
    await expect(stat(out)).rejects.toThrow();
    const kept = countKeptBlocks(await readFile(out + '.tessera-part'), fx.image, missingBlock);
    expect(kept).toBe(2 * (8192 / BS));
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'the file changes on the only mirror, no ETag or Last-Modified',
      cases: 1,
      outcome: 'E_MIRRORS_FAILED naming the mirror ("sent bad data"); no image; the kept part holds only blocks of the manifest\'s version',
    });
  });

  it('every mirror fails: each is named with what it did, verified work is kept, two later runs fetch only what is missing', async () => {
    const a = await mirror((n) => (n < 2 ? 'ok' : { status: 503 }));
    const b = await mirror((n) => (n < 2 ? 'ok' : 'reset'));
    const out = join(fx.dir.path, 'resume.iso');
    const first = await get([a, b], [], out);
    expect(first.run.code).toBe(1);
    expect(first.json).toMatchObject({ ok: false, error: { code: 'E_MIRRORS_FAILED' } });
    expect(first.run.stderr).toMatch(new RegExp(`  ${a.url}: HTTP 503 \\(\\d+ failures\\); 16384 bytes from it were verified and kept`));
    expect(first.run.stderr).toMatch(new RegExp(`  ${b.url}: connection lost after \\d+ of \\d+ bytes: .*; \\d+ bytes from it were verified and kept`));
    expect(first.run.stderr).toContain(`everything verified so far is kept in ${out}.tessera-part`);
    await expect(stat(out)).rejects.toThrow();
    const verifiedFirst = a.requests.filter((r) => r.behaviour === 'ok').length * 8192 + b.requests.filter((r) => r.behaviour === 'ok').length * 8192;
    const blocksAfterFirst = countKeptBlocks(await readFile(out + '.tessera-part'), fx.image, missingBlock);
    // Whole ranges fetched ahead of the writer and blocks before each reset are kept too.
    expect(blocksAfterFirst * BS).toBeGreaterThanOrEqual(verifiedFirst);

    // A second run fails again after one range: it fetches nothing kept, and its part takes over the first one's.
    const c = await mirror((n) => (n < 1 ? 'ok' : { status: 404 }));
    const second = await get([c], ['--connections', '1'], out);
    expect(second.run.code).toBe(1);
    expect(second.run.stderr).toContain('Resuming: the verified part of an earlier run');
    expect(second.run.stderr).toContain(`${c.url}: HTTP 404 (not found)`);
    await expect(stat(out + '.tessera-resume')).rejects.toThrow();
    const blocksAfterSecond = countKeptBlocks(await readFile(out + '.tessera-part'), fx.image, missingBlock);
    expect(blocksAfterSecond).toBe(blocksAfterFirst + c.bytesSent / BS);

    // The third run, with a good mirror, fetches exactly the blocks no earlier run verified.
    const d = await mirror();
    const third = await get([d], [], out);
    expect(third.run.code, third.run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(third.json.bytesFetched).toBe(fx.missingBytes - blocksAfterSecond * BS);
    expect(d.bytesSent).toBe(fx.missingBytes - blocksAfterSecond * BS);
    await expect(stat(out + '.tessera-part')).rejects.toThrow();
    await expect(stat(out + '.tessera-resume')).rejects.toThrow();
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'every mirror fails (503, resets), twice, then a good mirror',
      cases: 3,
      outcome:
        `E_MIRRORS_FAILED listing each mirror with its problem and the bytes verified from it; ${blocksAfterFirst * BS} then ${blocksAfterSecond * BS} bytes of downloads kept; ` +
        `the last run fetched exactly the other ${fx.missingBytes - blocksAfterSecond * BS} bytes; image verified`,
    });
  });

  it('a mirror redirects (302) to another origin: followed, named in the summary, image verified', async () => {
    const target = await mirror();
    const redirector = await mirror(() => ({ redirect: target.url }));
    const { run, out } = await get([redirector]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(redirector.bytesSent).toBe(0);
    expect(target.bytesSent).toBe(fx.missingBytes);
    expect(run.stderr).toMatch(new RegExp(`  ${redirector.url}: 12 requests, 98.3 kB verified, redirected to ${target.url}$`, 'm'));
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'mirror redirects (302) to another origin',
      cases: 1,
      outcome: `followed (as curl -L and zsync do: every block is verified anyway); image verified; exactly the ${fx.missingBytes} planned bytes, from the target; the summary names the target`,
    });
  });

  it('a redirector spreads requests over two mirrors with different ETags: not taken for a changed file', async () => {
    const x = await mirror(undefined, { etag: '"x-1"', lastModified: 'Wed, 03 Jan 2024 00:00:00 GMT' });
    const y = await mirror(undefined, { etag: '"y-7"', lastModified: 'Thu, 04 Jan 2024 00:00:00 GMT' });
    const redirector = await mirror((n) => ({ redirect: (n % 2 ? x : y).url }));
    const { run, out } = await get([redirector]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(run.stderr).not.toContain('changed');
    expect(x.bytesSent + y.bytesSent).toBe(fx.missingBytes);
    expect(x.bytesSent).toBeGreaterThan(0);
    expect(y.bytesSent).toBeGreaterThan(0);
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'a redirector sends requests to two mirrors with different ETags',
      cases: 1,
      outcome: 'image verified; ETags compared per mirror that answered, so no false "file changed"; exactly the planned bytes',
    });
  });

  it('416 from the only mirror: a clear error naming it; with a second mirror, set aside and named', async () => {
    const short = await mirror(() => ({ status: 416 }));
    const alone = await get([short]);
    expect(alone.run.code).toBe(1);
    expect(alone.json).toMatchObject({ ok: false, error: { code: 'E_REMOTE_CHANGED' } });
    expect(alone.run.stderr).toContain(`  ${short.url}: HTTP 416 (the file there is shorter than the manifest says)`);
    expect(short.requests.length).toBeLessThanOrEqual(6); // set aside at once: one answer per connection at most
    const good = await mirror();
    const both = await get([short, good]);
    expect(both.run.code, both.run.stderr).toBe(0);
    await expectImage(both.out, fx.image);
    expect(both.run.stderr).toMatch(new RegExp(`  ${short.url}: .*set aside: HTTP 416 \\(the file there is shorter than the manifest says\\)`));
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'mirror answers 416 (Range Not Satisfiable)',
      cases: 2,
      outcome: 'alone: E_REMOTE_CHANGED naming the mirror and "HTTP 416 (the file there is shorter than the manifest says)"; with a good mirror: set aside, image verified',
    });
  });

  it('a mirror that sends no CORS headers is fine for the command line', async () => {
    const m = await mirror(undefined, { cors: false });
    const { run, out } = await get([m]);
    expect(run.code, run.stderr).toBe(0);
    await expectImage(out, fx.image);
    expect(m.bytesSent).toBe(fx.missingBytes);
    recordFaultOutcome(import.meta.url, {
      surface: 'command line',
      fault: 'mirror sends no CORS headers',
      cases: 1,
      outcome: 'not needed outside a browser: image verified with exactly the planned bytes',
    });
  });
});
