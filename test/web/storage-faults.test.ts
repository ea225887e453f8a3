import type { CDPSession, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { EXCLUSIVE_STORAGE, NO_SAVE_PICKER, SAVE_TO_OPFS } from '../helpers/browser.ts';
import { opfsFileSha256, partialRecords, reportFreeSpace, sha256 } from '../helpers/fault-page.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';

/** Limit the site's storage to `quota` bytes (undefined: lift the limit). The override lasts as long as the session. */
const limitStorage = (cdp: CDPSession, origin: string, quota: number | undefined) =>
  cdp.send('Storage.overrideQuotaForOrigin', quota === undefined ? { origin } : { origin, quotaSize: quota });

const usage = (page: Page) => page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);

async function planBytes(page: Page): Promise<number> {
  await page.getByTestId('start').waitFor({ timeout: 30_000 });
  return Number(/([\d,]+) bytes to fetch/.exec((await page.getByTestId('plan-bytes').textContent()) ?? '')![1].replace(/,/g, ''));
}

describe('storage too small, known before the download (browsers without "Save as")', () => {
  const image = randomBytes(4 << 20, 8201);
  const env = usePageFixture(image);
  const mirrorBytes = () => env.fixture.requests.filter((r) => r.path === '/new.img').reduce((n, r) => n + r.bytesSent, 0);

  // The page decides on navigator.storage.estimate(); it is made to report the free space of each case (see reportFreeSpace).
  const cases = [
    { room: 'half the image', free: image.length / 2, init: '', needs: /needs [\d.]+ MB \(the image, plus the [\d.]+ MB to download, kept until the image is verified/ },
    // The image file gets its room when the image is opened; where workers cannot share it (Firefox, Safari), the
    // downloads are kept beside it until it is verified, and do not fit.
    {
      room: 'the image but not the downloads kept beside it (workers cannot share a file)',
      free: image.length + (64 << 10),
      init: EXCLUSIVE_STORAGE,
      needs: /needs [\d.]+ MB more \(the [\d.]+ MB to download, kept beside the image until it is verified/,
    },
  ];

  it.each(cases)('room for $room: says so before anything is fetched', async ({ room, free, init, needs }) => {
    const context = await env.browser.newContext();
    await context.addInitScript(NO_SAVE_PICKER + init + reportFreeSpace(free));
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    expect(await planBytes(page)).toBe(image.length);
    const before = mirrorBytes();
    await page.getByTestId('start').click();
    const error = (await page.getByTestId('error').textContent({ timeout: 30_000 })) ?? '';
    expect(error).toContain('Not enough storage: building the image here ');
    expect(error).toMatch(needs);
    expect(error).toMatch(/this browser lets this site use [\d.]+ [kM]?B more\. Nothing was downloaded\. Free disk space/);
    expect(mirrorBytes()).toBe(before); // not one range requested
    expect(await opfsFileSha256(page, 'new.img')).toBeNull();
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: `the browser storage has room for ${room}`,
      cases: 1,
      outcome: 'clear message with the space needed and available, before anything is fetched (0 range bytes); no image file',
    });
  });
});

describe('room for the image alone, where workers share the image file (Chromium)', () => {
  const image = randomBytes(4 << 20, 8231);
  const env = usePageFixture(image);

  it('builds it: what is downloaded goes into the image file, and nothing is kept beside it', async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(NO_SAVE_PICKER + reportFreeSpace(image.length + (64 << 10)));
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    expect(await planBytes(page)).toBe(image.length);
    await page.getByTestId('start').click();
    await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(image));
    expect(await opfsFileSha256(page, 'new.img')).toEqual({ size: image.length, sha256: sha256(image) });
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'the browser storage has room for the image alone (Chromium: the workers share the image file)',
      cases: 1,
      outcome: 'image built and verified (read back): what is downloaded goes into the image file, nothing is kept beside it',
    });
  });
});

describe('storage smaller than the browser says (Chromium reports 10 GiB whatever the disk holds)', () => {
  const image = randomBytes(4 << 20, 8251);
  const env = usePageFixture(image);

  it('says the storage is full, and never offers a file the writes did not fill', async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(NO_SAVE_PICKER);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The real limit, set before the page opens the image: no room for its image file, nor for the image.
    const cdp = await context.newCDPSession(page);
    await limitStorage(cdp, env.fixture.pageUrl.replace(/\/$/, ''), 2 << 20);
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    await planBytes(page);
    await page.getByTestId('start').click();
    await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 30_000 });
    const error = (await page.getByTestId('error').textContent()) ?? '';
    expect(error).toContain("The image could not be saved: writing to the browser storage: the disk is full, or the browser's storage quota is used up. Free some space and try again.");
    expect(await page.getByTestId('result').count()).toBe(0);
    expect(await opfsFileSha256(page, 'new.img')).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'the browser storage is full though the browser reports room (writes fail with no space)',
      cases: 1,
      outcome: 'clear "storage is full" message; no file left or offered (before the writes were checked: "the rebuilt image\'s SHA-256 is …, not the manifest\'s")',
    });
  });
});

/** The image files in the site's storage (being built, or built and not saved). */
function buildingFiles(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const names: string[] = [];
    const root = (await navigator.storage.getDirectory()) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
    for await (const name of root.keys()) if (name.startsWith('.tessera-building-')) names.push(name);
    return names;
  });
}

