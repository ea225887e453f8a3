import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS } from '../helpers/browser.ts';
import { type FaultServer, bytesAllowed, requestedRange, startFaultServer } from '../helpers/fault-server.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { expectImageBuilt, type FaultMirror, keptWork, openWithSeed, opfsFileSha256, rangeRequests, readPlan, runDownload, useFaultPage, visitImagePage } from '../helpers/fault-page.ts';

/**
 * The page (headless Chromium) against mirrors that stall, change their file,
 * answer 416 or redirect to another origin: the faults of tessera get's
 * faulty-mirrors.test.ts that a browser meets differently.
 *
 * 24 chunks of 128 KiB; the seed holds the even ones, so the plan fetches the
 * 12 odd ones in 12 requests. The page opens 6 at once.
 */
const CHUNK = 128 << 10;
const chunks = Array.from({ length: 24 }, (_, i) => randomBytes(CHUNK, 7100 + i));
const image = concat(chunks);
const seed = concat(chunks.filter((_, i) => i % 2 === 0));
const PLAN = { bytes: 12 * CHUNK, requests: 12 };
/** A new version of the file: the same size, its odd chunks other bytes. */
const changedSameSize = concat(chunks.map((c, i) => (i % 2 === 1 ? randomBytes(CHUNK, 7200 + i) : c)));
/** A new version of another size. */
const changedLonger = concat([changedSameSize, randomBytes(4096, 7300)]);

/** The page's stall timeout in these tests (set through the page's test hook; 30 s by default). */
const STALL_MS = 1500;

/** A mirror's records from request `from` on, as a FaultServer (for bytesAllowed and rangeRequests). */
const since = (m: FaultServer, from: number): FaultServer => ({ ...m, requests: m.requests.slice(from), bytesSent: m.requests.slice(from).reduce((n, r) => n + r.bytesSent, 0) });



/** The build stopped: no result and no image offered (the "Save as" file was left empty), the verified part kept. */
async function expectStoppedAndKept(page: Page): Promise<number> {
  expect(await page.getByTestId('result').count()).toBe(0);
  expect(await page.getByTestId('save-link').count()).toBe(0);
  expect((await opfsFileSha256(page, 'image.iso'))?.size ?? 0).toBe(0);
  const kept = await keptWork(page, image);
  await expect.poll(() => page.getByTestId('partial-work').count()).toBe(kept > 0 ? 1 : 0);
  return kept;
}

