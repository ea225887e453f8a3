import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { encodeManifest } from '../../src/core/manifest/encode-manifest.ts';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS } from '../helpers/browser.ts';
import { memorySeed } from '../helpers/memory-seed.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';

const MiB = 1 << 20;
const SEGMENT = 16 * MiB;
const sha256 = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

// The page verifies an image whose manifest has SHA-256 checkpoints segment by
// segment on several hash workers (src/web/engine/output-client.ts).
describe('the page checks the SHA-256 in segments, from the manifest checkpoints', () => {
  // 4 segments of 16 MiB (the last one short); the old image holds all but 2 MiB of it.
  const next = randomBytes(3 * SEGMENT + 5 * MiB + 123, 41);
  const env = usePageFixture(next, { seed: concat([next.subarray(0, 20 * MiB), randomBytes(2 * MiB, 42), next.subarray(22 * MiB)]) });

  beforeAll(async () => {
    // Three checkpoints, 16 MiB apart (made here, not by the command line, whose segment size may change).
    const manifest = await makeManifest(memorySeed('new.img', next), { mirrors: ['new.img'], segmentBytes: SEGMENT });
    expect(manifest.sha256Chain!.states).toHaveLength(3);
    await writeFile(join(env.fixture.www, 'new.img.tessera'), await encodeManifest(manifest));
    // The same manifest with a made-up checkpoint at 32 MiB: the segment ending there fails first.
    const states = [...manifest.sha256Chain!.states];
    states[1] = '5a'.repeat(32);
    await writeFile(join(env.fixture.www, 'forged.img.tessera'), await encodeManifest({ ...manifest, sha256Chain: { segmentBytes: SEGMENT, states } }));
  });

  async function rebuild(manifestName: string): Promise<Page> {
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS);
    const page = await context.newPage();
    await page.goto(`${env.fixture.pageUrl}?manifest=${encodeURIComponent(env.fixture.mirrorUrl + manifestName)}`);
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await page.getByTestId('start').click();
    await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout: 60_000 });
    return page;
  }
  /** Bytes in the file the user chose ("Save as" returns an empty file in the site's storage, as the picker would create it). */
  const outputBytes = (page: Page) =>
    page.evaluate(async () => (await (await (await navigator.storage.getDirectory()).getFileHandle('new.img')).getFile()).size);

  it('rebuilds and verifies the image, checking 4 segments on several threads', async () => {
    const page = await rebuild('new.img.tessera');
    expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(next));
    expect(await page.getByTestId('result-figures').textContent()).toMatch(/SHA-256 checked in 4 segments on [2-4] threads/);
    const shaOfFile = await page.evaluate(async () => {
      const file = await (await (await navigator.storage.getDirectory()).getFileHandle('new.img')).getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    });
    expect(shaOfFile).toBe(sha256(next));
    await page.context().close();
  });

  it('refuses the image when a checkpoint is wrong, naming the bytes, and leaves the chosen file empty', async () => {
    const page = await rebuild('forged.img.tessera');
    const error = (await page.getByTestId('error').textContent()) ?? '';
    expect(error).toContain(`bytes ${SEGMENT}-${2 * SEGMENT - 1} of the rebuilt image do not hash to the manifest's SHA-256 checkpoint`);
    expect(await outputBytes(page)).toBe(0); // the writable stream was aborted: nothing unverified reached the file
    await page.context().close();
  });
});
