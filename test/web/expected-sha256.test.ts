import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS } from '../helpers/browser.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';
import { zsyncmake } from '../helpers/zsyncmake.ts';

const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

// ?sha256= in the page address (or the SHA-256 pasted into the page) decides which image the user gets.
describe('the page with the SHA-256 the user expects', () => {
  const next = randomBytes(400_000, 61);
  const old = concat([next.subarray(0, 300_000), randomBytes(100_000, 62)]);
  const other = sha256(old);
  const env = usePageFixture(next, { seed: old });
  /** Image bytes the mirror sent since `open`. */
  let sentBefore = 0;
  const imageBytesSent = () => env.fixture.requests.filter((r) => r.path === '/new.img').reduce((n, r) => n + r.bytesSent, 0);
  const sent = () => imageBytesSent() - sentBefore;

  beforeAll(() => {
    zsyncmake(join(env.fixture.www, 'new.img'), join(env.fixture.www, 'new.img.zsync'), ['-u', 'new.img']);
  });

  async function open(description: string, expected: string): Promise<Page> {
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    sentBefore = imageBytesSent();
    await page.goto(`${env.fixture.pageUrl}?manifest=${encodeURIComponent(env.fixture.mirrorUrl + description)}&sha256=${encodeURIComponent(expected)}`);
    return page;
  }
  async function build(page: Page): Promise<void> {
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await page.getByTestId('start').click();
    await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 60_000 });
  }
  const outputBytes = (page: Page) =>
    page.evaluate(async () => (await (await (await navigator.storage.getDirectory()).getFileHandle('new.img')).getFile()).size);

  it('refuses a manifest of another image before fetching anything', async () => {
    const page = await open('new.img.tessera', other);
    const alert = page.getByTestId('image-panel').getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 20_000 }).toContain(`describes an image whose SHA-256 is ${sha256(next)}, not the ${other} you asked for`);
    expect(await page.getByTestId('start').count()).toBe(0);
    expect(sent()).toBe(0);
    await page.context().close();
  });

  it('builds the image it names and says its SHA-256 is the one given', async () => {
    const page = await open('new.img.tessera', `${sha256(next)}  new.img`);
    await build(page);
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    expect(await page.getByTestId('result-expected').textContent()).toContain('Its SHA-256 is the one you gave');
    await page.context().close();
  });

  it('checks the built image when the description has only SHA-1 (.zsync), and keeps nothing on a mismatch', async () => {
    const good = await open('new.img.zsync', sha256(next));
    await build(good);
    expect(await good.getByTestId('result-expected').textContent()).toContain('Its SHA-256 is the one you gave');
    expect(await outputBytes(good)).toBe(next.length);
    await good.context().close();

    const bad = await open('new.img.zsync', other);
    await build(bad);
    expect(await bad.getByTestId('error').textContent()).toContain(`its SHA-256 is ${sha256(next)}, not the ${other} you asked for; it was not kept`);
    expect(await outputBytes(bad)).toBe(0);
    await bad.context().close();
  });

  it('says so when what is pasted holds no SHA-256', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(env.fixture.pageUrl);
    await page.getByTestId('expected-sha256').fill('not a checksum');
    await page.getByTestId('expected-sha256').press('Tab');
    expect(await page.getByTestId('expected-problem').textContent()).toContain('does not contain a SHA-256 (64 hexadecimal digits)');
    await context.close();
  });
});
