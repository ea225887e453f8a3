import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { expectImageBuilt, keptWork, openImagePage, opfsFileSha256, rangeLength, rangeRequests, readPlan, runDownload, sha256, useFaultPage } from '../helpers/fault-page.ts';
import type { FaultMirror } from '../helpers/fault-page.ts';

/** 24 chunks of 128 KiB; the seed holds the even ones, so 12 ranges of 128 KiB are fetched. */
const CHUNK = 128 << 10;
const chunks = Array.from({ length: 24 }, (_, i) => randomBytes(CHUNK, 6100 + i));
const image = concat(chunks);
const seed = concat(chunks.filter((_, i) => i % 2 === 0));


const since = (mirror: FaultMirror, from: number) => rangeRequests({ ...mirror, requests: mirror.requests.slice(from) });

describe('every mirror failing, in the page', () => {
  const env = useFaultPage(image, 2);

  it('names each mirror and what it did, keeps the verified part, and "Try again" fetches only the rest', async () => {
    const [a, b] = env.fixture.mirrors;
    const from = [a.requests.length, b.requests.length];
    const sentBefore = a.bytesSent + b.bytesSent;
    // Each mirror serves its check and 3 ranges, then fails for good: one with 503, one cutting bodies short.
    a.behave((n) => (n - from[0] <= 3 ? 'ok' : { status: 503 }));
    b.behave((n) => (n - from[1] <= 3 ? 'ok' : 'short'));
    const { context, page, errors } = await openImagePage(env.browser, env.fixture.address);
    await page.getByTestId('seed-files').setInputFiles(await env.fixture.seedFile('seed.img', seed));
    const first = await readPlan(page);
    expect(first).toEqual({ bytes: 12 * CHUNK, requests: 12 });
    const failed = await runDownload(page);
    expect(failed.ok).toBe(false);

    // The message names both mirrors and what each did, and says the verified part is kept.
    expect(failed.text).toMatch(new RegExp(`${a.url}: [^\\n]*HTTP 503`));
    expect(failed.text).toMatch(new RegExp(`${b.url}: [^\\n]*(connection lost|short body)`));
    expect(failed.text).toMatch(/The download stopped: could not download bytes \d+-\d+: no usable mirror is left/);
    expect(failed.text).toMatch(/The mirrors may be down or overloaded: try again later/);
    expect(failed.text).toContain('Try again');
    expect(failed.text).toMatch(/already verified is kept/);
    // No unverified image under the file's name (Chromium writes "Save as" files to a swap file until close).
    expect((await opfsFileSha256(page, 'image.iso'))?.size ?? 0).toBe(0);
    // The verified part is kept (every kept byte is the image's), and listed under "Kept in this browser".
    const kept = await keptWork(page, image);
    const servedOk = [...since(a, from[0]), ...since(b, from[1])].filter((r) => r.behaviour === 'ok');
    expect(servedOk.length).toBe(6);
    expect(kept).toBeGreaterThanOrEqual(6 * CHUNK);
    expect(kept).toBeLessThan(first.bytes);
    expect(await page.getByTestId('partial-work').count()).toBe(1);

    // The mirrors are back; "Try again" plans only what was not kept, fetches exactly that, and the image is verified.
    a.behave(() => 'ok');
    b.behave(() => 'ok');
    const resumeFrom = [a.requests.length, b.requests.length];
    const resumeSent = a.bytesSent + b.bytesSent;
    await page.getByTestId('retry').click();
    await expect.poll(() => page.locator('[data-testid=seed-list] li').first().textContent(), { timeout: 20_000 }).toMatch(/verified earlier: .* \(resuming\)/);
    const second = await readPlan(page);
    expect(second.bytes).toBe(first.bytes - kept);
    const done = await runDownload(page);
    expect(done.ok, done.text).toBe(true);
    await expectImageBuilt(page, image);
    const fetched = [...since(a, resumeFrom[0]), ...since(b, resumeFrom[1])];
    expect(fetched.reduce((n, r) => n + rangeLength(r.range), 0)).toBe(second.bytes);
    expect(a.bytesSent + b.bytesSent - resumeSent).toBe(second.bytes + 2); // + the two 1-byte checks
    // Over both attempts: the plan, plus at most what the failed requests sent.
    const failedBytes = [...since(a, from[0]), ...since(b, from[1])].filter((r) => r.behaviour !== 'ok').reduce((n, r) => n + rangeLength(r.range), 0);
    expect(a.bytesSent + b.bytesSent - sentBefore).toBeLessThanOrEqual(first.bytes + 4 + failedBytes);
    await expect.poll(() => page.getByTestId('partial-work').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'every mirror fails part-way (one 503, one cutting bodies short)',
      cases: 1,
      outcome: `clear error naming both mirrors and what each did; ${kept} verified bytes kept; "Try again" fetched exactly the other ${second.bytes} of the ${first.bytes} planned; image verified`,
    });
  });

  it('never keeps or writes corrupted data, and reopening the page resumes from what was verified', async () => {
    const [a, b] = env.fixture.mirrors;
    const from = [a.requests.length, b.requests.length];
    // Each mirror serves its check and 2 good ranges, then corrupts every range.
    a.behave((n) => (n - from[0] <= 2 ? 'ok' : 'corrupt'));
    b.behave((n) => (n - from[1] <= 2 ? 'ok' : 'corrupt'));
    const { context, page } = await openImagePage(env.browser, env.fixture.address);
    await page.getByTestId('seed-files').setInputFiles(await env.fixture.seedFile('seed.img', seed));
    const first = await readPlan(page);
    const failed = await runDownload(page);
    expect(failed.ok).toBe(false);
    for (const m of [a, b]) expect(failed.text).toMatch(new RegExp(`${m.url}: [^\\n]*sent bad data \\(block \\d+`));
    expect((await opfsFileSha256(page, 'image.iso'))?.size ?? 0).toBe(0);
    // The 4 good ranges were kept (and at most the good blocks before a changed byte), nothing corrupt.
    const kept = await keptWork(page, image);
    expect(kept).toBeGreaterThanOrEqual(4 * CHUNK);
    expect(kept).toBeLessThan(first.bytes);
    await page.close();

    // The user comes back later (a new tab, same browser) and the mirrors are fixed.
    a.behave(() => 'ok');
    b.behave(() => 'ok');
    const sent = a.bytesSent + b.bytesSent;
    const again = await context.newPage();
    await again.goto(env.fixture.address);
    await again.getByTestId('image-name').waitFor();
    await again.getByTestId('seed-files').setInputFiles(await env.fixture.seedFile('seed.img', seed));
    await expect.poll(() => again.locator('[data-testid=seed-list] li').first().textContent(), { timeout: 20_000 }).toMatch(/verified earlier: .* \(resuming\)/);
    const second = await readPlan(again);
    expect(second.bytes).toBe(first.bytes - kept);
    const done = await runDownload(again);
    expect(done.ok, done.text).toBe(true);
    expect(await opfsFileSha256(again, 'image.iso')).toEqual({ sha256: sha256(image), size: image.length });
    expect(a.bytesSent + b.bytesSent - sent).toBe(second.bytes + 2);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'every mirror sends corrupted data',
      cases: 1,
      outcome: `detected before writing: clear error naming both mirrors ("sent bad data"), no image file; only verified bytes kept (${kept}, each checked against the image); reopening fetched exactly the other ${second.bytes}; image verified`,
    });
  });
});
