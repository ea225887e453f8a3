import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { encodeManifest } from '../../src/core/manifest/encode-manifest.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { EXCLUSIVE_STORAGE, NO_SAVE_PICKER, SAVE_DIALOG, SAVE_TO_OPFS } from '../helpers/browser.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';
import { zsyncmake } from '../helpers/zsyncmake.ts';
import { formatBytes } from '../../src/shared/format.ts';

const MiB = 1 << 20;
const SEGMENT = 16 * MiB;
const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

// The scan writes the blocks it finds into a file in the site's storage while
// they are in memory (src/web/engine/image-file-worker.ts): the image is then
// completed in place (no "Save as"), or copied from it to the chosen file.
describe('the page writes what the scan finds straight into the image file', () => {
  // 4 SHA-256 segments (the last one short) with 1 MiB of zeros at 10 MiB; the old image holds all but 2 MiB of it.
  const next = randomBytes(3 * SEGMENT + 5 * MiB + 123, 141);
  next.fill(0, 10 * MiB, 11 * MiB);
  const env = usePageFixture(next, { seed: concat([next.subarray(0, 20 * MiB), randomBytes(2 * MiB, 142), next.subarray(22 * MiB)]) });
  const imageBytesSent = () => env.fixture.requests.filter((r) => r.path === '/new.img').reduce((n, r) => n + r.bytesSent, 0);

  beforeAll(async () => {
    const manifest = await makeManifest(memorySeed('new.img', next), { mirrors: ['new.img'], segmentBytes: SEGMENT });
    await writeFile(join(env.fixture.www, 'new.img.tessera'), await encodeManifest(manifest));
    const states = [...manifest.sha256Chain!.states];
    states[1] = '5a'.repeat(32);
    await writeFile(join(env.fixture.www, 'forged.img.tessera'), await encodeManifest({ ...manifest, sha256Chain: { segmentBytes: SEGMENT, states } }));
    zsyncmake(join(env.fixture.www, 'new.img'), join(env.fixture.www, 'new.img.zsync'), ['-u', 'new.img']);
  });

  /**
   * Build new.img from the old image in a new browser context; `inImageFileWorker`, a script run in the image
   * file's worker before Start, stands in for another browser's file API there.
   */
  async function rebuild(saving: string, manifestName = 'new.img.tessera', query = '', inImageFileWorker?: string): Promise<{ page: Page; sent: number }> {
    const before = imageBytesSent();
    const page = await scanned(saving, manifestName, query, inImageFileWorker);
    await page.getByTestId('start').click();
    await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 60_000 });
    return { page, sent: imageBytesSent() - before };
  }
  /** A page in a new browser context, with new.img's plan for the old image on screen (see rebuild). */
  async function scanned(saving: string, manifestName = 'new.img.tessera', query = '', inImageFileWorker?: string): Promise<Page> {
    const context = await env.browser.newContext();
    await context.addInitScript(saving);
    const page = await context.newPage();
    const patched: Promise<unknown>[] = [];
    if (inImageFileWorker) page.on('worker', (worker) => void (worker.url().includes('image-file-worker') && patched.push(worker.evaluate(inImageFileWorker))));
    await page.goto(`${env.fixture.pageUrl}?manifest=${encodeURIComponent(env.fixture.mirrorUrl + manifestName)}${query}`);
    await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('new.img');
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await page.locator('[data-testid=seed-list] li[data-state=done]').waitFor({ timeout: 60_000 });
    if (inImageFileWorker) {
      await expect.poll(() => patched.length).toBe(1);
      await Promise.all(patched);
    }
    return page;
  }

  /** The site's storage: file names and the SHA-256 of new.img if there. */
  const storage = (page: Page) =>
    page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const names: string[] = [];
      for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      let sha: string | null = null;
      if (names.includes('new.img')) {
        const file = await (await root.getFileHandle('new.img')).getFile();
        sha = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer())), (b) => b.toString(16).padStart(2, '0')).join('');
      }
      return { names: names.sort(), sha };
    });

  for (const [mode, saving, shared] of [
    ['completed in place (no "Save as")', NO_SAVE_PICKER, true],
    ['copied to the file chosen with "Save as"', SAVE_TO_OPFS, true],
    // Firefox and Safari: the scan and the assembly write through the image file's worker.
    ['completed in place where workers cannot share a file', NO_SAVE_PICKER + EXCLUSIVE_STORAGE, false],
  ] as const) {
    it(`rebuilds and verifies the image, ${mode}, without reading the old image again`, async () => {
      const { page, sent } = await rebuild(saving);
      expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
      // Where workers share the file the assembly wrote what it downloaded itself; else all its writes went through the port.
      const { outputWrite } = JSON.parse((await page.getByTestId('result-figures').getAttribute('data-timings')) ?? '{}');
      if (shared) expect(outputWrite).toBeGreaterThan(0);
      else expect(outputWrite).toBe(0);
      // Everything the old image gave went through the image file (zero blocks are written from nothing).
      expect(Number(await page.getByTestId('result-from-scan').getAttribute('data-bytes'))).toBe(next.length - 3 * MiB);
      expect(await page.getByTestId('result-figures').textContent()).toContain('SHA-256 checked in 4 segments');
      // The 2 MiB the old image lacks, plus the 1-byte probe of the mirror.
      expect(sent).toBe(2 * MiB + 1);
      expect((await storage(page)).sha).toBe(sha256(next));
      // (With "Save as" the image file is removed while the result is shown.)
      await expect.poll(async () => (await storage(page)).names.filter((n) => n.startsWith('.tessera-building-'))).toEqual([]);
      await page.context().close();
    });
  }

  it('keeps an image built in place listed on the next visit, to download again or delete', async () => {
    // (Without "Save as" nothing else would ever show it, or free its room.)
    const { page } = await rebuild(NO_SAVE_PICKER);
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    await page.goto(env.fixture.pageUrl);
    await downloadAndDeleteBuilt(page);
    await page.context().close();
  });

  /** What the browser downloads when `button` is clicked: its file name and SHA-256. */
  async function downloadOf(page: Page, button: Locator): Promise<{ name: string; sha: string }> {
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    return { name: download.suggestedFilename(), sha: sha256(await readFile((await download.path())!)) };
  }

  /** new.img listed under "Kept in this browser": downloaded from there whole, then deleted from the list and the site's storage. */
  async function downloadAndDeleteBuilt(page: Page): Promise<void> {
    const built = page.getByTestId('built-image');
    await expect.poll(() => built.allTextContents(), { timeout: 20_000 }).toEqual([`new.img${formatBytes(next.length)}DownloadDelete`]);
    expect(await downloadOf(page, built.getByRole('button', { name: 'Download' }))).toEqual({ name: 'new.img', sha: sha256(next) });
    await built.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => built.count()).toBe(0);
    expect((await storage(page)).names).not.toContain('new.img');
  }

  // Safari's move() takes a directory and a name, and nothing else (WebKit's FileSystemHandle.idl): a call with
  // the name alone fails for want of an argument. Chromium before 110 has no move() at all.
  // (Chromium defines move() on FileSystemFileHandle.prototype.)
  const MOVE_NEEDS_A_DIRECTORY = `{
    const move = FileSystemFileHandle.prototype.move;
    FileSystemFileHandle.prototype.move = function (destination, name) {
      if (arguments.length < 2) return Promise.reject(new TypeError('Not enough arguments'));
      return move.call(this, destination, name);
    };
  }`;
  const NO_MOVE = 'delete FileSystemFileHandle.prototype.move';

  for (const [browser, script, file] of [
    ['whose move() takes only a directory and a name (Safari)', MOVE_NEEDS_A_DIRECTORY, 'renamed'],
    ['that cannot rename a file', NO_MOVE, 'working name'],
  ] as const) {
    it(`keeps an image built in place in a browser ${browser}, listed under its name on later visits`, async () => {
      const { page } = await rebuild(NO_SAVE_PICKER, 'new.img.tessera', '', script);
      expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
      expect(await downloadOf(page, page.getByTestId('save-link'))).toEqual({ name: 'new.img', sha: sha256(next) });
      const building = async () => (await storage(page)).names.filter((n) => n.startsWith('.tessera-building-'));
      expect((await storage(page)).names.includes('new.img')).toBe(file === 'renamed');
      expect(await building()).toHaveLength(file === 'renamed' ? 0 : 1);
      // A later visit that opens an image clears the image files left unfinished, and not this one.
      await page.goto(`${env.fixture.pageUrl}?manifest=${encodeURIComponent(env.fixture.mirrorUrl + 'new.img.tessera')}`);
      await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('new.img');
      // (Beside it, the image file this visit opened.)
      await expect.poll(building, { timeout: 20_000 }).toHaveLength(file === 'renamed' ? 1 : 2);
      await downloadAndDeleteBuilt(page);
      expect(await building()).toHaveLength(1);
      await page.reload();
      await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('new.img');
      await expect.poll(() => page.getByTestId('built-image').count()).toBe(0);
      await page.context().close();
    });
  }

  const progressText = (page: Page) => page.getByTestId('progress').textContent();

  it('downloads while the "Save as" dialog is open, and saves the verified image into the file chosen after', async () => {
    const before = imageBytesSent();
    const page = await scanned(SAVE_DIALOG);
    await page.getByTestId('start').click();
    // Built and verified with the dialog still open: only the copy into the chosen file is left.
    await expect.poll(() => progressText(page), { timeout: 60_000 }).toContain('verified; choose where to save it');
    expect(imageBytesSent() - before).toBe(2 * MiB + 1);
    expect((await storage(page)).names).not.toContain('new.img');
    await page.evaluate(() => (window as unknown as { __chooseFile(): void }).__chooseFile());
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    expect((await storage(page)).sha).toBe(sha256(next));
    await expect.poll(async () => (await storage(page)).names.filter((n) => n.startsWith('.tessera-building-'))).toEqual([]);
    expect(imageBytesSent() - before).toBe(2 * MiB + 1);
    await page.context().close();
  });

  it('keeps the verified image to save again when the "Save as" dialog is closed after it was built', async () => {
    const before = imageBytesSent();
    const page = await scanned(SAVE_DIALOG);
    await page.getByTestId('start').click();
    await expect.poll(() => progressText(page), { timeout: 60_000 }).toContain('verified; choose where to save it');
    await page.evaluate(() => (window as unknown as { __closeDialog(): void }).__closeDialog());
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 20_000 }).toContain('No file was chosen to save it into: the save dialog was closed.');
    await page.getByTestId('unsaved').waitFor();
    await page.evaluate(() => ((window as unknown as { __dialog: string }).__dialog = 'now'));
    await page.getByTestId('save-again').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    expect((await storage(page)).sha).toBe(sha256(next));
    // Nothing was fetched again.
    expect(imageBytesSent() - before).toBe(2 * MiB + 1);
    await page.context().close();
  });

  it('stops the download and shows the plan again when the "Save as" dialog is closed before the image is built', async () => {
    const page = await scanned(SAVE_DIALOG);
    const plan = await page.getByTestId('plan-summary').textContent();
    await page.evaluate(() => ((window as unknown as { __dialog: string }).__dialog = 'cancel'));
    await page.getByTestId('start').click();
    // Back to the plan, Start ready again, nothing saved and nothing said to have gone wrong.
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 20_000 }).toBe(true);
    expect(await page.getByTestId('plan-summary').textContent()).toBe(plan);
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(await page.getByTestId('progress').count()).toBe(0);
    expect((await storage(page)).names).not.toContain('new.img');
    // Start again, and save.
    await page.evaluate(() => ((window as unknown as { __dialog: string }).__dialog = 'now'));
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    expect((await storage(page)).sha).toBe(sha256(next));
    await page.context().close();
  });

  it('two tabs building the same image at once each write into an image file of their own', async () => {
    // The scan workers write into the image file through handles of their own (shared-access.ts), which a second
    // tab could open too: each page's image file has a name of its own, so neither overwrites the other's.
    const context = await env.browser.newContext();
    await context.addInitScript(NO_SAVE_PICKER);
    const address = `${env.fixture.pageUrl}?manifest=${encodeURIComponent(env.fixture.mirrorUrl + 'new.img.tessera')}`;
    const pages = [await context.newPage(), await context.newPage()];
    // Both image files are open before either tab scans, and both stay open until its image is built.
    for (const page of pages) {
      await page.goto(address);
      await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('new.img');
    }
    await expect.poll(async () => (await storage(pages[0])).names.filter((n) => n.startsWith('.tessera-building-')).length, { timeout: 20_000 }).toBe(2);
    for (const page of pages) await page.getByTestId('seed-files').setInputFiles(env.seed);
    for (const page of pages) await page.locator('[data-testid=seed-list] li[data-state=done]').waitFor({ timeout: 60_000 });
    // One after the other: both keep their image as new.img, which only one rename at a time can take.
    for (const page of pages) {
      await page.getByTestId('start').click();
      await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
      expect(Number(await page.getByTestId('result-from-scan').getAttribute('data-bytes'))).toBe(next.length - 3 * MiB);
    }
    const { names, sha } = await storage(pages[0]);
    expect(sha).toBe(sha256(next));
    expect(names.filter((n) => n.startsWith('.tessera-building-'))).toEqual([]);
    await context.close();
  });

  it('removes the image file when a checkpoint is wrong, leaving nothing that looks like the image', async () => {
    const { page } = await rebuild(NO_SAVE_PICKER, 'forged.img.tessera');
    expect(await page.getByTestId('error').textContent()).toContain(`bytes ${SEGMENT}-${2 * SEGMENT - 1} of the rebuilt image do not hash to the manifest's SHA-256 checkpoint`);
    const { names } = await storage(page);
    expect(names.filter((n) => n === 'new.img' || n.startsWith('.tessera-building-'))).toEqual([]);
    await page.context().close();
  });

  it('builds from a .zsync in place, hashing the whole file in order (SHA-1, no checkpoints)', async () => {
    const { page, sent } = await rebuild(NO_SAVE_PICKER, 'new.img.zsync');
    expect(await page.getByTestId('result-checksum').textContent()).toBe(createHash('sha1').update(next).digest('hex'));
    expect(Number(await page.getByTestId('result-from-scan').getAttribute('data-bytes'))).toBeGreaterThan(next.length - 4 * MiB);
    expect(sent).toBeLessThan(3 * MiB);
    expect((await storage(page)).sha).toBe(sha256(next));
    await page.context().close();
  });

  it('with a .zsync and the SHA-256 the user gave, also hashes the file with SHA-256, and keeps nothing when it differs', async () => {
    const other = sha256(next.subarray(1));
    const bad = await rebuild(NO_SAVE_PICKER, 'new.img.zsync', `&sha256=${other}`);
    expect(await bad.page.getByTestId('error').textContent()).toContain(`its SHA-256 is ${sha256(next)}, not the ${other} you asked for; it was not kept`);
    const { names } = await storage(bad.page);
    expect(names.filter((n) => n === 'new.img' || n.startsWith('.tessera-building-'))).toEqual([]);
    await bad.page.context().close();
    const good = await rebuild(NO_SAVE_PICKER, 'new.img.zsync', `&sha256=${sha256(next)}`);
    expect(await good.page.getByTestId('result-expected').textContent()).toContain('Its SHA-256 is the one you gave');
    expect((await storage(good.page)).sha).toBe(sha256(next));
    await good.page.context().close();
  });
});
