import { createHash } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS, launchChromium } from '../helpers/browser.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

// The built page declares a Content Security Policy: only its own scripts run
// (plus WebAssembly), so an injected inline script does not.
describe('the page under its Content Security Policy', () => {
  const next = randomBytes(300_000, 71);
  const old = concat([next.subarray(0, 200_000), randomBytes(50_000, 72)]);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let site: RunningServer;
  let mirror: RunningServer;

  beforeAll(async () => {
    dir = await tempDir();
    const www = join(dir.path, 'www');
    await mkdir(www);
    await writeFile(join(www, 'new.img'), next);
    await writeFile(join(dir.path, 'old.img'), old);
    expect((await runCli(['make', join(www, 'new.img')])).code).toBe(0);
    const pageDir = join(dir.path, 'site');
    await mkdir(pageDir);
    for (const entry of await readdir(resolve('dist/web'))) await symlink(resolve('dist/web', entry), join(pageDir, entry));
    site = await startStaticServer({ root: pageDir });
    mirror = await startStaticServer({ root: www });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), mirror?.close()]);
    await dir?.remove();
  });

  it('rebuilds an image with no policy violation, and blocks an injected inline script', async () => {
    const context = await browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    await context.addInitScript(`
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
    `);
    const page = await context.newPage();
    await page.goto(`${site.url}?manifest=${encodeURIComponent(mirror.url + 'new.img.tessera')}`);
    const policy = await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content');
    expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(policy).not.toContain('unsafe-inline');
    await page.getByTestId('seed-files').setInputFiles(join(dir.path, 'old.img'));
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toEqual([]);

    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true';
      document.head.append(script);
      await new Promise((r) => setTimeout(r, 50));
      return (window as unknown as { __injected?: boolean }).__injected === true;
    });
    expect(ran).toBe(false);
    expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toEqual(['script-src-elem inline']);
    await context.close();
  });
});
