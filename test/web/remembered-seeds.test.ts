import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';

describe('remembered folders', () => {
  const image = concat([randomBytes(1_500_000, 921), new Uint8Array(20 * 2048)]);
  const env = usePageFixture(image);

  it('lists a folder picked on an earlier visit and uses it again with one click', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    // What "Add folder…" leaves behind (pickers cannot be driven headlessly): a folder
    // handle kept in IndexedDB. The folder lives in the site's private storage.
    const mirrorImage = env.fixture.address.replace(/^.*manifest=/, '');
    await page.evaluate(async (imageUrl) => {
      const bytes = await (await fetch(decodeURIComponent(imageUrl).replace(/\.tessera$/, ''))).arrayBuffer();
      const root = await navigator.storage.getDirectory();
      const folder = await root.getDirectoryHandle('old-downloads', { create: true });
      const writable = await (await folder.getFileHandle('copy.img', { create: true })).createWritable();
      await writable.write(bytes);
      await writable.close();
      await new Promise<void>((done, fail) => {
        const open = indexedDB.open('tessera-seed-handles');
        open.onupgradeneeded = () => open.result.createObjectStore('handles');
        open.onsuccess = () => {
          const tx = open.result.transaction('handles', 'readwrite');
          tx.objectStore('handles').put([{ handle: folder, addedAt: Date.now() }], 'seeds');
          tx.oncomplete = () => done();
          tx.onerror = () => fail(tx.error);
        };
      });
    }, mirrorImage);

    await page.reload();
    await page.getByTestId('image-name').waitFor();
    const remembered = page.getByTestId('remembered');
    await expect.poll(() => remembered.textContent(), { timeout: 10_000 }).toContain('old-downloads');
    await remembered.getByRole('button', { name: 'Use again' }).click();
    await page.locator('[data-testid=seed-list] li[data-state=done]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=seed-list] li').textContent()).toContain('old-downloads/copy.img');
    await expect.poll(() => page.getByTestId('plan-bytes').textContent(), { timeout: 30_000 }).toMatch(/ 0 bytes to fetch/);
    await context.close();
  });
});
