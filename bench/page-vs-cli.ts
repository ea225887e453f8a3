// The web page against `tessera get` on the same image pair, same server, same machine:
//   node scripts/run-ts.mjs bench/page-vs-cli.ts [--old FILE --new FILE] [--runs N] [--screenshots DIR]
// Default pair: the Debian corpus of bench/debian-corpus.sh (two ~680 MB ISOs).
// Prints wall seconds (medians), their ratio, and the main thread's long tasks
// (PerformanceObserver 'longtask') while the page scans.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { startStaticServer } from '../src/node/static-server.ts';
import { NO_SAVE_PICKER, SAVE_TO_OPFS, launchChromiumWithProfile } from '../test/helpers/browser.ts';
import { tempDir } from '../test/helpers/temp-dir.ts';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string' },
    runs: { type: 'string', default: '3' },
    screenshots: { type: 'string' },
  },
});
const corpus = process.env.TESSERA_CORPUS_DIR ?? join(homedir(), '.cache/tessera/corpus');
const oldImage = resolve(values.old ?? join(corpus, 'old.iso'));
const newImage = resolve(values.new ?? join(corpus, 'new.iso'));
if (!existsSync(oldImage) || !existsSync(newImage)) {
  console.error(`missing ${oldImage} or ${newImage}: build the corpus with bash bench/debian-corpus.sh, or give --old and --new`);
  process.exit(2);
}
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await tempDir('tessera-bench-');
const www = join(dir.path, 'www');
const site = join(dir.path, 'site');
await mkdir(www);
await mkdir(site);
await symlink(newImage, join(www, 'new.iso'));
for (const entry of ['index.html', 'assets', 'favicon.svg']) await symlink(resolve('dist/web', entry), join(site, entry));
let served = 0;
const mirror = await startStaticServer({ root: www, onRequest: (r) => (served += r.path === '/new.iso' ? r.bytesSent : 0) });
const page = await startStaticServer({ root: site });
// Asynchronous: this process also runs the HTTP servers the CLI talks to.
const cli = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, ['bin/tessera.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
const made = await cli(['make', join(www, 'new.iso'), '-o', join(www, 'new.iso.tessera')]);
if (made.status !== 0) throw new Error(made.stderr);
const manifestUrl = `${mirror.url}new.iso.tessera`;
const size = (await stat(newImage)).size;

async function runCli(): Promise<{ seconds: number; fetched: number }> {
  const out = join(dir.path, 'cli.iso');
  await rm(out, { force: true });
  served = 0;
  const t = performance.now();
  const r = await cli(['get', manifestUrl, '--seed', oldImage, '-o', out, '--json']);
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`tessera get failed: ${r.stderr}`);
  console.log('  cli assembly timings (ms):', JSON.stringify(JSON.parse(r.stdout.trim().split('\n').at(-1)!).timings));
  await rm(out, { force: true });
  return { seconds, fetched: served };
}

type OutputMode = 'save-as' | 'opfs';
let browserVersion = '';

/**
 * One page run in a fresh browser profile on disk. 'save-as': the user's
 * "Save as" (a writable stream; pickers cannot be driven headlessly, so it
 * returns a file in the site's storage); 'opfs': a browser without the save
 * picker, where the page builds in the site's storage and offers the file.
 */
