import { createHash } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { SAVE_TO_OPFS, launchChromium } from './browser.ts';
import { type Behaviour, type FaultServer, type FaultServerOptions, startFaultServer } from './fault-server.ts';
import { runCli } from './run-cli.ts';
import { tempDir } from './temp-dir.ts';

/** A fault server whose behaviour the test can change between (and during) downloads. */
export interface FaultMirror extends FaultServer {
  /** From now on, answer request n (counted from the server's first request) with choose(n). */
  behave(choose: (n: number) => Behaviour): void;
  /** The server's options, read per request: set `changed` (counted from its first request) or `cors` for what follows. */
  options: FaultServerOptions;
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * The built page on one origin, serving a manifest of `image` (image.iso)
 * whose mirrors are `mirrors` fault servers, each on an origin of its own
 * (reached through CORS, as real mirrors are). Every mirror starts 'ok'.
 */
export async function startFaultPage(image: Uint8Array, mirrors: number) {
  const dir = await tempDir();
  const site = join(dir.path, 'site');
  await mkdir(site);
  const build = resolve('dist/web');
  for (const entry of await readdir(build)) await symlink(join(build, entry), join(site, entry));
  const page: RunningServer = await startStaticServer({ root: site });
  const servers: FaultMirror[] = [];
  for (let i = 0; i < mirrors; i++) {
    let choose: (n: number) => Behaviour = () => 'ok';
    const options: FaultServerOptions = {};
    const server = await startFaultServer(image, (n) => choose(n), options);
    servers.push(Object.assign(server, { behave: (c: (n: number) => Behaviour) => void (choose = c), options }));
  }
  const imagePath = join(dir.path, 'image.iso');
  await writeFile(imagePath, image);
  const made = await runCli(['make', imagePath, '-o', join(site, 'image.iso.tessera'), ...servers.flatMap((s) => ['--url', s.url])]);
  if (made.code !== 0) throw new Error(`tessera make failed: ${made.stderr}`);
  return {
    dir: dir.path,
    mirrors: servers,
    /** The page's address, opening the image's manifest. */
    address: `${page.url}?manifest=${encodeURIComponent(`${page.url}image.iso.tessera`)}`,
    /** Write a file the user would pick (beside the site, not served). */
    async seedFile(name: string, data: Uint8Array): Promise<string> {
      const path = join(dir.path, name);
      await writeFile(path, data);
      return path;
    },
    async close() {
      await Promise.all([page.close(), ...servers.map((s) => s.close())]);
      await dir.remove();
    },
  };
}

/** For a describe block: the fault page fixture and a headless Chromium, started before its tests. */
export function useFaultPage(image: Uint8Array, mirrors: number) {
  const env = {} as { fixture: Awaited<ReturnType<typeof startFaultPage>>; browser: Browser };
  beforeAll(async () => {
    env.fixture = await startFaultPage(image, mirrors);
    env.browser = await launchChromium();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.fixture?.close();
  });
  return env;
}

/**
 * An init script: navigator.storage.estimate() reports `free` bytes left for
 * the site when the page first asks, and less as the site stores more (a
 * fixed quota, as a browser with a nearly full disk would report; Chromium
 * 156 always reports 10 GiB). With less than the image, the page has no room
 * for the image file its scan writes into.
 */
export const reportFreeSpace = (free: number) => `
  {
    const real = navigator.storage.estimate.bind(navigator.storage);
    let quota;
    navigator.storage.estimate = async () => {
      const e = await real();
      quota ??= (e.usage ?? 0) + ${free};
      return { ...e, quota };
    };
  }
`;

/** A fresh browser context (its own OPFS and IndexedDB) whose "Save as" saves into OPFS. */
export async function openImagePage(browser: Browser, address: string, init = SAVE_TO_OPFS): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext();
  await context.addInitScript(init);
  return { context, ...(await visitImagePage(context, address)) };
}

/** A new page of `context` (so with its storage: a later visit) at `address`, once it shows the image; `errors` collects its uncaught errors. */
export async function visitImagePage(context: BrowserContext, address: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(address);
  await expect.poll(() => page.getByTestId('image-name').textContent(), { timeout: 20_000 }).toBe('image.iso');
  return { page, errors };
}

/** Open the page, give it `seed` as "seed.img" and check that the plan is `plan`. */
export async function openWithSeed(env: ReturnType<typeof useFaultPage>, seed: Uint8Array, plan: { bytes: number; requests: number }, init = SAVE_TO_OPFS) {
  const opened = await openImagePage(env.browser, env.fixture.address, init);
  await opened.page.getByTestId('seed-files').setInputFiles(await env.fixture.seedFile('seed.img', seed));
  expect(await readPlan(opened.page)).toEqual(plan);
  return opened;
}

/** Wait for the plan; the bytes it will fetch and the requests it will make, as the page shows them. */
export async function readPlan(page: Page): Promise<{ bytes: number; requests: number }> {
  await page.getByTestId('start').waitFor({ timeout: 30_000 });
  const text = (await page.getByTestId('plan-bytes').textContent()) ?? '';
  const summary = (await page.getByTestId('plan-summary').textContent()) ?? '';
  const bytes = /([\d,]+) bytes to fetch/.exec(text);
  expect(bytes, `plan text: ${text}`).not.toBeNull();
  const requests = /in (\d+) requests?/.exec(summary);
  return { bytes: Number(bytes![1].replace(/,/g, '')), requests: requests ? Number(requests[1]) : 0 };
}