/** The result's line about `mirror` (the result lists every mirror when one had trouble). */
async function resultLine(page: Page, mirror: FaultServer): Promise<string> {
  const lines = await page.getByTestId('result-mirror').allTextContents();
  return lines.find((l) => l.startsWith(`${mirror.url}: `)) ?? `(no line for ${mirror.url} in: ${lines.join(' | ')})`;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the only mirror stalls, changes its file, answers 416 or redirects', () => {
  const env = useFaultPage(image, 1);

  it('stalls (headers, then nothing; or headers and half a range): abandoned after the stall timeout, what is missing asked again, the image verified', async () => {
    const [mirror] = env.fixture.mirrors;
    const before = mirror.requests.length;
    // Request `before` is the page's 1-byte check; two of the first six ranges stall for a minute: one
    // after its headers, one after half its body.
    const stalled = new Map([
      [before + 2, 0],
      [before + 5, CHUNK / 2],
    ]);
    mirror.behave((n) => (stalled.has(n) ? { stall: 60_000, after: stalled.get(n) } : 'ok'));
    const { context, page, errors } = await openWithSeed(env, seed, PLAN, `${SAVE_TO_OPFS}; window.tesseraStallTimeoutMs = ${STALL_MS};`);
    const { ok, text } = await runDownload(page);
    expect(ok, text).toBe(true);
    await expectImageBuilt(page, image);

    const served = since(mirror, before);
    const requests = rangeRequests(served);
    const bad = requests.filter((r) => r.behaviour !== 'ok');
    const good = requests.filter((r) => r.behaviour === 'ok');
    expect(bad).toHaveLength(2);
    expect(good).toHaveLength(PLAN.requests);
    for (const b of bad) {
      // Abandoned after the stall timeout, not when the server went on a minute later; the retry asks
      // only for what was not verified: what never came.
      const after = typeof b.behaviour === 'object' && 'stall' in b.behaviour ? (b.behaviour.after ?? 0) : -1;
      const [start, end] = requestedRange(b.range, image.length)!;
      const retry = good.find((g) => g.at > b.at && requestedRange(g.range, image.length)![1] === end);
      expect(retry, `a retry of ${b.range}`).toBeDefined();
      expect(requestedRange(retry!.range, image.length)![0]).toBe(start + after);
      expect(retry!.at - b.at).toBeGreaterThanOrEqual(STALL_MS - 50);
      expect(retry!.at - b.at).toBeLessThan(STALL_MS + 10_000);
      expect(b.bytesSent).toBe(after);
    }
    // Nothing was sent twice: the check, then each planned byte once.
    expect(served.bytesSent).toBe(1 + PLAN.bytes);
    expect(served.bytesSent).toBeLessThanOrEqual(bytesAllowed(1 + PLAN.bytes, [served], image.length));
    const line = await resultLine(page, mirror);
    expect(line).toContain(`${mirror.url}: ${requests.length} requests, `);
    expect(line).toContain(`2 failed (`);
    expect(line).toContain(`stalled: nothing received for ${STALL_MS / 1000} s after 0 of ${CHUNK} bytes`);
    expect(line).toContain(`stalled: nothing received for ${STALL_MS / 1000} s after ${CHUNK / 2} of ${CHUNK} bytes`);
    expect(line).not.toContain('set aside');
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'mirror stalls (headers, then nothing; headers and half the body, then nothing)',
      cases: 1,
      outcome:
        `each abandoned after the page's stall timeout (${STALL_MS / 1000} s here, 30 s by default) and asked again from its first unverified byte; image verified; ` +
        `2 of ${PLAN.requests} ranges stalled, exactly the planned bytes sent (nothing twice); result names the mirror and "stalled: nothing received…"`,
    });
  });

  it.each([
    // The page's first check of the mirror (its 1-byte request) saw "v1": the baseline of the download, and of "Try again".
    { kind: 'new ETag, same size', data: changedSameSize, problem: 'the file changed on the mirror since it was first checked (ETag "v1" -> "v2")' },
    { kind: 'new size', data: changedLonger, problem: `holds a different file: ${changedLonger.length} bytes, the manifest says ${image.length}` },
  ])('the file changes on it during the download ($kind): stopped, the mirror named, nothing unverified offered, the verified part kept; "Try again" says so too', async ({ kind, data, problem }) => {
    const [mirror] = env.fixture.mirrors;
    mirror.behave(() => 'ok');
    const before = mirror.requests.length;
    // The check and the first 6 ranges (all that is in flight at first) come from the manifest's version;
    // each later request is asked once one of those was answered, and gets the new one.
    mirror.options.changed = { from: before + 7, data };
    try {
      const { context, page, errors } = await openWithSeed(env, seed, PLAN);
      const { ok, text } = await runDownload(page);
      expect(ok).toBe(false);
      expect(text).toContain(`${mirror.url}: ${problem}`);
      expect(text).toMatch(/The download stopped: could not download bytes \d+-\d+: the mirror holds another file than the manifest describes/);
      expect(text).toMatch(/get the new manifest/);
      expect(text).not.toContain('--mirror'); // a command-line option means nothing here
      const kept = await expectStoppedAndKept(page);
      // Every byte verified from it is kept (the message says how many), all of the manifest's version:
      // at least the range answered before the change, at most what the old version sent.
      const served = since(mirror, before);
      const oldVersionSent = served.requests.filter((r) => r.version === 1).reduce((n, r) => n + r.bytesSent, 0);
      expect(text).toContain(`; ${kept} bytes from it were verified and kept`);
      expect(kept).toBeGreaterThanOrEqual(CHUNK);
      expect(kept).toBeLessThanOrEqual(oldVersionSent - 1);
      const newVersion = served.requests.filter((r) => r.version === 2);
      expect(newVersion.length).toBeGreaterThan(0);
      expect(newVersion.length).toBeLessThanOrEqual(6); // set aside at its first answer: at most those in flight then
      expect(served.bytesSent).toBeLessThanOrEqual(bytesAllowed(1 + PLAN.bytes, [served], image.length));

      // "Try again": the mirror's new check already shows the change, and nothing more is asked of it
      // (without the first check's ETag, the new version's bytes would be called "bad data").
      const retried = mirror.requests.length;
      await page.getByTestId('retry').click();
      const retryProblem = kind === 'new size' ? problem : `${problem}: it is not the version this manifest describes`;
      await expect.poll(() => page.getByTestId('mirror-problem').textContent(), { timeout: 20_000 }).toBe(`✗ ${retryProblem}`);
      const second = await readPlan(page);
      expect(second.bytes).toBe(PLAN.bytes - kept);
      expect(second.bytes).toBeGreaterThan(0);
      const again = await runDownload(page);
      expect(again.ok).toBe(false);
      expect(again.text).toContain('must be downloaded, but no mirror of this image can be used from this page');
      expect(again.text).toContain(`${mirror.url}: ${retryProblem}`);
      expect(again.text).not.toContain('bad data');
      expect(since(mirror, retried).requests).toHaveLength(1); // its check, and no range
      expect(errors).toEqual([]);
      await context.close();
      recordFaultOutcome(import.meta.url, {
        surface: 'page',
        fault: `the file changes on the only mirror (${kind})`,
        cases: 1,
        outcome:
          `stopped at its first answer of the new version: clear message naming the mirror and "${kind === 'new size' ? 'holds a different file' : 'the file changed … since it was first checked (ETag "v1" -> "v2")'}", "get the new manifest"; no image offered; ${kept} verified bytes kept, each the image's; ` +
          '"Try again": the mirror\'s check shows the change, Start says no mirror can be used and why, no range asked of it',
      });
    } finally {
      mirror.options.changed = undefined;
    }
  });

  it('the file changed (new ETag) and the page is opened again: the mirror said to have changed since the last attempt, not to send bad data', async () => {
    const [mirror] = env.fixture.mirrors;
    mirror.behave(() => 'ok');
    const before = mirror.requests.length;
    mirror.options.changed = { from: before + 7, data: changedSameSize };
    try {
      const { context, page } = await openWithSeed(env, seed, PLAN);
      expect((await runDownload(page)).ok).toBe(false);
      const kept = await expectStoppedAndKept(page);
      await page.close();

      // A new visit: its check of the mirror sees only the new version, whose first answer fails its checksums.
      const { page: again, errors: againErrors } = await visitImagePage(context, env.fixture.address);
      await again.getByTestId('seed-files').setInputFiles(await env.fixture.seedFile('seed.img', seed));
      expect((await readPlan(again)).bytes).toBe(PLAN.bytes - kept);
      const visit = mirror.requests.length;
      const { ok, text } = await runDownload(again);
      expect(ok).toBe(false);
      expect(text).toContain(`${mirror.url}: the file changed on the mirror since the last attempt (ETag "v1" -> "v2"); its bytes are not the manifest's image`);
      expect(text).toMatch(/get the new manifest/);
      expect(text).not.toContain('bad data');
      // Set aside at its first answer of the new version: at most those in flight then.
      expect(rangeRequests(since(mirror, visit)).length).toBeLessThanOrEqual(6);
      expect(againErrors).toEqual([]);
      await context.close();
      recordFaultOutcome(import.meta.url, {
        surface: 'page',
        fault: 'the file changed on the only mirror (new ETag), and the page is opened again',
        cases: 1,
        outcome:
          'the ETags of answers that verified are kept with the downloaded data; the next visit says "the file changed on the mirror since the last attempt (ETag "v1" -> "v2")" and "get the new manifest", not "bad data"',
      });
    } finally {
      mirror.options.changed = undefined;
    }
  });

  it('answers 416 (Range Not Satisfiable): stopped, the mirror named with "shorter than the manifest says"', async () => {
    const [mirror] = env.fixture.mirrors;
    const before = mirror.requests.length;
    // Its 1-byte check passes (the file there has a first byte); every range of the download is refused.
    mirror.behave((n) => (n > before ? { status: 416 } : 'ok'));
    const { context, page, errors } = await openWithSeed(env, seed, PLAN);
    const { ok, text } = await runDownload(page);
    expect(ok).toBe(false);
    expect(text).toContain(`${mirror.url}: HTTP 416 (the file there is shorter than the manifest says)`);
    expect(text).toMatch(/the mirror holds another file than the manifest describes/);
    expect(text).toMatch(/get the new manifest/);
    expect(text).not.toContain('--mirror');
    const kept = await expectStoppedAndKept(page);
    expect(kept).toBe(0);
    // Set aside at its first answer: one per request in flight at most.
    expect(rangeRequests(since(mirror, before)).length).toBeLessThanOrEqual(6);
    expect(errors).toEqual([]);
    await context.close();
    mirror.behave(() => 'ok');
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'the only mirror answers 416 (Range Not Satisfiable)',
      cases: 1,
      outcome: 'stopped at once: clear message naming the mirror and "HTTP 416 (the file there is shorter than the manifest says)", "get the new manifest"; no image offered',
    });
  });

  it.each([{ cors: true }, { cors: false }])('redirects (302) to another origin (the target sends CORS headers: $cors)', async ({ cors }) => {
    const [mirror] = env.fixture.mirrors;
    const target = await startFaultServer(image, () => 'ok', { cors });
    try {
      mirror.behave(() => ({ redirect: target.url }));
      const { context, page, errors } = await openWithSeed(env, seed, PLAN);
      const { ok, text } = await runDownload(page);
      if (cors) {
        // Followed: every byte from the target, each once (and the 1-byte check); the result names the target.
        expect(ok, text).toBe(true);
        await expectImageBuilt(page, image);
        expect(target.bytesSent).toBe(1 + PLAN.bytes);
        expect(rangeRequests(target)).toHaveLength(PLAN.requests);
        expect(await resultLine(page, mirror)).toMatch(new RegExp(`^${escape(mirror.url)}: ${PLAN.requests} requests, [\\d.]+ MB verified, redirected to ${escape(target.url)}$`));
      } else {
        // A browser hides the answer of a server without CORS headers: the mirror that redirected there is named, up front and when the download stops.
        const problem = /could not be read from this page: the mirror does not allow this site \(CORS\)/;
        expect(await page.getByTestId('mirror-problem').textContent()).toMatch(problem);
        expect(ok).toBe(false);
        expect(text).toMatch(new RegExp(`${escape(mirror.url)}: ${problem.source}`));
        expect(text).toMatch(/redirects/);
        expect(text).toMatch(/Ask the mirror’s operator to allow Range requests from this site/);
        expect(await expectStoppedAndKept(page)).toBe(0);
        expect(target.bytesSent).toBeLessThanOrEqual(1 + PLAN.bytes); // sent, but never readable
      }
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      mirror.behave(() => 'ok');
      await target.close();
    }
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: `the only mirror redirects (302) to another origin ${cors ? 'that sends CORS headers' : 'without CORS headers'}`,
      cases: 1,
      outcome: cors
        ? `followed: image verified; exactly the ${PLAN.bytes} planned bytes (and the 1-byte check), from the target; the result names the target`
        : 'the answers cannot be read by a page: the mirror named with a CORS message (and that a server it redirects to may be the one), in the mirror list before the download and in the clear error; no image offered',
    });
  });
});

