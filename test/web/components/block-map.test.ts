// The block map as the user sees it: the canvas's pixels after the plan and after the build.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { NO_SAVE_PICKER } from '../../helpers/browser.ts';
import { usePageFixture } from '../../helpers/page-fixture.ts';

const MiB = 1 << 20;
// The colours of src/web/components/BlockMap.tsx, as the key under the map shows them.
const LOCAL = [76, 139, 245, 255];
const MISSING = [203, 208, 216, 255];
const WRITTEN = [46, 160, 67, 255];

/** The map's colours, cell by cell in reading order, with how many cells in a row have each. */
async function mapRuns(page: Page): Promise<{ rgba: number[]; cells: number }[]> {
  const pixels = await page.getByTestId('block-map').evaluate((canvas: HTMLCanvasElement) => Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data));
  const runs: { rgba: number[]; cells: number }[] = [];
  for (let i = 0; i < pixels.length; i += 4) {
    const rgba = pixels.slice(i, i + 4);
    const last = runs.at(-1);
    if (last && last.rgba.every((v, j) => v === rgba[j])) last.cells++;
    else runs.push({ rgba, cells: 1 });
  }
  return runs;
}

describe('the block map', () => {
  // The first 6 MiB of the image are in the user's file, the last 2 MiB are not.
  const image = randomBytes(8 * MiB, 61);
  const env = usePageFixture(image, { seed: concat([image.subarray(0, 6 * MiB), randomBytes(2 * MiB, 62)]) });

  it('shows the part found in the user file and the part missing after the plan, and all of it written and verified at the end', async () => {
    const context = await env.browser.newContext();
    await context.addInitScript(NO_SAVE_PICKER);
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await page.locator('[data-testid=start]:enabled').waitFor({ timeout: 60_000 });
    const cells = await page.getByTestId('block-map').evaluate((canvas: HTMLCanvasElement) => canvas.width * canvas.height);
    // Found: the first three quarters of the cells; missing: the rest.
    await expect.poll(() => mapRuns(page), { timeout: 10_000 }).toEqual([
      { rgba: LOCAL, cells: (cells * 3) / 4 },
      { rgba: MISSING, cells: cells / 4 },
    ]);
    await page.getByTestId('start').click();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    await expect.poll(() => mapRuns(page), { timeout: 10_000 }).toEqual([{ rgba: WRITTEN, cells }]);
    await context.close();
  });
});