describe('storage filling up during the download', () => {
  const image = randomBytes(24 << 20, 8301);
  // 2 MB/s per request: 6 requests of 4 MB take ~2 s, time to take the space away part-way.
  const env = usePageFixture(image, { mirrorRate: 2 << 20 });
  const mirrorBytes = () => env.fixture.requests.filter((r) => r.path === '/new.img').reduce((n, r) => n + r.bytesSent, 0);
  const downloadedMB = async (page: Page) => Number(/([\d.]+) MB of [\d.]+ MB downloaded/.exec((await page.getByTestId('progress').textContent().catch(() => '')) ?? '')?.[1] ?? 0);

  /** Open the image with `init`, start, and once 3 MB are downloaded leave the site 1 MB more. */
  async function fillUpDuring(init: string) {
    const context = await env.browser.newContext();
    await context.addInitScript(init);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    const origin = env.fixture.pageUrl.replace(/\/$/, '');
    const cdp = await context.newCDPSession(page);
    const plan = await planBytes(page);
    await page.getByTestId('start').click();
    await expect.poll(() => downloadedMB(page), { timeout: 30_000, interval: 50 }).toBeGreaterThan(3);
    await limitStorage(cdp, origin, (await usage(page)) + (1 << 20));
    await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 30_000 });
    return { context, page, errors, cdp, origin, plan };
  }

  it('"Save as": says the disk is full, keeps the verified image, and "Save again" with space saves it with nothing fetched again', async () => {
    const { context, page, errors, cdp, origin } = await fillUpDuring(SAVE_TO_OPFS);
    const error = (await page.getByTestId('error').textContent()) ?? '';
    // (Chromium fails the write with QuotaExceededError, or, by timing, with AbortError "Failed to write data to data pipe".)
    expect(error).toMatch(
      /The image could not be saved: .*writing new\.img: (the disk is full, or the browser's storage quota is used up|the browser could not write it \(.*\), as Chromium says when the disk is full)\. Free some space and try again\./,
    );
    expect(await page.getByTestId('unsaved').textContent()).toContain('The image itself was built and verified, and is kept in this browser');
    // Nothing unverified under the file's name (the writable stream was aborted).
    expect((await opfsFileSha256(page, 'new.img'))?.size ?? 0).toBe(0);
    // The verified image is kept in the site's storage, and offered for download.
    const keptImages = await buildingFiles(page);
    expect(keptImages).toHaveLength(1);
    expect(await opfsFileSha256(page, keptImages[0])).toEqual({ size: image.length, sha256: sha256(image) });
    expect(await page.getByTestId('unsaved-link').getAttribute('href')).toMatch(/^blob:/);
    expect(await page.getByTestId('unsaved-link').getAttribute('download')).toBe('new.img');
    // So is what was downloaded (for a rebuild, should the page be closed first), each byte the image's own.
    const records = await partialRecords(page);
    for (const r of records) expect(r.sha256).toBe(sha256(image.subarray(r.start, r.start + r.length)));
    expect(records.reduce((n, r) => n + r.length, 0)).toBeGreaterThan(2 << 20);
    expect(await page.getByTestId('retry').count(), 'no rebuild offered: the image is built').toBe(0);

    // Space is freed; "Save again" saves the kept image: nothing is fetched again.
    await limitStorage(cdp, origin, undefined);
    const before = mirrorBytes();
    await page.getByTestId('save-again').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(image));
    expect(await opfsFileSha256(page, 'new.img')).toEqual({ size: image.length, sha256: sha256(image) });
    expect(mirrorBytes() - before).toBe(0);
    // Saved: the kept image and the downloaded data are deleted.
    expect(await buildingFiles(page)).toEqual([]);
    await expect.poll(() => partialRecords(page)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'the disk fills up while the verified image is copied into the chosen file ("Save as": writes fail with QuotaExceededError)',
      cases: 1,
      outcome: 'clear "disk is full" message naming the file, nothing unverified under its name; the verified image kept in the site storage and offered (save again, download, delete); "Save again" with space saved it (read back) with 0 bytes fetched',
    });
  });

  it('"Save as": "Delete it" deletes the verified image that could not be saved, with what was downloaded into it, and offers "Try again"', async () => {
    const { context, page, errors } = await fillUpDuring(SAVE_TO_OPFS);
    expect(await buildingFiles(page)).toHaveLength(1);
    // What was downloaded is kept in that image file only (not a second time beside it).
    expect((await partialRecords(page)).length).toBeGreaterThan(0);
    await page.getByTestId('delete-unsaved').click();
    await expect.poll(() => buildingFiles(page)).toEqual([]);
    expect(await page.getByTestId('unsaved').count()).toBe(0);
    expect(await page.getByTestId('error').textContent()).toContain('The image could not be saved');
    expect(await page.getByTestId('retry').count(), 'a rebuild is offered instead').toBe(1);
    // (Once the page has listed its kept work again: the range log of the deleted file goes then.)
    await expect.poll(() => page.getByTestId('partial-work').count()).toBe(0);
    expect(await partialRecords(page)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('in the site storage: the image file had its room reserved when the image was opened, so the image is still built', async () => {
    const { context, page, errors } = await fillUpDuring(NO_SAVE_PICKER);
    const text = (await page.locator('[data-testid=result], [data-testid=error]').first().textContent()) ?? '';
    expect(await page.getByTestId('result').count(), text).toBe(1);
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(image));
    // The file offered for saving holds the image (the page checks every write, and the size, before offering it).
    expect(await page.getByTestId('save-link').count()).toBe(1);
    const built = await opfsFileSha256(page, 'new.img');
    expect(built).toEqual({ size: image.length, sha256: sha256(image) });
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'the browser storage fills up during the download (image built in the site storage)',
      cases: 1,
      outcome: 'image built and verified (read back): its room was reserved when the image was opened',
    });
  });
});
