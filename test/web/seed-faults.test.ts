import { open, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { concat, randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { SAVE_TO_OPFS } from '../helpers/browser.ts';
import { recordFaultOutcome } from '../helpers/fault-results.ts';
import { usePageFixture } from '../helpers/page-fixture.ts';
import { expectImageBuilt, openImagePage, opfsFileSha256, rangeLength, rangeRequests, readPlan, reportFreeSpace, runDownload, sha256, useFaultPage } from '../helpers/fault-page.ts';

/**
 * 24 chunks of 128 KiB. Seed A holds the even chunks of the first half, seed
 * B those of the second half; the odd chunks are fetched (12 ranges).
 */
const CHUNK = 128 << 10;
const chunks = Array.from({ length: 24 }, (_, i) => randomBytes(CHUNK, 7100 + i));
const image = concat(chunks);
const seedA = concat(chunks.filter((_, i) => i % 2 === 0 && i < 12));
const seedB = concat(chunks.filter((_, i) => i % 2 === 0 && i >= 12));

const changes = [
  { change: 'deleted', act: (path: string) => rm(path) },
  {
    change: 'rewritten',
    // Other content of the same size, with a new modification time (as any editor or download would leave).
    act: async (path: string) => {
      await writeFile(path, randomBytes(seedB.length, 7999));
      const later = new Date(Date.now() + 5_000);
      await utimes(path, later, later);
    },
  },
];

describe('a seed that becomes unreadable after the scan, in the page', () => {
  const env = useFaultPage(image, 1);

  /** Pick seeds A and B, wait for the plan, change B on disk, build: what the page showed and the mirror sent. */
  async function buildAfterChange(change: string, act: (path: string) => Promise<void>, init: string) {
    const [mirror] = env.fixture.mirrors;
    const from = mirror.requests.length;
    const { context, page, errors } = await openImagePage(env.browser, env.fixture.address, init);
    const a = await env.fixture.seedFile(`a-${change}.img`, seedA);
    const b = await env.fixture.seedFile(`b-${change}.img`, seedB);
    await page.getByTestId('seed-files').setInputFiles([a, b]);
    const plan = await readPlan(page);
    expect(plan).toEqual({ bytes: 12 * CHUNK, requests: 12 });
    await act(b);
    const { ok, text } = await runDownload(page);
    expect(ok, text).toBe(true);
    await expectImageBuilt(page, image);
    const fetched = rangeRequests({ ...mirror, requests: mirror.requests.slice(from) });
    expect(fetched.every((r) => r.behaviour === 'ok')).toBe(true);
    const sent = mirror.requests.slice(from).reduce((n, r) => n + r.bytesSent, 0);
    const skipped = page.locator('[data-testid=seed-list] li[data-state=skipped]');
    return { context, page, errors, plan, fetched, sent, skipped, b: `b-${change}.img` };
  }

  it.each(changes)("$change, while the scan's copy of its blocks is kept: not needed again, nothing more fetched", async ({ change, act }) => {
    const { context, page, errors, plan, sent, skipped } = await buildAfterChange(change, act, SAVE_TO_OPFS);
    // The scan wrote the blocks it found into the image file in the site's storage; the seeds are not read again.
    expect(Number(await page.getByTestId('result-from-scan').getAttribute('data-bytes'))).toBe(seedA.length + seedB.length);
    expect(await skipped.count()).toBe(0);
    expect(sent).toBe(1 + plan.bytes);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: `a picked seed file is ${change} after the scan, before the download`,
      cases: 1,
      outcome: 'not needed: the blocks the scan found were kept in the site storage; image verified, bytes = plan',
    });
  });

  it.each(changes)("$change, with no room to keep the scan's copy: skipped with a warning naming it, its part fetched instead", async ({ change, act }) => {
    const { context, page, errors, plan, fetched, sent, skipped, b } = await buildAfterChange(change, act, SAVE_TO_OPFS + reportFreeSpace(image.length / 2));
    expect(await page.getByTestId('result-from-scan').count()).toBe(0); // the seeds were read again
    // The seed list says which file was skipped and why; the other is used.
    expect(await skipped.count()).toBe(1);
    const note = (await skipped.textContent()) ?? '';
    expect(note).toContain(b);
    expect(note).toMatch(change === 'deleted' ? /the file is gone; it was removed or moved after you picked it/ : /could not be read; it changed or was removed after you picked it/);
    // The result says it too.
    expect(await page.getByTestId('result-skipped').textContent()).toContain(b);
    // What seed B would have given (its 6 chunks) was fetched, in whole ranges; nothing else beyond the plan.
    expect(fetched.reduce((n, r) => n + rangeLength(r.range), 0)).toBe(plan.bytes + seedB.length);
    expect(sent).toBe(1 + plan.bytes + seedB.length);
    expect(await page.getByTestId('result-figures').textContent()).toContain(`${fetched.length} requests`);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: `a picked seed file is ${change} after the scan, before the download (no room to keep the scan's copy)`,
      cases: 1,
      outcome: `seed skipped with a warning naming it (seed list and result); the ${seedB.length} bytes it would have given fetched too (${fetched.length} requests in all, merged from the plan's ${plan.requests} and its part); image verified`,
    });
  });
});

