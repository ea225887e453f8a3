import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { type RunningServer, type ServedRequest, startStaticServer } from '../../src/node/static-server.ts';
import { launchChromium } from './browser.ts';
import { runCli } from './run-cli.ts';
import { tempDir } from './temp-dir.ts';

/**
 * The built page on one origin and a "mirror" with `image` (as new.img, plus
 * its manifest made by the real command line) on another; every request to
 * either is counted.
 */
export async function startPageFixture(image: Uint8Array, options: { mirrorRate?: number } = {}) {
  const dir = await tempDir();
  const www = join(dir.path, 'www');
  const site = join(dir.path, 'site');
  await mkdir(www);
  await mkdir(site);
  await writeFile(join(www, 'new.img'), image);
  const build = resolve('dist/web');
  for (const entry of await readdir(build)) await symlink(join(build, entry), join(site, entry));
  const requests: ServedRequest[] = [];
  const page: RunningServer = await startStaticServer({ root: site, onRequest: (r) => requests.push(r) });
  const mirror: RunningServer = await startStaticServer({ root: www, rateBytesPerSecond: options.mirrorRate, onRequest: (r) => requests.push(r) });
  const made = await runCli(['make', join(www, 'new.img')]);
  if (made.code !== 0) throw new Error(`tessera make failed: ${made.stderr}`);
  return {
    dir: dir.path,
    /** The mirror's folder (new.img and new.img.tessera), for tests that publish more there. */
    www,
    pageUrl: page.url,
    mirrorUrl: mirror.url,
    requests,
    /** The page's address, opening the image's manifest. */
    address: `${page.url}?manifest=${encodeURIComponent(mirror.url + 'new.img.tessera')}`,
    async close() {
      await Promise.all([page.close(), mirror.close()]);
      await dir.remove();
    },
  };
}

/**
 * For a describe block: start the page fixture and a headless Chromium before
 * its tests and stop both after. `seed` is written as seed.img beside the
 * mirror's folder (a file the user would pick). Read the fields inside tests.
 */
export function usePageFixture(image: Uint8Array, options: { mirrorRate?: number; seed?: Uint8Array } = {}) {
  const env = {} as { fixture: Awaited<ReturnType<typeof startPageFixture>>; browser: Browser; seed: string };
  beforeAll(async () => {
    env.fixture = await startPageFixture(image, { mirrorRate: options.mirrorRate });
    env.seed = join(env.fixture.dir, 'seed.img');
    if (options.seed) await writeFile(env.seed, options.seed);
    env.browser = await launchChromium();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.fixture?.close();
  });
  return env;
}
