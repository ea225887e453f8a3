import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type RunningServer, type ServedRequest, startStaticServer } from '../../src/node/static-server.ts';
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
    requests,
    /** The page's address, opening the image's manifest. */
    address: `${page.url}?manifest=${encodeURIComponent(mirror.url + 'new.img.tessera')}`,
    async close() {
      await Promise.all([page.close(), mirror.close()]);
      await dir.remove();
    },
  };
}
