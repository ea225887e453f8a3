// The page's scan of a seed, first time and again (the scan cache), on a large seed:
//   node scripts/run-ts.mjs bench/scan-cache.ts [--old FILE --new FILE] [--runs N]
// Prints the scan phase's milliseconds (performance marks tessera:scan-start / scan-merged).
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startStaticServer } from '../src/node/static-server.ts';
import { launchChromiumWithProfile } from '../test/helpers/browser.ts';
import { runCli } from '../test/helpers/run-cli.ts';
import { tempDir } from '../test/helpers/temp-dir.ts';
import { CORPUS_DIR } from './lib/inputs.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({ options: { old: { type: 'string' }, new: { type: 'string' }, runs: { type: 'string', default: '3' } } });
const oldImage = resolve(values.old ?? join(CORPUS_DIR, 'old.iso'));
const newImage = resolve(values.new ?? join(CORPUS_DIR, 'new.iso'));

const dir = await tempDir('tessera-bench-');
await mkdir(join(dir.path, 'www'));
await mkdir(join(dir.path, 'site'));
await symlink(newImage, join(dir.path, 'www', 'new.iso'));
for (const entry of ['index.html', 'assets', 'favicon.svg', 'sw.js', 'manifest.webmanifest']) await symlink(resolve('dist/web', entry), join(dir.path, 'site', entry));
const mirror = await startStaticServer({ root: join(dir.path, 'www') });
const site = await startStaticServer({ root: join(dir.path, 'site') });
const made = await runCli(['make', join(dir.path, 'www', 'new.iso')]);
if (made.code !== 0) throw new Error(made.stderr);
const address = `${site.url}?manifest=${encodeURIComponent(mirror.url + 'new.iso.tessera')}`;

const first: number[] = [];
const second: number[] = [];
try {
  for (let run = 0; run < Number(values.runs); run++) {
    const profile = join(dir.path, `profile-${run}`);
    const context = await launchChromiumWithProfile(profile);
    const page = context.pages()[0] ?? (await context.newPage());
    for (const times of [first, second]) {
      await page.goto(address);
      await page.getByTestId('image-name').waitFor();
      await page.getByTestId('seed-files').setInputFiles(oldImage);
      await page.locator('[data-testid=seed-list] li[data-state=done]').waitFor({ timeout: 600_000 });
      await page.getByTestId('start').waitFor();
      const ms = await page.evaluate(() => {
        const start = performance.getEntriesByName('tessera:scan-start').at(-1)!.startTime;
        const end = performance.getEntriesByName('tessera:scan-merged').at(-1)!.startTime;
        return end - start;
      });
      times.push(ms);
    }
    await context.close();
    await rm(profile, { recursive: true, force: true });
    console.log(`run ${run + 1}: first scan ${first.at(-1)!.toFixed(0)} ms, second ${second.at(-1)!.toFixed(0)} ms`);
  }
  console.log(`\nSeed ${oldImage}; scan phase, medians of ${first.length}:`);
  console.log(`  first visit   ${median(first).toFixed(0)} ms`);
  console.log(`  second visit  ${median(second).toFixed(0)} ms  (${((100 * median(second)) / median(first)).toFixed(1)}% of the first; target < 10%)`);
} finally {
  await mirror.close();
  await site.close();
  await dir.remove();
}
