import { createHash } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { encodeManifest } from '../../src/core/manifest/encode-manifest.ts';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS, launchChromium } from '../helpers/browser.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { selfSignedCertificate } from '../helpers/self-signed.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const HTTP_MIRROR = 'http://mirror.example.org/debian/new.img';

// A page served over https cannot fetch from http mirrors; it says so instead of failing with "Failed to fetch".
describe('the page over https with an http mirror (mixed content)', () => {
  const next = randomBytes(300_000, 81);
  const old = concat([next.subarray(0, 200_000), randomBytes(60_000, 82)]);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let site: RunningServer;
  let mirror: RunningServer;

  beforeAll(async () => {
    dir = await tempDir();
    const tls = selfSignedCertificate(dir.path);
    const www = join(dir.path, 'www');
    await mkdir(www);
    await writeFile(join(www, 'new.img'), next);
    await writeFile(join(dir.path, 'old.img'), old);
    const pageDir = join(dir.path, 'site');
    await mkdir(pageDir);
    for (const entry of await readdir(resolve('dist/web'))) await symlink(resolve('dist/web', entry), join(pageDir, entry));
    site = await startStaticServer({ root: pageDir, tls });
    mirror = await startStaticServer({ root: www, tls });
    const both = await makeManifest(memorySeed('new.img', next), { mirrors: [HTTP_MIRROR, `${mirror.url}new.img`] });
    await writeFile(join(www, 'both.tessera'), await encodeManifest(both));
    const httpOnly = await makeManifest(memorySeed('new.img', next), { mirrors: [HTTP_MIRROR] });
    await writeFile(join(www, 'http-only.tessera'), await encodeManifest(httpOnly));
    // Trust the test's self-signed certificate everywhere, workers started by workers included
    // (a context's ignoreHTTPSErrors does not reliably reach those).
    browser = await launchChromium(['--ignore-certificate-errors']);
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), mirror?.close()]);
    await dir?.remove();
  });

  async function open(manifest: string) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    await page.goto(`${site.url}?manifest=${encodeURIComponent(mirror.url + manifest)}`);
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    return page;
  }

  it('sets the http mirror aside with the reason, and builds from the https one', async () => {
    expect(site.url).toMatch(/^https:/);
    const page = await open('both.tessera');
    await expect.poll(() => page.getByTestId('mirror-problem').textContent(), { timeout: 20_000 }).toContain('browsers do not let it download from an http address (mixed content)');
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    await page.context().close();
  });

  it('says before downloading that no mirror can be used when all are http', async () => {
    const page = await open('http-only.tessera');
    await page.getByTestId('start').click();
    const error = (await page.getByTestId('error').textContent({ timeout: 30_000 })) ?? '';
    expect(error).toContain('no mirror of this image can be used from this page');
    expect(error).toContain(`${HTTP_MIRROR}: this page is served over https`);
    await page.context().close();
  });
});
