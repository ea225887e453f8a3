import { createHash } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS, launchChromium } from '../helpers/browser.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { zsyncmake } from '../helpers/zsyncmake.ts';

const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

// ?sha256= in the page address (or the SHA-256 pasted into the page) decides which image the user gets.
describe('the page with the SHA-256 the user expects', () => {
  const next = randomBytes(400_000, 61);
  const old = concat([next.subarray(0, 300_000), randomBytes(100_000, 62)]);
  const other = sha256(old);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let site: RunningServer;
  let mirror: RunningServer;
  let sent = 0;

  beforeAll(async () => {
    dir = await tempDir();
    const www = join(dir.path, 'www');
    await mkdir(www);
    await writeFile(join(www, 'new.img'), next);
    await writeFile(join(dir.path, 'old.img'), old);
    expect((await runCli(['make', join(www, 'new.img')])).code).toBe(0);
    zsyncmake(join(www, 'new.img'), join(www, 'new.img.zsync'), ['-u', 'new.img']);
    const pageDir = join(dir.path, 'site');
    await mkdir(pageDir);
    for (const entry of await readdir(resolve('dist/web'))) await symlink(resolve('dist/web', entry), join(pageDir, entry));
    site = await startStaticServer({ root: pageDir });
    mirror = await startStaticServer({ root: www, onRequest: (r) => (sent += r.path === '/new.img' ? r.bytesSent : 0) });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), mirror?.close()]);
    await dir?.remove();
  });

  async function open(description: string, expected: string): Promise<Page> {
    const context = await browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    sent = 0;
    await page.goto(`${site.url}?manifest=${encodeURIComponent(mirror.url + description)}&sha256=${encodeURIComponent(expected)}`);
    return page;
  }
  async function build(page: Page): Promise<void> {
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
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
    expect(sent).toBe(0);
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
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(site.url);
    await page.getByTestId('expected-sha256').fill('not a checksum');
    await page.getByTestId('expected-sha256').press('Tab');
    expect(await page.getByTestId('expected-problem').textContent()).toContain('does not contain a SHA-256 (64 hexadecimal digits)');
    await context.close();
  });
});
