import { writeFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';

describe('the scan cache', () => {
  const old = randomBytes(6_000_000, 911);
  const image = concat([old.subarray(1000, 5_000_000), randomBytes(200_000, 912)]);
  const env = usePageFixture(image, { seed: old });

  /** Add the seed, wait for the plan; returns the plan's text and the scan pool's statistics. */
  async function scanOnce(page: Page): Promise<{ plan: string; stats: { tasks: number; cachedSeeds: number }; label: string }> {
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await page.locator('[data-testid=seed-list] li[data-state=done]').waitFor({ timeout: 30_000 });
    const plan = (await page.getByTestId('plan-bytes').textContent({ timeout: 30_000 })) ?? '';
    const stats = await page.evaluate(() => {
      const marks = performance.getEntriesByName('tessera:scan-merged') as PerformanceMark[];
      return marks.at(-1)!.detail as { tasks: number; cachedSeeds: number };
    });
    const label = (await page.locator('[data-testid=seed-list] li').textContent()) ?? '';
    return { plan, stats, label };
  }

  it('does not read an unchanged seed again on the next visit, and plans the same', async () => {
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const first = await scanOnce(page);
    expect(first.stats).toMatchObject({ cachedSeeds: 0 });
    expect(first.stats.tasks).toBeGreaterThan(0);
    expect(first.plan).toMatch(/[\d,]+ bytes to fetch/);

    const second = await scanOnce(page); // a new visit in the same browser
    expect(second.stats).toEqual(expect.objectContaining({ tasks: 0, cachedSeeds: 1 }));
    expect(second.label).toContain('known from an earlier scan');
    expect(second.plan).toBe(first.plan);

    // A changed file (new last-modified time) is scanned again.
    await writeFile(env.seed, old);
    const third = await scanOnce(page);
    expect(third.stats).toMatchObject({ cachedSeeds: 0 });
    expect(third.stats.tasks).toBeGreaterThan(0);
    await context.close();
  });
});