describe('one of two mirrors changes its file, answers 416 or redirects', () => {
  const env = useFaultPage(image, 2);

  /** Run the download with `bad` misbehaving and `good` fine: verified, the bad one named in the result; its line and the requests each got. */
  async function withGoodMirror(setUp: (bad: FaultMirror, before: number) => void) {
    const [bad, good] = env.fixture.mirrors;
    const start = [bad.requests.length, good.requests.length];
    good.behave(() => 'ok');
    setUp(bad, start[0]);
    const { context, page, errors } = await openWithSeed(env, seed, PLAN);
    const { ok, text } = await runDownload(page);
    expect(ok, text).toBe(true);
    await expectImageBuilt(page, image);
    const fromBad = since(bad, start[0]);
    const fromGood = since(good, start[1]);
    const line = await resultLine(page, bad);
    expect(await resultLine(page, good)).not.toMatch(/failed/);
    // The good mirror sent no byte twice; with the bad one's answers, at most the plan plus what its failed requests asked for.
    expect(fromGood.bytesSent).toBeLessThanOrEqual(1 + PLAN.bytes);
    expect(fromGood.bytesSent + fromBad.bytesSent).toBeLessThanOrEqual(bytesAllowed(2 + PLAN.bytes, [fromBad, fromGood], image.length));
    expect(errors).toEqual([]);
    await context.close();
    bad.behave(() => 'ok');
    return { bad, line, fromBad, fromGood };
  }

  it.each([
    { kind: 'new ETag, same size', data: changedSameSize, problem: 'the file changed on the mirror since it was first checked (ETag "v1" -> "v2")' },
    { kind: 'new size', data: changedLonger, problem: `holds a different file: ${changedLonger.length} bytes, the manifest says ${image.length}` },
  ])('the file changes on one ($kind): set aside and named, the image verified from the other', async ({ kind, data, problem }) => {
    let mirror: FaultMirror | undefined;
    try {
      const { bad, line, fromBad } = await withGoodMirror((bad, before) => {
        mirror = bad;
        // Its check and its first 3 ranges (its share of the 6 in flight at first) are of the manifest's version.
        bad.options.changed = { from: before + 4, data };
      });
      const newVersion = fromBad.requests.filter((r) => r.version === 2);
      expect(newVersion.length).toBeGreaterThan(0);
      expect(newVersion.length).toBeLessThanOrEqual(3);
      expect(line).toContain(`; set aside: ${problem}`);
      expect(line).toMatch(/; \d+ of its ranges fetched from the other mirrors$/);
      expect(line).toContain(`${bad.url}: ${rangeRequests(fromBad).length} requests, `);
      recordFaultOutcome(import.meta.url, {
        surface: 'page',
        fault: `the file changes on one of two mirrors (${kind})`,
        cases: 1,
        outcome: `image verified from the other mirror; the changed one set aside at its first answer of the new version (${newVersion.length} of its requests got one, at most its share of those in flight) and named in the result with what changed; bytes within plan + failed requests`,
      });
    } finally {
      if (mirror) mirror.options.changed = undefined;
    }
  });

  it('one answers 416: set aside and named, the image verified from the other', async () => {
    const { line, fromBad } = await withGoodMirror((bad, before) => bad.behave((n) => (n > before ? { status: 416 } : 'ok')));
    expect(rangeRequests(fromBad).length).toBeLessThanOrEqual(3);
    expect(line).toContain('; set aside: HTTP 416 (the file there is shorter than the manifest says)');
    expect(line).toMatch(/; \d+ of its ranges fetched from the other mirrors$/);
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'one of two mirrors answers 416 (Range Not Satisfiable)',
      cases: 1,
      outcome: `image verified from the other mirror; the bad one set aside at its first answers (${rangeRequests(fromBad).length} requests) and named in the result with "HTTP 416 (the file there is shorter than the manifest says)"`,
    });
  });

  it('one redirects to another origin without CORS headers: named with the CORS problem, the other takes over', async () => {
    const target = await startFaultServer(image, () => 'ok', { cors: false });
    try {
      const { line, fromBad } = await withGoodMirror((bad) => bad.behave(() => ({ redirect: target.url })));
      expect(line).toMatch(/failed \(could not be read from this page: the mirror does not allow this site \(CORS\)/);
      expect(line).toMatch(/; \d+ of its ranges fetched from the other mirrors$/);
      expect(fromBad.bytesSent).toBe(0);
      recordFaultOutcome(import.meta.url, {
        surface: 'page',
        fault: 'one of two mirrors redirects to another origin without CORS headers',
        cases: 1,
        outcome: `image verified from the other mirror; the redirecting one named in the result with the CORS problem${/set aside/.test(line) ? ', set aside' : ''}, its ranges taken over`,
      });
    } finally {
      await target.close();
    }
  });
});