async function runPage(mode: OutputMode, shots?: string): Promise<{ seconds: number; scanSeconds: number; fetched: number; longTasks: number[] }> {
  const profile = join(dir.path, `profile-${Date.now()}`);
  const context = await launchChromiumWithProfile(profile);
  browserVersion = context.browser()?.version() ?? browserVersion;
  await context.addInitScript(mode === 'save-as' ? SAVE_TO_OPFS : NO_SAVE_PICKER);
  await context.addInitScript(`
    window.__longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  `);
  const tab = context.pages()[0] ?? (await context.newPage());
  const shot = async (name: string) => shots && tab.screenshot({ path: join(shots, name), fullPage: true });
  served = 0;
  const t = performance.now();
  await tab.goto(`${page.url}?manifest=${encodeURIComponent(manifestUrl)}`);
  await tab.getByTestId('image-name').waitFor();
  await tab.getByTestId('mirror').getByText('Range and CORS work').waitFor();
  await shot('1-image.png');
  const tLoaded = performance.now();
  const scanStart = await tab.evaluate(() => performance.now());
  await tab.getByTestId('seed-files').setInputFiles(oldImage);
  if (shots) {
    await tab.locator('[data-testid=seed-list] li[data-state=scanning]').waitFor();
    await shot('2-scanning.png');
  }
  await tab.locator('[data-testid=seed-list] li[data-state=done]').waitFor({ timeout: 600_000 });
  await tab.getByTestId('start').waitFor();
  const scanEnd = await tab.evaluate(() => performance.now());
  await shot('3-plan.png');
  const tPlanned = performance.now();
  await tab.getByTestId('start').click();
  if (shots) {
    await tab.getByTestId('progress').waitFor();
    await tab.waitForTimeout(1500);
    await shot('4-progress.png');
  }
  await tab.getByTestId('result').waitFor({ timeout: 600_000 });
  const seconds = (performance.now() - t) / 1000;
  await shot('5-verified.png');
  const marks = await tab.evaluate(() =>
    performance
      .getEntriesByType('mark')
      .filter((m) => m.name.startsWith('tessera:'))
      .map((m) => `${m.name.slice(8)} ${m.startTime.toFixed(0)}${(m as PerformanceMark).detail ? ` ${JSON.stringify((m as PerformanceMark).detail)}` : ''}`),
  );
  console.log(`  page marks (ms since load): ${marks.join(', ')}; seeds given at ${scanStart.toFixed(0)}`);
  console.log(`  page timeline: loaded ${((tLoaded - t) / 1000).toFixed(2)} s, planned ${((tPlanned - t) / 1000).toFixed(2)} s, verified ${seconds.toFixed(2)} s`);
  console.log('  page assembly timings (ms):', await tab.getByTestId('result-figures').getAttribute('data-timings'));
  const tasks: { start: number; duration: number }[] = await tab.evaluate(() => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks);
  const longTasks = tasks.filter((x) => x.start >= scanStart && x.start <= scanEnd).map((x) => x.duration);
  await context.close();
  await rm(profile, { recursive: true, force: true });
  return { seconds, scanSeconds: (scanEnd - scanStart) / 1000, fetched: served, longTasks };
}

try {
  if (values.screenshots) await mkdir(values.screenshots, { recursive: true });
  const cliRuns: { seconds: number; fetched: number }[] = [];
  const pageRuns: Record<OutputMode, Awaited<ReturnType<typeof runPage>>[]> = { 'save-as': [], opfs: [] };
  for (let i = 0; i < runs; i++) {
    cliRuns.push(await runCli());
    console.log(`run ${i + 1}: tessera get ${cliRuns.at(-1)!.seconds.toFixed(2)} s`);
    for (const mode of ['opfs', 'save-as'] as const) {
      const p = await runPage(mode, i === 0 && mode === 'save-as' ? values.screenshots : undefined);
      pageRuns[mode].push(p);
      console.log(`run ${i + 1}: page (${mode}) ${p.seconds.toFixed(2)} s (scan ${p.scanSeconds.toFixed(2)} s, ${p.longTasks.filter((d) => d > 100).length} tasks > 100 ms while scanning)`);
    }
  }
  const cliS = median(cliRuns.map((r) => r.seconds));
  const all = [...pageRuns.opfs, ...pageRuns['save-as']].flatMap((r) => r.longTasks);
  console.log(`\nImage ${newImage} (${(size / 1e6).toFixed(0)} MB) from seed ${oldImage}; ${runs} runs each, alternating; Chromium ${browserVersion}, profile on disk`);
  console.log('                              wall s (median)   ratio to get   fetched bytes');
  console.log(`tessera get                   ${cliS.toFixed(2).padStart(8)}                         ${median(cliRuns.map((r) => r.fetched))}`);
  for (const mode of ['opfs', 'save-as'] as const) {
    const s = median(pageRuns[mode].map((r) => r.seconds));
    const label = mode === 'opfs' ? 'page, site storage (OPFS)' : 'page, "Save as" (writable)';
    console.log(`${label.padEnd(30)}${s.toFixed(2).padStart(8)}         ${(s / cliS).toFixed(2).padStart(6)}          ${median(pageRuns[mode].map((r) => r.fetched))}`);
  }
  console.log('(target: page <= 1.5x tessera get; page bytes include the 1-byte mirror probe)');
  console.log(`main-thread tasks > 100 ms while scanning: ${all.filter((d) => d > 100).length} in ${2 * runs} page runs (longest task seen: ${all.length ? Math.max(...all).toFixed(0) : 0} ms; ${all.length} tasks over 50 ms)`);
} finally {
  await mirror.close();
  await page.close();
  await dir.remove();
}