/** Press start and wait for the verified result or the error; returns what the page shows. */
export async function runDownload(page: Page, timeout = 60_000): Promise<{ ok: boolean; text: string }> {
  await page.getByTestId('start').click();
  await page.locator('[data-testid=result], [data-testid=error]').first().waitFor({ timeout });
  const ok = (await page.getByTestId('result').count()) > 0;
  return { ok, text: (await page.getByTestId(ok ? 'result' : 'error').textContent()) ?? '' };
}

/** The SHA-256 of a file in the page's private storage (OPFS root), or null if there is none. */
export function opfsFileSha256(page: Page, name: string): Promise<{ sha256: string; size: number } | null> {
  return page.evaluate(async (name) => {
    const root = await navigator.storage.getDirectory();
    const handle = await root.getFileHandle(name).catch(() => null);
    if (!handle) return null;
    const file = await handle.getFile();
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    return { sha256: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join(''), size: file.size };
  }, name);
}

/**
 * The records of the page's partial work in OPFS (tessera-partial/): data logs
 * (*.log: 12-byte headers, start as two u32 and length, then the bytes), and
 * range logs (*.ranges: the image file's name, then such headers alone, the
 * bytes being in that image file at their place); each as start, length and
 * the SHA-256 of its bytes where they are kept (a range log's image file gone:
 * nothing).
 */
export function partialRecords(page: Page): Promise<{ start: number; length: number; sha256: string }[]> {
  return page.evaluate(async () => {
    const out: { start: number; length: number; sha256: string }[] = [];
    const hex = async (bytes: Uint8Array<ArrayBuffer>) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('tessera-partial').catch(() => null);
    if (!dir) return out;
    for await (const handle of (dir as unknown as { values(): AsyncIterable<FileSystemFileHandle> }).values()) {
      // (The page may delete a log meanwhile: a range log whose image file is gone, say.)
      const data = await handle
        .getFile()
        .then((file) => file.arrayBuffer())
        .catch(() => null);
      if (!data) continue;
      const bytes = new Uint8Array(data);
      const view = new DataView(bytes.buffer);
      if (handle.name.endsWith('.ranges')) {
        const nameLength = view.getUint32(0, true);
        const imageFile = await root.getFileHandle(new TextDecoder().decode(bytes.subarray(4, 4 + nameLength))).catch(() => null);
        if (!imageFile) continue;
        const image = await imageFile.getFile();
        for (let at = 4 + nameLength; at + 12 <= bytes.length; at += 12) {
          const start = view.getUint32(at, true) * 2 ** 32 + view.getUint32(at + 4, true);
          const length = view.getUint32(at + 8, true);
          const kept = await image.slice(start, start + length).arrayBuffer().catch(() => null);
          if (kept) out.push({ start, length, sha256: await hex(new Uint8Array(kept)) });
        }
        continue;
      }
      for (let at = 0; at + 12 <= bytes.length; ) {
        const start = view.getUint32(at, true) * 2 ** 32 + view.getUint32(at + 4, true);
        const length = view.getUint32(at + 8, true);
        if (length === 0 || at + 12 + length > bytes.length) break;
        out.push({ start, length, sha256: await hex(bytes.subarray(at + 12, at + 12 + length)) });
        at += 12 + length;
      }
    }
    return out;
  });
}

/** Bytes of a request's Range header (bytes=a-b), 0 without one. */
export function rangeLength(range: string | undefined): number {
  const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
  return m ? Number(m[2]) - Number(m[1]) + 1 : 0;
}

/** The range requests a mirror got, without its 1-byte checks (bytes=0-0) made when the page opens the image. */
/** The image was built and verified: the page shows its SHA-256, and the file `name` in the browser storage holds exactly the image. */
export async function expectImageBuilt(page: Page, image: Uint8Array, name = 'image.iso'): Promise<void> {
  expect(await page.getByTestId('result-checksum').textContent()).toBe(sha256(image));
  expect(await opfsFileSha256(page, name)).toEqual({ sha256: sha256(image), size: image.length });
}

export const rangeRequests = (mirror: FaultServer) => mirror.requests.filter((r) => r.range !== 'bytes=0-0');

/** Bytes covered by the union of [start, start + length) pieces. */
function covered(pieces: { start: number; length: number }[]): number {
  const sorted = pieces.map((p) => [p.start, p.start + p.length]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -1;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

/** Every record of the page's kept work holds `image`'s own bytes at its place (nothing corrupt kept as verified); the bytes it covers. */
export async function keptWork(page: Page, image: Uint8Array): Promise<number> {
  const records = await partialRecords(page);
  for (const r of records) expect(r.sha256, `kept bytes ${r.start}+${r.length}`).toBe(sha256(image.subarray(r.start, r.start + r.length)));
  return covered(records);
}