describe('a seed that changes on disk while it is scanned, in the page', () => {
  const env = useFaultPage(image, 1);

  it('is skipped with a warning naming it, what it held is fetched, and the image is verified', async () => {
    // 320 MB (5 scan slices of 64 MB; 2 workers here), sparse, with the image's even chunks in its last MB:
    // changed after the first slices started, the later ones cannot be read.
    const path = join(env.fixture.dir, 'big-old.img');
    const file = await open(path, 'w');
    await file.truncate(320 << 20);
    await file.write(seedA, 0, seedA.length, (320 << 20) - seedA.length - seedB.length);
    await file.write(seedB, 0, seedB.length, (320 << 20) - seedB.length);
    await file.close();
    const [mirror] = env.fixture.mirrors;
    const from = mirror.bytesSent;
    const { context, page, errors } = await openImagePage(env.browser, env.fixture.address);
    await page.getByTestId('seed-files').setInputFiles(path);
    const seedRow = page.locator('[data-testid=seed-list] li').first();
    const scanned = () => seedRow.locator('progress').evaluate((p: HTMLProgressElement) => p.value);
    await expect.poll(scanned, { timeout: 20_000, interval: 20 }).toBeGreaterThan(0);
    const later = new Date(Date.now() + 5_000);
    await utimes(path, later, later); // what any write to the file does
    const stateWhenChanged = await seedRow.getAttribute('data-state');

    const plan = await readPlan(page);
    expect(stateWhenChanged).toBe('scanning'); // it really changed during the scan
    expect(await seedRow.getAttribute('data-state')).toBe('skipped');
    const note = (await seedRow.textContent()) ?? '';
    expect(note).toContain('skipped: big-old.img: the file could not be read; it changed or was removed after you picked it');
    // Nothing from the changed file is trusted: its blocks, even those read before the change, are fetched.
    expect(plan.bytes).toBe(image.length);
    const { ok, text } = await runDownload(page);
    expect(ok, text).toBe(true);
    expect(await opfsFileSha256(page, 'image.iso')).toEqual({ sha256: sha256(image), size: image.length });
    expect(mirror.bytesSent - from).toBe(1 + plan.bytes);
    expect(errors).toEqual([]);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: 'a seed file changes on disk while it is being scanned',
      cases: 1,
      outcome: 'seed skipped with a warning naming it before the plan; none of its blocks used; the whole image fetched (bytes = plan) and verified',
    });
  });
});

describe("a seed changed during the download, with no room to keep the scan's copy, in the page", () => {
  // The image's first 2 MB are fetched (at 1 MB/s, ~2 s), the 32 MB after them are the seed. While
  // the first 2 MB arrive, the assembly reads the seed's first 4 MB run and its reader 16 MB beyond;
  // the seed's last 8 MB are overwritten meanwhile, so they no longer match when their turn comes.
  // (A deleted seed stays readable once its stream is open, as files do on Linux; with the scan's
  // copy of its blocks in the site's storage, the seed would not be read again at all.)
  const part = randomBytes(32 << 20, 7301);
  const image = concat([randomBytes(2 << 20, 7302), part]);
  const env = usePageFixture(image, { mirrorRate: 1 << 20, seed: part });

  it('fetches the changed part instead, says so in the result, and the image is verified', async () => {
    const ranges = () => env.fixture.requests.filter((r) => r.path === '/new.img');
    const context = await env.browser.newContext();
    await context.addInitScript(SAVE_TO_OPFS + reportFreeSpace(image.length / 2));
    const page = await context.newPage();
    await page.goto(env.fixture.address);
    await page.getByTestId('image-name').waitFor();
    await page.getByTestId('seed-files').setInputFiles(env.seed);
    await page.getByTestId('start').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('plan-bytes').textContent()).toContain(`${(2 << 20).toLocaleString('en')} bytes to fetch`);
    await page.getByTestId('start').click();
    // Downloading has begun (the seeds were checked before it), and the seed is not read yet.
    await expect.poll(async () => /([\d.]+) MB of/.exec((await page.getByTestId('progress').textContent().catch(() => '')) ?? '')?.[1] ?? '0', { timeout: 20_000, interval: 50 }).not.toBe('0');
    const handle = await open(env.seed, 'r+');
    await handle.write(randomBytes(8 << 20, 7303), 0, 8 << 20, 24 << 20);
    await handle.close();
    await page.getByTestId('result').waitFor({ timeout: 60_000 });
    await expectImageBuilt(page, image, 'new.img');
    // At least the overwritten 8 MB (4,096 blocks of 2 KiB; more if the browser refuses to read the
    // changed file at all), not what was read before: said in the result, and exactly those fetched.
    const repaired = Number(/([\d,]+) blocks of your files could not be read again/.exec((await page.getByTestId('result-repaired').textContent()) ?? '')![1].replace(/,/g, ''));
    expect(repaired).toBeGreaterThanOrEqual(4096);
    expect(repaired).toBeLessThanOrEqual((28 << 20) / 2048); // never the first run, read before the change
    const sent = ranges().map((r) => r.bytesSent);
    expect(sent.slice(0, 2)).toEqual([1, 2 << 20]);
    expect(sent.slice(2).reduce((a, b) => a + b, 0)).toBe(repaired * 2048);
    await context.close();
    recordFaultOutcome(import.meta.url, {
      surface: 'page',
      fault: "a seed file is overwritten during the download, before the page reads that part (no room to keep the scan's copy)",
      cases: 1,
      outcome: 'the changed part fetched instead (at least its 4,096 blocks, exactly what the result says); image verified',
    });
  });
});
