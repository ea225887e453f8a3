import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_DIALOG, SAVE_TO_OPFS } from '../helpers/browser.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';
import { formatBytes } from '../../src/shared/format.ts';

/** What the page may have in flight when its tab closes: 6 connections, at most 4 MB each. */
const IN_FLIGHT_AT_CLOSE = 6 * (4 << 20);

describe('resuming an interrupted download in the page', () => {
  const image = randomBytes(10 << 20, 931); // nothing local: all 10 MB must be fetched
  const env = usePageFixture(image, { mirrorRate: 1 << 20 }); // 1 MB/s per request: the download takes ~4 s
  /** Body bytes the mirror sent for the image so far (a response is counted once it ends). */
  const mirrorBytes = () => env.fixture.requests.filter((r) => r.path === '/new.img').reduce((n, r) => n + r.bytesSent, 0);
  /** The plan's bytes to fetch, once it is shown. */
  const planBytes = async (page: Page) => Number(/([\d,]+) bytes to fetch/.exec((await page.getByTestId('plan-bytes').textContent({ timeout: 30_000 })) ?? '')![1].replace(/,/g, ''));
  /** MB downloaded, as the page's progress says (0 before it shows). */
  const downloadedMB = async (page: Page) => Number(/([\d.]+) MB of [\d.]+ MB downloaded/.exec((await page.getByTestId('progress').textContent().catch(() => '')) ?? '')?.[1] ?? 0);
  /** Wait until responses cut short have been counted (the mirror's count stops moving). */
  const mirrorSettled = async () => {
    let settled = -1;
    await expect.poll(() => (settled === (settled = mirrorBytes()) ? 'settled' : 'moving'), { timeout: 10_000, interval: 300 }).toBe('settled');
  };

  /** Start with the "Save as" dialog open, and close it once more than `mb` MB were downloaded; `before`: the mirror's bytes before Start. */
  const closeDialogAfter = async (mb: number) => {
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_DIALOG);
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    expect(await planBytes(page)).toBe(image.length);
    const before = mirrorBytes();
    await page.getByTestId('start').click();
    await expect.poll(() => downloadedMB(page), { timeout: 30_000, interval: 100 }).toBeGreaterThan(mb);
    await page.evaluate(() => (window as unknown as { __closeDialog(): void }).__closeDialog());
    return { context, page, before };
  };

  it('keeps what was verified when the tab is closed, and fetches only the rest on the next visit', async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);

    const first = await context.newPage();
    await first.goto(env.fixture.address);
    await first.getByTestId('image-name').waitFor();
    const plan = await planBytes(first);
    expect(plan).toBe(image.length);
    await first.getByTestId('start').click();
    // Close the tab part-way through the download (as the page reports it: the server
    // only counts a response's bytes once it is finished).
    await expect.poll(() => downloadedMB(first), { timeout: 30_000, interval: 100 }).toBeGreaterThan(3);
    await first.close();
    // The server counts a response when it ends: wait for the cut ones to be counted.
    await mirrorSettled();
    const sentToFirst = mirrorBytes();

    const second = await context.newPage();
    await second.goto(env.fixture.address);
    await second.getByTestId('image-name').waitFor();
    const seeds = second.locator('[data-testid=seed-list] li');
    await expect.poll(() => seeds.first().textContent(), { timeout: 20_000 }).toMatch(/verified earlier: .* of this image \(resuming\)/);
    expect(await second.getByTestId('partial-work').count()).toBe(1);
    const left = await planBytes(second);
    expect(left).toBeLessThan(image.length - (2 << 20));
    expect(left).toBeGreaterThan(0); // the tab really was closed mid-download
    await second.getByTestId('start').click();
    await second.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await second.getByTestId('result-checksum').textContent()).toBe(createHash('sha256').update(image).digest('hex'));
    // Nothing verified was fetched again: the second visit got exactly what its plan said was left
    // (and the 1-byte mirror check); the first lost at most what was in flight when its tab closed.
    expect(mirrorBytes() - sentToFirst).toBeGreaterThanOrEqual(left);
    expect(mirrorBytes() - sentToFirst).toBeLessThanOrEqual(left + 1);
    expect(mirrorBytes()).toBeLessThanOrEqual(plan + IN_FLIGHT_AT_CLOSE);
    // The partial work is gone once the image is built.
    await expect.poll(() => second.getByTestId('partial-work').count()).toBe(0);
    await context.close();
  });

  it('keeps what was verified when the "Save as" dialog is closed mid-download: the next Start fetches only the rest', async () => {
    const { context, page, before } = await closeDialogAfter(3);

    // The plan again, less what was verified into the image file, on a line of its own in the list.
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 20_000 }).toBe(true);
    const left = await planBytes(page);
    expect(left).toBeLessThan(image.length - (2 << 20));
    expect(left).toBeGreaterThan(0); // (the dialog really was closed mid-download)
    const kept = await page.locator('[data-testid=seed-list] li', { hasText: 'verified earlier' }).textContent();
    expect(kept).toContain(`verified earlier: ${formatBytes(image.length - left)} of this image (resuming)`);
    // The server counts a response when it ends: wait for the cut ones to be counted.
    await mirrorSettled();
    const sentToFirst = mirrorBytes() - before;

    await page.evaluate(() => ((window as unknown as { __dialog: string }).__dialog = 'now'));
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(createHash('sha256').update(image).digest('hex'));
    // The second Start fetched exactly what its plan said was left; the first lost at most what was in flight.
    expect(mirrorBytes() - before - sentToFirst).toBe(left);
    expect(mirrorBytes() - before).toBeLessThanOrEqual(image.length + IN_FLIGHT_AT_CLOSE);
    await context.close();
  });

  it('scans files added after the "Save as" dialog was closed (the scan workers stopped at Start start again)', async () => {
    const { context, page } = await closeDialogAfter(1);
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 20_000 }).toBe(true);
    expect(await planBytes(page)).toBeGreaterThan(0);

    // A file holding the whole image: every block left is found in it, so nothing more is fetched.
    const copy = join(env.fixture.dir, 'copy.img');
    await writeFile(copy, image);
    await page.getByTestId('seed-files').setInputFiles(copy);
    await expect.poll(() => page.locator('[data-testid=seed-list] li', { hasText: 'copy.img' }).getAttribute('data-state'), { timeout: 20_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 20_000 }).toBe(true);
    expect(await planBytes(page)).toBe(0);
    await mirrorSettled();
    const sent = mirrorBytes();
    await page.evaluate(() => ((window as unknown as { __dialog: string }).__dialog = 'now'));
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(createHash('sha256').update(image).digest('hex'));
    expect(mirrorBytes()).toBe(sent);
    await context.close();
  });

  it('does not take up the image file another open tab is still downloading into', async () => {
    // Its range log names it as a resumable file; but the first tab is writing into it, and would
    // rename it once built: the second tab must build in a file of its own (and both images be right).
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const first = await context.newPage();
    await first.goto(env.fixture.address);
    await first.getByTestId('start').click({ timeout: 30_000 });
    await expect.poll(() => downloadedMB(first), { timeout: 30_000, interval: 100 }).toBeGreaterThan(2);

    const second = await context.newPage();
    await second.goto(env.fixture.address);
    const planned = await planBytes(second);
    expect(planned).toBe(image.length);
    expect(await second.locator('[data-testid=seed-list] li').allTextContents()).not.toContainEqual(expect.stringMatching(/verified earlier/));
    expect(await downloadedMB(first)).toBeLessThan(image.length / 1e6); // (the first tab was still downloading)

    const sha = createHash('sha256').update(image).digest('hex');
    await first.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await first.getByTestId('result-checksum').textContent()).toBe(sha);
    await second.getByTestId('start').click();
    await second.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await second.getByTestId('result-checksum').textContent()).toBe(sha);
    await context.close();
  });
});
