import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS } from '../helpers/browser.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';

describe('the page offline (service worker, manifests kept)', () => {
  const image = concat([randomBytes(3_000_000, 901), new Uint8Array(64 * 2048), randomBytes(500_000, 902)]);
  const env = usePageFixture(image, { seed: image });

  it('loads with the network off after one visit and rebuilds an image whose blocks are all local, with zero requests', async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    // The service worker has precached the app, and the manifest is kept.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect
      .poll(() =>
        page.evaluate(
          () =>
            new Promise<number>((done) => {
              const open = indexedDB.open('tessera-manifest-bytes');
              open.onsuccess = () => {
                const db = open.result;
                if (!db.objectStoreNames.contains('bytes')) return done(0);
                const count = db.transaction('bytes').objectStore('bytes').count();
                count.onsuccess = () => done(count.result);
              };
              open.onerror = () => done(0);
            }),
        ),
      )
      .toBe(1);

    // Installable: a web app manifest with a name, standalone display and icons that load.
    const webManifest = await page.evaluate(async () => {
      const href = document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href;
      const m = await (await fetch(href)).json();
      const icons = await Promise.all(m.icons.map(async (i: { src: string }) => (await fetch(new URL(i.src, href))).status));
      return { name: m.name, display: m.display, sizes: m.icons.map((i: { sizes: string }) => i.sizes), icons };
    });
    expect(webManifest).toEqual({ name: 'Tessera', display: 'standalone', sizes: ['192x192', '512x512', '512x512'], icons: [200, 200, 200] });

    await context.setOffline(true);
    const before = env.fixture.requests.length;
    await page.reload();
    await page.getByTestId('image-name').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('image-note').textContent()).toMatch(/using the copy kept from/);
    // Served by the service worker, still cross-origin isolated (its workers share the block tables).
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await expect.poll(() => page.getByTestId('plan-bytes').textContent(), { timeout: 30_000 }).toMatch(/ 0 bytes to fetch/);
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(createHash('sha256').update(image).digest('hex'));
    expect(env.fixture.requests.length - before).toBe(0);
    await context.close();
  });
});
