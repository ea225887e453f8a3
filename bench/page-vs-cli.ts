// The web page against `tessera get` on the same image pair, same server, same machine,
// with the page's own timeline (a focused tool; npm run bench has the full comparison):
//   node scripts/run-ts.mjs bench/page-vs-cli.ts [--old FILE --new FILE] [--runs N] [--modes opfs,save-as] [--screenshots DIR]
// Default pair: the Debian corpus of bench/debian-corpus.sh (two ~680 MB ISOs).
// Prints wall seconds (medians), their ratio, the page's performance marks and
// assembly timings, and the main thread's long tasks (PerformanceObserver 'longtask') while it scans.
import { existsSync } from 'node:fs';
import { mkdir, rm, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startNginx } from '../test/helpers/nginx.ts';
import { runCli } from '../test/helpers/run-cli.ts';
import { tempDir } from '../test/helpers/temp-dir.ts';
import { CORPUS_DIR } from './lib/inputs.ts';
import { type OutputMode, type PageRun, runPage, startPageSite } from './lib/page-run.ts';
import { median } from './lib/stats.ts';
import { TOOL } from './lib/tools.ts';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string' },
    runs: { type: 'string', default: '3' },
    screenshots: { type: 'string' },
    modes: { type: 'string', default: 'opfs,save-as' },
  },
});
const oldImage = resolve(values.old ?? join(CORPUS_DIR, 'old.iso'));
const newImage = resolve(values.new ?? join(CORPUS_DIR, 'new.iso'));
if (!existsSync(oldImage) || !existsSync(newImage)) {
  console.error(`missing ${oldImage} or ${newImage}: build the corpus with bash bench/debian-corpus.sh, or give --old and --new`);
  process.exit(2);
}
const runs = Number(values.runs);
const modes = values.modes.split(',') as OutputMode[];
if (modes.some((m) => m !== 'opfs' && m !== 'save-as')) {
  console.error(`--modes takes opfs, save-as or both (comma-separated), not ${values.modes}`);
  process.exit(2);
}

const dir = await tempDir('tessera-bench-');
const www = join(dir.path, 'www');
await mkdir(www);
await symlink(newImage, join(www, 'new.iso'));
const mirror = await startNginx(www, join(dir.path, 'nginx'), { cors: true });
const site = await startPageSite(join(dir.path, 'site'));
const made = await runCli(['make', join(www, 'new.iso'), '-o', join(www, 'new.iso.tessera')]);
if (made.code !== 0) throw new Error(made.stderr);
const manifestUrl = `${mirror.url}new.iso.tessera`;
const size = (await stat(newImage)).size;

async function runCliOnce(): Promise<{ seconds: number; fetched: number }> {
  const out = join(dir.path, 'cli.iso');
  await rm(out, { force: true });
  await mirror.resetLog();
  const t = performance.now();
  const r = await runCli(['get', manifestUrl, '--seed', oldImage, '-o', out, '--json']);
  const seconds = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`tessera get failed: ${r.stderr}`);
  console.log('  cli assembly timings (ms):', JSON.stringify(r.json().timings));
  await rm(out, { force: true });
  return { seconds, fetched: await mirror.bytesSent('/new.iso') };
}

async function runPageOnce(mode: OutputMode, shots?: string): Promise<PageRun & { fetched: number }> {
  await mirror.resetLog();
  const p = await runPage({ siteUrl: site.url, manifestUrl, seeds: [oldImage], mode, profileDir: join(dir.path, 'profile'), screenshots: shots, download: mode === 'opfs' });
  if (!p.ok) throw new Error(`the page failed: ${p.message}`);
  if (p.download && p.download.bytes !== size) throw new Error(`the browser downloaded ${p.download.bytes} bytes of the built image, not ${size}`);
  console.log(`  page marks (ms since load): ${p.marks.join(', ')}`);
  console.log(
    `  page timeline: loaded ${p.loadedAt.toFixed(2)} s, planned ${p.plannedAt.toFixed(2)} s, verified ${p.harnessSeconds.toFixed(2)} s as the driver saw it; ` +
      `by the page's clock ${p.seconds.toFixed(2)} s without the ${p.clickWaitSeconds?.toFixed(2)} s the plan waited for the click; browser CPU ${p.usage.cpu.toFixed(2)} s`,
  );
  console.log('  page assembly timings (ms):', p.assemblyTimings);
  console.log(`  browser CPU by thread (s): ${p.usage.threads.slice(0, 14).map((t) => `${t.name} ${t.cpu.toFixed(2)}`).join(', ')}`);
  return { ...p, fetched: await mirror.bytesSent('/new.iso') };
}

