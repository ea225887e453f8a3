import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS } from '../helpers/browser.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';

const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

// The built page declares a Content Security Policy: only its own scripts run
// (plus WebAssembly), so an injected inline script does not.
describe('the page under its Content Security Policy', () => {
  const next = randomBytes(300_000, 71);
  const env = usePageFixture(next, { seed: concat([next.subarray(0, 200_000), randomBytes(50_000, 72)]) });

  it('rebuilds an image with no policy violation, and blocks an injected inline script', async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    await context.addInitScript(`
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
    `);
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    const policy = await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content');
    expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(policy).not.toContain('unsafe-inline');
    await page.getByTestId('seed-files').setInputFiles(env.seed);
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
