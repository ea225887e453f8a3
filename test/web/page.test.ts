import { createHash } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { concat, padTo, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS, launchChromium } from '../helpers/browser.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { zsyncmake } from '../helpers/zsyncmake.ts';

const BS = 2048;
const PAGE_BUILD = resolve('dist/web');

/** An old image, and a new one that reuses most of it (moved), plus fresh data and zero sectors. */
function images() {
  const files = Array.from({ length: 16 }, (_, i) => randomBytes(30_000 + i * 41_000, 700 + i));
  const old = concat(files.slice(0, 14).map((f) => padTo(f, BS)));
  const fresh = randomBytes(300_000, 799);
  const next = concat([...files.slice(2, 14).reverse().map((f) => padTo(f, BS)), padTo(fresh, BS), new Uint8Array(8 * BS), files[15]]);
  return { old, next };
}

const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

describe('the web page in headless Chromium', () => {
  const { old, next } = images();
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let pageServer: RunningServer;
  /** The same page from a host that does not send the cross-origin isolation headers. */
  let plainPageServer: RunningServer;
  let mirror: RunningServer;
  let noCors: RunningServer;
  /** Another origin that has the image only (named by absolute URL in a .zsync kept on `mirror`). */
  let imageHost: RunningServer;
  let served = { bytes: 0, requests: 0 };
  let servedByImageHost = { bytes: 0, requests: 0 };

  beforeAll(async () => {
    dir = await tempDir();
    const www = join(dir.path, 'www');
    const site = join(dir.path, 'site');
    await mkdir(www);
    await mkdir(site);
    await writeFile(join(www, 'new.img'), next);
    await writeFile(join(dir.path, 'old.img'), old);
    // The page's origin serves the built page (and, for the no-CORS case, a manifest).
    for (const entry of await readdir(PAGE_BUILD)) await symlink(join(PAGE_BUILD, entry), join(site, entry));
    pageServer = await startStaticServer({ root: site });
    plainPageServer = await startStaticServer({ root: site, isolate: false });
    mirror = await startStaticServer({
      root: www,
      onRequest: (r) => {
        if (r.path === '/new.img') {
          served.bytes += r.bytesSent;
          served.requests++;
        }
      },
    });
    noCors = await startStaticServer({ root: www, cors: false });
    await mkdir(join(dir.path, 'image-host'));
    await writeFile(join(dir.path, 'image-host', 'new.img'), next);
    imageHost = await startStaticServer({
      root: join(dir.path, 'image-host'),
      onRequest: (r) => {
        servedByImageHost.bytes += r.bytesSent;
        servedByImageHost.requests++;
      },
    });
    zsyncmake(join(dir.path, 'image-host', 'new.img'), join(www, 'elsewhere.img.zsync'), ['-u', `${imageHost.url}new.img`]);
    expect((await runCli(['make', join(www, 'new.img')])).code).toBe(0);
    expect((await runCli(['make', join(www, 'new.img'), '-o', join(www, 'wide.img.tessera'), '--block-size', '65536'])).code).toBe(0);
    zsyncmake(join(www, 'new.img'), join(www, 'new.img.zsync'), ['-u', 'new.img']);
    expect((await runCli(['make', join(www, 'new.img'), '-o', join(site, 'nocors.img.tessera'), '--url', noCors.url + 'new.img'])).code).toBe(0);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([pageServer?.close(), plainPageServer?.close(), mirror?.close(), noCors?.close(), imageHost?.close()]);
    await dir?.remove();
  });

  async function openPage(manifestUrl: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${pageServer.url}?manifest=${encodeURIComponent(manifestUrl)}`);
    await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('new.img');
    return { page, errors };
  }

  /** Wait for the plan and return the bytes it will fetch. */
  async function plannedBytes(page: Page): Promise<number> {
    const text = await page.getByTestId('plan-bytes').textContent({ timeout: 60_000 });
    const m = /([\d,]+) bytes to fetch/.exec(text ?? '');
    expect(m, `plan text: ${text}`).not.toBeNull();
    return Number(m![1].replace(/,/g, ''));
  }

  async function buildAndReadBack(page: Page): Promise<{ shaShown: string; shaOfFile: string; figures: string }> {
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    const shaShown = (await page.getByTestId('result-checksum').textContent()) ?? '';
    const figures = (await page.getByTestId('result-figures').textContent()) ?? '';
    const shaOfFile = await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const file = await (await root.getFileHandle('new.img')).getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    });
    return { shaShown, shaOfFile, figures };
  }

  it.each([
    ['the blocks `tessera make` chooses', 'new.img.tessera'],
    ['wide blocks (64 KiB, as `tessera make` chooses past 1 GiB)', 'wide.img.tessera'],
  ])('rebuilds the image from a seed covering most of it, with %s, fetching exactly the plan', async (_, manifest) => {
    served = { bytes: 0, requests: 0 };
    const { page, errors } = await openPage(mirror.url + manifest);
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    const plan = await plannedBytes(page);
    // The fresh 300,000 bytes (with wide blocks, the blocks around them too); most of the image is found.
    expect(plan).toBeGreaterThanOrEqual(300_000);
    expect(plan).toBeLessThan(next.length / 2);
    expect(await page.getByTestId('plan-summary').textContent()).toMatch(/from your files, .* to download \(\d+(\.\d)?%\)/);
    const { shaShown, shaOfFile } = await buildAndReadBack(page);
    expect(shaShown).toBe(sha256(next));
    expect(shaOfFile).toBe(sha256(next));
    // The plan's bytes, plus the 1-byte probe that checks each mirror before the download.
    expect(served.bytes).toBe(plan + 1);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shares one block index between its scan workers when cross-origin isolated, and works the same without', async () => {
    const scanOn = async (server: RunningServer) => {
      const context = await browser.newContext();
      await context.addInitScript(SAVE_TO_OPFS);
      const page = await context.newPage();
      await page.goto(`${server.url}?manifest=${encodeURIComponent(mirror.url + 'new.img.tessera')}`);
      await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
      const plan = await plannedBytes(page);
      const facts = await page.evaluate(() => ({
        isolated: crossOriginIsolated,
        cores: navigator.hardwareConcurrency,
        sharedIndex: (performance.getEntriesByName('tessera:scan-merged').at(-1) as PerformanceMark | undefined)?.detail?.sharedIndex as boolean | undefined,
      }));
      const { shaShown } = await buildAndReadBack(page);
      await context.close();
      return { plan, shaShown, ...facts };
    };
    const isolated = await scanOn(pageServer);
    const plain = await scanOn(plainPageServer);
    expect(isolated.isolated).toBe(true);
    expect(isolated.sharedIndex).toBe(isolated.cores > 1); // (one scan worker per core)
    expect(plain.isolated).toBe(false);
    expect(plain.sharedIndex).toBe(false);
    // The same plan and the same verified image either way.
    expect(plain.plan).toBe(isolated.plan);
    expect(isolated.shaShown).toBe(sha256(next));
    expect(plain.shaShown).toBe(sha256(next));
  });

  it('takes files picked while the manifest is still loading, and scans them once it is loaded', async () => {
    served = { bytes: 0, requests: 0 };
    const context = await browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The manifest's answer is held until the file has been given.
    const manifestUrl = mirror.url + 'new.img.tessera';
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(manifestUrl, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${pageServer.url}?manifest=${encodeURIComponent(manifestUrl)}`);
    await page.getByText(`Loading ${manifestUrl}`).waitFor();
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    const seed = page.getByTestId('seed-list').locator('li');
    await expect.poll(() => seed.getAttribute('data-state')).toBe('queued');
    expect(await page.getByTestId('image-name').count()).toBe(0);
    release();
    await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('new.img');
    const plan = await plannedBytes(page);
    expect(await seed.getAttribute('data-state')).toBe('done');
    const { shaShown, shaOfFile } = await buildAndReadBack(page);
    expect(shaShown).toBe(sha256(next));
    expect(shaOfFile).toBe(sha256(next));
    expect(served.bytes).toBe(plan + 1);
    expect(errors).toEqual([]);
    await context.close();
    // The same plan as when the file is given once the image is shown.
    const { page: after } = await openPage(manifestUrl);
    await after.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    expect(await plannedBytes(after)).toBe(plan);
    await after.context().close();
  });

  it('rebuilds from a .zsync control file made by zsyncmake, verified by its SHA-1', async () => {
    served = { bytes: 0, requests: 0 };
    const { page, errors } = await openPage(mirror.url + 'new.img.zsync');
    const sha1 = createHash('sha1').update(next).digest('hex');
    expect(await page.getByTestId('image-facts').textContent()).toContain(`SHA-1${sha1}`);
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    const plan = await plannedBytes(page);
    expect(plan).toBeGreaterThan(300_000);
    expect(plan).toBeLessThan(next.length / 2);
    const { shaShown, shaOfFile } = await buildAndReadBack(page);
    expect(shaShown).toBe(sha1);
    expect(await page.getByTestId('result').textContent()).toContain('SHA-1');
    expect(shaOfFile).toBe(sha256(next));
    expect(served.bytes).toBe(plan + 1);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('fetches from the other origin a .zsync names by absolute URL (CORS), verified by its SHA-1', async () => {
    served = { bytes: 0, requests: 0 };
    servedByImageHost = { bytes: 0, requests: 0 };
    const { page, errors } = await openPage(mirror.url + 'elsewhere.img.zsync');
    expect(await page.getByTestId('mirror').allTextContents()).toEqual([expect.stringContaining(`${imageHost.url}new.img`)]);
    await expect.poll(() => page.getByTestId('mirror').textContent(), { timeout: 20_000 }).toContain('Range and CORS work');
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    const plan = await plannedBytes(page);
    expect(plan).toBeGreaterThan(300_000);
    const { shaShown, shaOfFile } = await buildAndReadBack(page);
    expect(shaShown).toBe(createHash('sha1').update(next).digest('hex'));
    expect(shaOfFile).toBe(sha256(next));
    // Everything came from the image's host (the plan and the 1-byte probe); nothing from where the .zsync is.
    expect(servedByImageHost.bytes).toBe(plan + 1);
    expect(served).toEqual({ bytes: 0, requests: 0 });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('downloads everything but zero blocks with no seed', async () => {
    served = { bytes: 0, requests: 0 };
    const { page } = await openPage(mirror.url + 'new.img.tessera');
    const plan = await plannedBytes(page);
    expect(plan).toBe(next.length - 8 * BS);
    const { shaOfFile } = await buildAndReadBack(page);
    expect(shaOfFile).toBe(sha256(next));
    expect(served.bytes).toBe(plan + 1);
    await page.context().close();
  });

  it('fetches nothing when the seeds cover everything', async () => {
    served = { bytes: 0, requests: 0 };
    const { page } = await openPage(mirror.url + 'new.img.tessera');
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'www', 'new.img'));
    await expect.poll(() => plannedBytes(page), { timeout: 30_000 }).toBe(0);
    const { shaOfFile, figures } = await buildAndReadBack(page);
    expect(shaOfFile).toBe(sha256(next));
    expect(figures).toMatch(/0 B downloaded in 0 requests/);
    expect(served.bytes).toBe(1); // the probe only
    await page.context().close();
  });

  it('says plainly when a mirror does not allow this site (CORS)', async () => {
    const { page } = await openPage(pageServer.url + 'nocors.img.tessera');
    const problem = page.getByTestId('mirror-problem');
    await expect.poll(() => problem.textContent(), { timeout: 20_000 }).toMatch(/does not allow this site \(CORS\)/);
    await plannedBytes(page);
    await page.getByTestId('start').click();
    await page.getByTestId('error').waitFor({ timeout: 60_000 });
    const error = (await page.getByTestId('error').textContent()) ?? '';
    expect(error).toContain(`${noCors.url}new.img: could not be read from this page: the mirror does not allow this site (CORS)`);
    expect(error).toContain('Access-Control-Allow-Origin');
    await page.context().close();
  });
});