let browserVersion = '';
try {
  if (values.screenshots) await mkdir(values.screenshots, { recursive: true });
  const cliRuns: { seconds: number; fetched: number }[] = [];
  const pageRuns: Record<OutputMode, Awaited<ReturnType<typeof runPageOnce>>[]> = { 'save-as': [], opfs: [] };
  for (let i = 0; i < runs; i++) {
    cliRuns.push(await runCliOnce());
    console.log(`run ${i + 1}: tessera get ${cliRuns.at(-1)!.seconds.toFixed(2)} s`);
    for (const mode of modes) {
      const p = await runPageOnce(mode, i === 0 && mode === 'save-as' ? values.screenshots : undefined);
      browserVersion = p.browserVersion;
      pageRuns[mode].push(p);
      console.log(`run ${i + 1}: page (${mode}) ${p.seconds.toFixed(2)} s (scan ${p.scanSeconds.toFixed(2)} s, ${p.longTasks.filter((d) => d > 100).length} tasks > 100 ms while scanning)`);
    }
  }
  const cliS = median(cliRuns.map((r) => r.seconds));
  const all = [...pageRuns.opfs, ...pageRuns['save-as']].flatMap((r) => r.longTasks);
  console.log(`\nImage ${newImage} (${(size / 1e6).toFixed(0)} MB) from seed ${oldImage}; ${runs} runs each, alternating; Chromium ${browserVersion}, profile on disk; mirror: nginx`);
  console.log('                                            wall s (median)   ratio to get   fetched bytes');
  console.log(`${'tessera get'.padEnd(44)}${cliS.toFixed(2).padStart(8)}                         ${median(cliRuns.map((r) => r.fetched))}`);
  for (const mode of modes) {
    const s = median(pageRuns[mode].map((r) => r.seconds));
    console.log(`${TOOL[mode === 'opfs' ? 'page-opfs' : 'page-save-as'].label.padEnd(44)}${s.toFixed(2).padStart(8)}         ${(s / cliS).toFixed(2).padStart(6)}          ${median(pageRuns[mode].map((r) => r.fetched))}`);
  }
  console.log(
    `(page: its own time, from opening the address to the result on screen by the page's clock, less the plan's wait for the click; as the driver saw it: ${modes.map((m) => `${m} ${median(pageRuns[m].map((r) => r.harnessSeconds)).toFixed(2)} s`).join(', ')})`,
  );
  if (pageRuns.opfs.length) {
    const downloads = pageRuns.opfs.map((r) => r.download!.seconds);
    console.log(
      `(built in place, then the browser's download of the image into a folder: ${median(downloads).toFixed(2)} s more (median; ${downloads.map((d) => d.toFixed(2)).join(' ')}), ${median(pageRuns.opfs.map((r) => r.seconds + r.download!.seconds)).toFixed(2)} s in all = ${(median(pageRuns.opfs.map((r) => r.seconds + r.download!.seconds)) / cliS).toFixed(2)}x tessera get)`,
    );
  }
  console.log('(target: page <= 1.5x tessera get; page bytes include the 1-byte mirror probe)');
  console.log(`main-thread tasks > 100 ms while scanning: ${all.filter((d) => d > 100).length} in ${modes.length * runs} page runs (longest task seen: ${all.length ? Math.max(...all).toFixed(0) : 0} ms; ${all.length} tasks over 50 ms)`);
} finally {
  await mirror.close();
  await site.close();
  await dir.remove();
}
