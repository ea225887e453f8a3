// The page with a .jigdo made by the real jigdo-file over an ISO built by
// xorriso, in headless Chromium: the .jigdo, its template and the packages on
// a "mirror" of another origin (CORS), the user's files given as files or a
// folder; the image is read back from the site's storage.
import { createHash } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { NO_SAVE_PICKER, SAVE_TO_OPFS, launchChromium } from '../helpers/browser.ts';
import { expectSameBytes } from '../helpers/expect-bytes.ts';
import { type JigdoFixture, makeJigdoFixture, readBytes } from '../helpers/jigdo-file.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const PAGE_BUILD = resolve('dist/web');
const hash = (algorithm: string, data: Uint8Array) => createHash(algorithm).update(data).digest('hex');

describe('the web page with a .jigdo file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let pageServer: RunningServer;
  let mirror: RunningServer;
  let noCors: RunningServer;
  /** Body bytes the mirror sent, per path. */
  const sent = new Map<string, number>();
  const fixtures = {} as Record<'md5' | 'sha256', JigdoFixture>;
  /** An image with one large package (37 MiB), and the body bytes of each response for it. */
  let large: JigdoFixture;
  const bigResponses: number[] = [];

  /** The packages the user lacks (odd ones) and a folder holding the others, plus a decoy. */
  const lacking = (fx: JigdoFixture) => [...fx.packages.entries()].filter((_, i) => i % 2 === 1);
  const seedFolder = (checksum: string) => join(dir.path, `seeds-${checksum}`);
  /** The package the resume test's mirror lacks at first: one the user lacks too. */
  const resumeVictim = () => lacking(fixtures.md5)[1];

  beforeAll(async () => {
    dir = await tempDir('tessera-page-jigdo-');
    const www = join(dir.path, 'www');
    const site = join(dir.path, 'site');
    await mkdir(www);
    await mkdir(site);
    for (const entry of await readdir(PAGE_BUILD)) await symlink(join(PAGE_BUILD, entry), join(site, entry));
    pageServer = await startStaticServer({ root: site });
    mirror = await startStaticServer({
      root: www,
      onRequest: (r) => {
        sent.set(r.path, (sent.get(r.path) ?? 0) + r.bytesSent);
        if (r.path.endsWith('/big.deb')) bigResponses.push(r.bytesSent);
      },
    });
    noCors = await startStaticServer({ root: www, cors: false });
    for (const checksum of ['md5', 'sha256'] as const) {
      const fx = makeJigdoFixture(join(dir.path, checksum), { checksum, seed: checksum === 'md5' ? 21 : 22, labels: { Debian: `${mirror.url}${checksum}/debian/` } });
      fixtures[checksum] = fx;
      await mkdir(join(www, checksum));
      await symlink(fx.files, join(www, checksum, 'debian'));
      // Published gzipped (sha256) and plain (md5): the page tells them by content.
      await writeFile(join(www, checksum, 'image.jigdo'), checksum === 'sha256' ? gzipSync(readBytes(fx.jigdo)) : readBytes(fx.jigdo));
      await symlink(fx.template, join(www, checksum, 'image.template'));
      await mkdir(seedFolder(checksum));
      for (const [name, data] of fx.packages) {
        if (!lacking(fx).some(([n]) => n === name)) await writeFile(join(seedFolder(checksum), name.replace(/\//g, '_')), data);
      }
      // Same size as a lacking package, other bytes: matched by size, then rejected by rsync64.
      await writeFile(join(seedFolder(checksum), 'decoy.deb'), randomBytes(lacking(fx)[0][1].length, 999));
    }
    // Broken copies of the md5 .jigdo: one whose server lacks the packages, one whose server sends no CORS headers.
    const text = new TextDecoder().decode(readBytes(fixtures.md5.jigdo));
    for (const [folder, servers] of [['nowhere', `${mirror.url}nowhere/`], ['nocors', `${noCors.url}md5/debian/`]]) {
      await mkdir(join(www, folder));
      await writeFile(join(www, folder, 'image.jigdo'), text.replace(`${mirror.url}md5/debian/`, servers));
      await symlink(fixtures.md5.template, join(www, folder, 'image.template'));
    }
    // A .jigdo next to a template that is not its own (the sha256 image's), and one with no template beside it.
    await mkdir(join(www, 'wrong-template'));
    await writeFile(join(www, 'wrong-template', 'image.jigdo'), text);
    await symlink(fixtures.sha256.template, join(www, 'wrong-template', 'image.template'));
    await mkdir(join(www, 'no-template'));
    await writeFile(join(www, 'no-template', 'image.jigdo'), text);
    // A mirror that lacks one of the packages the user lacks, for now (the resume test adds it).
    await mkdir(join(www, 'resume', 'debian', 'pool', 'main'), { recursive: true });
    for (const [name, data] of fixtures.md5.packages) if (name !== resumeVictim()[0]) await writeFile(join(www, 'resume', 'debian', name), data);
    await writeFile(join(www, 'resume', 'image.jigdo'), text.replace(`${mirror.url}md5/debian/`, `${mirror.url}resume/debian/`));
    await symlink(fixtures.md5.template, join(www, 'resume', 'image.template'));
    large = makeJigdoFixture(join(dir.path, 'large'), { seed: 23, largePackageBytes: 37 << 20, labels: { Debian: `${mirror.url}large/debian/` } });
    await mkdir(join(www, 'large'));
    await symlink(large.files, join(www, 'large', 'debian'));
    await symlink(large.jigdo, join(www, 'large', 'image.jigdo'));
    await symlink(large.template, join(www, 'large', 'image.template'));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all([pageServer?.close(), mirror?.close(), noCors?.close()]);
    await dir?.remove();
  });

  /** `output`: "Save as" answered with a file in OPFS (as page.test.ts), or no picker at all (the page then builds in OPFS itself). */
  async function openPage(jigdoUrl: string, output: 'save-as' | 'opfs' = 'save-as'): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext();
    await context.addInitScript(output === 'save-as' ? SAVE_TO_OPFS : NO_SAVE_PICKER);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${pageServer.url}?manifest=${encodeURIComponent(jigdoUrl)}`);
    return { page, errors };
  }

  async function waitForImage(page: Page): Promise<void> {
    await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('image.iso');
  }

  /** The plan's bytes to fetch, once the user's files are matched. */
  async function plannedBytes(page: Page): Promise<number> {
    const text = await page.getByTestId('plan-bytes').textContent({ timeout: 60_000 });
    const m = /([\d,]+) bytes to fetch as (\d+) whole files?/.exec(text ?? '');
    expect(m, `plan text: ${text}`).not.toBeNull();
    return Number(m![1].replace(/,/g, ''));
  }

  /** The built image, read back from the site's private storage. */
  const readOutput = (page: Page) =>
    page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const bytes = new Uint8Array(await (await (await root.getFileHandle('image.iso')).getFile()).arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    });

  const outputNames = (page: Page) =>
    page.evaluate(async () => {
      const names: string[] = [];
      for await (const name of (await navigator.storage.getDirectory() as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    });

  for (const checksum of ['sha256', 'md5'] as const) {
    it(`rebuilds the ISO byte for byte from some of the packages, fetching only the others (${checksum})`, async () => {
      const fx = fixtures[checksum];
      const iso = readBytes(fx.iso);
      const missing = lacking(fx);
      sent.clear();
      const { page, errors } = await openPage(`${mirror.url}${checksum}/image.jigdo`);
      await waitForImage(page);
      const facts = (await page.getByTestId('image-facts').textContent()) ?? '';
      expect(facts).toContain(`${checksum === 'md5' ? 'MD5' : 'SHA-256'}${hash(checksum, iso)}`);
      expect(facts).toContain(`${iso.length.toLocaleString('en')} bytes`);
      expect(await page.getByTestId('jigdo-server').allTextContents()).toEqual([`${mirror.url}${checksum}/debian/`]);

      if (checksum === 'sha256') {
        // Two batches of files: the second adds to what the first matched.
        const files = (await readdir(seedFolder(checksum))).map((n) => join(seedFolder(checksum), n));
        await page.getByTestId('seed-files').setInputFiles(files.slice(0, 2));
        await plannedBytes(page);
        await page.getByTestId('seed-files').setInputFiles(files.slice(2));
      } else {
        await page.getByTestId('seed-folder').setInputFiles(seedFolder(checksum));
      }
      const missingBytes = missing.reduce((n, [, d]) => n + d.length, 0);
      await expect.poll(() => plannedBytes(page), { timeout: 60_000 }).toBe(missingBytes);
      expect(await page.getByTestId('plan-bytes').textContent()).toContain(`as ${missing.length} whole files`);
      expect(await page.locator('[data-testid=seed-list] li[data-state=done]').count()).toBe(fx.packages.size - missing.length + 1);

      await page.getByTestId('start').click();
      await page.getByTestId('result').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('result-checksum').textContent()).toBe(hash(checksum, iso));
      expect(await page.getByTestId('result').textContent()).toContain('matches the template');
      expectSameBytes(new Uint8Array(Buffer.from(await readOutput(page), 'base64')), iso);
      // Exactly the lacking packages came from the server, each once and whole.
      for (const [name, data] of fx.packages) expect(sent.get(`/${checksum}/debian/${name}`) ?? 0, name).toBe(missing.some(([n]) => n === name) ? data.length : 0);
      expect(errors).toEqual([]);
      await page.context().close();
    });
  }

  it('fetches a large package in range requests through the browser storage, not whole into memory', async () => {
    const { page, errors } = await openPage(`${mirror.url}large/image.jigdo`, 'opfs');
    await waitForImage(page);
    expect(await plannedBytes(page)).toBe([...large.packages.values()].reduce((n, d) => n + d.length, 0));
    bigResponses.length = 0;
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(hash('md5', readBytes(large.iso)));
    // 37 MiB in 3 requests of at most 16 MiB; nothing of it kept once the image is built.
    expect(bigResponses.length).toBe(3);
    expect(Math.max(...bigResponses)).toBe(16 << 20);
    expect(bigResponses.reduce((a, b) => a + b, 0)).toBe(37 << 20);
    await expect.poll(() => page.getByTestId('partial-work').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('names the URL of a package the server does not have, and leaves no output', async () => {
    const { page } = await openPage(`${mirror.url}nowhere/image.jigdo`, 'opfs');
    await waitForImage(page);
    await page.getByTestId('seed-folder').setInputFiles(seedFolder('md5'));
    expect(await plannedBytes(page)).toBeGreaterThan(0);
    await page.getByTestId('start').click();
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 60_000 });
    // The first lacking package in the image's order: which one that is depends on xorriso's layout.
    const names = lacking(fixtures.md5).map(([name]) => name.replace(/\./g, '\\.'));
    expect(await error.textContent()).toMatch(new RegExp(`${mirror.url}nowhere/(${names.join('|')}): HTTP 404`));
    expect(await page.getByTestId('result').count()).toBe(0);
    expect(await outputNames(page)).not.toContain('image.iso');
    await page.context().close();
  });

  it('keeps the packages fetched before a failure in this browser; reopening or Try again fetches only the rest', async () => {
    const fx = fixtures.md5;
    const iso = readBytes(fx.iso);
    const missing = lacking(fx);
    const [victim, victimData] = resumeVictim();
    const mirrorBytes = (name: string) => sent.get(`/resume/debian/${name}`) ?? 0;
    sent.clear();
    const { page, errors } = await openPage(`${mirror.url}resume/image.jigdo`, 'opfs');
    await waitForImage(page);
    await page.getByTestId('seed-folder').setInputFiles(seedFolder('md5'));
    await expect.poll(() => plannedBytes(page), { timeout: 60_000 }).toBe(missing.reduce((n, [, d]) => n + d.length, 0));
    await page.getByTestId('start').click();
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 60_000 });
    const text = (await error.textContent()) ?? '';
    expect(text).toContain(`${mirror.url}resume/debian/${victim}: HTTP 404`);
    expect(text).toContain('The files fetched and verified so far are kept in this browser');
    expect(await outputNames(page)).not.toContain('image.iso');
    // The other packages the user lacks were fetched whole, once; they are listed as kept.
    for (const [name, data] of missing) await expect.poll(() => mirrorBytes(name), { timeout: 5_000 }).toBe(name === victim ? 0 : data.length);
    const kept = page.getByTestId('partial-work');
    await expect.poll(() => kept.count(), { timeout: 10_000 }).toBe(1);
    expect(await kept.textContent()).toContain('image.iso');

    // The mirror gets the package. Opening the .jigdo again (another tab) resumes...
    await writeFile(join(dir.path, 'www', 'resume', 'debian', victim), victimData);
    const again = await page.context().newPage();
    await again.goto(`${pageServer.url}?manifest=${encodeURIComponent(`${mirror.url}resume/image.jigdo`)}`);
    await waitForImage(again);
    const resumedEntry = new RegExp(`verified earlier: ${missing.length - 1} files, .* of this image \\(resuming\\)`);
    await expect.poll(() => again.locator('[data-testid=seed-list] li').first().textContent(), { timeout: 30_000 }).toMatch(resumedEntry);
    // (files given through an input are not remembered: the new tab is given them again)
    await again.getByTestId('seed-folder').setInputFiles(seedFolder('md5'));
    await expect.poll(() => plannedBytes(again), { timeout: 60_000 }).toBe(victimData.length);
    await again.close();

    // ...and so does Try again, with the user's files as before: only the package that failed is fetched.
    sent.clear();
    await page.getByTestId('retry').click();
    await expect.poll(() => page.locator('[data-testid=seed-list] li').first().textContent(), { timeout: 30_000 }).toMatch(resumedEntry);
    await expect.poll(() => plannedBytes(page), { timeout: 60_000 }).toBe(victimData.length);
    expect(await page.getByTestId('plan-bytes').textContent()).toContain('as 1 whole file');
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(hash('md5', iso));
    expectSameBytes(new Uint8Array(Buffer.from(await readOutput(page), 'base64')), iso);
    for (const [name, data] of fx.packages) expect(mirrorBytes(name), name).toBe(name === victim ? data.length : 0);
    // Built: nothing is kept any more.
    await expect.poll(() => kept.count(), { timeout: 10_000 }).toBe(0);
    expect(
      await page.evaluate(async () => {
        const names: string[] = [];
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('tessera-jigdo-files', { create: true });
        for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
        return names;
      }),
    ).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('says when a package server does not allow this site (CORS)', async () => {
    const { page } = await openPage(`${mirror.url}nocors/image.jigdo`, 'opfs');
    await waitForImage(page);
    await plannedBytes(page);
    await page.getByTestId('start').click();
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 60_000 });
    const text = (await error.textContent()) ?? '';
    expect(text).toContain(`${noCors.url}md5/debian/`);
    expect(text).toContain('does not allow this site (CORS)');
    expect(await outputNames(page)).not.toContain('image.iso');
    await page.context().close();
  });

  it('refuses a template that is not the one the .jigdo names', async () => {
    const { page } = await openPage(`${mirror.url}wrong-template/image.jigdo`);
    const problem = page.locator('[data-testid=image-panel] .error');
    await expect.poll(() => problem.textContent(), { timeout: 20_000 }).toContain(`${mirror.url}wrong-template/image.template: the template is not the one the .jigdo names (its MD5 differs)`);
    expect(await page.getByTestId('image-facts').count()).toBe(0);
    await page.context().close();
  });

  it('asks for the URL when a .jigdo opened from disk names its template relatively', async () => {
    const { page } = await openPage(`${mirror.url}md5/image.jigdo`);
    await waitForImage(page);
    await page.getByTestId('manifest-file').setInputFiles(fixtures.md5.jigdo);
    const problem = page.locator('[data-testid=image-panel] .error');
    await expect.poll(() => problem.textContent(), { timeout: 20_000 }).toContain('image.jigdo names its template (image.template) relative to where the .jigdo is published');
    await page.context().close();
  });

  it('names a template that is not there', async () => {
    const { page } = await openPage(`${mirror.url}no-template/image.jigdo`);
    const problem = page.locator('[data-testid=image-panel] .error');
    await expect.poll(() => problem.textContent(), { timeout: 20_000 }).toBe(`The template ${mirror.url}no-template/image.template could not be loaded: HTTP 404`);
    await page.context().close();
  });
});
