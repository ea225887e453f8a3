// npm run bench -- --memory: peak memory of `tessera get` on a synthetic
// image pair (4 GiB by default), against the target of issue 5 (< 150 MB);
// and the page's, on that pair and on one an eighth of its size, to show how
// it grows with the image.
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from '../../test/helpers/browser.ts';
import { startNginx } from '../../test/helpers/nginx.ts';
import { runPage, startPageSite } from './page-run.ts';
import { freeBytes } from './disk.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { median } from './stats.ts';
import { syntheticBytesNeeded, syntheticPair } from './synthetic-pair.ts';
import { runTimed } from './timed-run.ts';

export const MEMORY_TARGET_MB = 150;

const gib = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);

async function checkDisk(dir: string, need: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  if (free < need + 2 ** 30) throw new Error(`${dir} has ${gib(free)} free; ${what} needs ${gib(need)} (plus 1 GiB to spare). Free some space, or use another folder (TESSERA_MEMORY_DIR for the cached pairs, made in memory-SIZE folders there; --workdir for the output)`);
}

/** A cached synthetic pair of `size` bytes and its manifest (each made once). */
async function preparedPair(size: number, log: (s: string) => void): Promise<{ old: string; new: string; manifest: string; cache: string; make: { wall: number; cpu: number; maxRssKb: number } }> {
  const cache = join(process.env.TESSERA_MEMORY_DIR ?? join(homedir(), '.cache/tessera'), `memory-${size}`);
  await mkdir(cache, { recursive: true });
  if (!existsSync(join(cache, '.stamp'))) await checkDisk(cache, syntheticBytesNeeded(size), 'the synthetic pair (made once, kept)');
  const pair = await syntheticPair(cache, size, log);
  const manifest = `${pair.new}.tessera`;
  const madeFile = join(cache, 'make.json');
  if (!existsSync(manifest) || statSync(manifest).mtimeMs < statSync(pair.new).mtimeMs || !existsSync(madeFile)) {
    log(`tessera make on the ${gib(size)} pair (once; kept with it)`);
    const made = await runTimed(process.execPath, ['bin/tessera.mjs', 'make', pair.new, '-o', manifest]);
    if (made.code !== 0) throw new Error(`tessera make failed: ${made.stderr}`);
    await writeFile(madeFile, JSON.stringify({ wall: made.wall, cpu: made.cpu, maxRssKb: made.maxRssKb }));
  }
  const make = JSON.parse(await readFile(madeFile, 'utf8')) as { wall: number; cpu: number; maxRssKb: number };
  return { ...pair, manifest, cache, make };
}

interface PageMemoryRun {
  size: number;
  wall: number;
  cpu: number;
  privateMb: number;
}

export async function runMemoryCase(options: { size: number; runs: number; workdir: string; log: (s: string) => void }): Promise<string[]> {
  const { size, log } = options;
  // The page's memory is compared with that on an image an eighth of the size (at least 256 MiB).
  const smallSize = Math.max(2 ** 28, Math.floor(size / 8 / 2 ** 20) * 2 ** 20);
  const withPage = existsSync(CHROMIUM) && existsSync('dist/web/index.html') && smallSize < size;
  await mkdir(options.workdir, { recursive: true });
  // (The page builds the image in its storage, in the profile under the work folder: once, as tessera get's output.)
  await checkDisk(options.workdir, size, 'the rebuilt image (deleted after each run)');
  const pair = await preparedPair(size, log);
  const small = withPage ? await preparedPair(smallSize, log) : undefined;
  log(`disk: ${gib(await freeBytes(pair.cache))} free in ${pair.cache}, ${gib(await freeBytes(options.workdir))} in ${options.workdir}`);

  const work = await mkdtemp(join(options.workdir, 'tessera-bench-memory-'));
  const www = join(work, 'www');
  await mkdir(join(www, 'small'), { recursive: true });
  await symlink(pair.new, join(www, 'new.img'));
  await symlink(pair.manifest, join(www, 'new.img.tessera'));
  if (small) {
    await symlink(small.new, join(www, 'small', 'new.img'));
    await symlink(small.manifest, join(www, 'small', 'new.img.tessera'));
  }
  const nginx = await startNginx(www, join(work, 'nginx'), { cors: true });
  const site = withPage ? await startPageSite(join(work, 'site')) : undefined;
  const cleanUp = async () => {
    await site?.close();
    await nginx.close();
    await rm(work, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  const load = loadAverage();
  const runs: { wall: number; cpu: number; rssMb: number; fetched: number }[] = [];
  const pageRuns: PageMemoryRun[] = [];
  try {
    for (let i = 1; i <= options.runs; i++) {
      const out = join(work, 'new.img');
      await nginx.resetLog();
      const r = await runTimed(process.execPath, ['bin/tessera.mjs', 'get', `${nginx.url}new.img.tessera`, '--seed', pair.old, '-o', out, '--json']);
      await rm(out, { force: true });
      if (r.code !== 0) throw new Error(`tessera get failed: ${r.stderr.trim().split('\n').at(-1)}`);
      const json = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bytesFetched: number };
      runs.push({ wall: r.wall, cpu: r.cpu, rssMb: r.maxRssKb / 1024, fetched: json.bytesFetched });
      log(`run ${i}/${options.runs}: ${r.wall.toFixed(1)} s wall, ${r.cpu.toFixed(1)} s CPU, peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB, ${json.bytesFetched.toLocaleString('en')} bytes fetched`);
      if (!site || !small) continue;
      // The page, built in place, on both pairs (a new profile each time).
      for (const [s, p, path] of [[smallSize, small, 'small/'], [size, pair, '']] as const) {
        const run = await runPage({ siteUrl: site.url, manifestUrl: `${nginx.url}${path}new.img.tessera`, seeds: [p.old], mode: 'opfs', profileDir: join(work, 'profile') });
        if (!run.ok) throw new Error(`the page failed on the ${gib(s)} pair: ${run.message.slice(0, 200)}`);
        pageRuns.push({ size: s, wall: run.seconds, cpu: run.usage.cpu, privateMb: run.usage.privatePeakKb / 1024 });
        log(`run ${i}/${options.runs}: the page, ${gib(s)} image: ${run.seconds.toFixed(1)} s, private memory peak ${(run.usage.privatePeakKb / 1024).toFixed(0)} MB`);
      }
    }
  } finally {
    await cleanUp();
  }
  const rss = median(runs.map((r) => r.rssMb));
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench -- --memory\`: a synthetic pair of ${gib(size)} images of pseudo-random data (bench/lib/synthetic-pair.ts: 3% changed, a 777-byte shift half-way), cached in ${pair.cache}; load average ${load}.`,
    ...describeMachine().slice(0, 2).map((l) => `- ${l}`),
    '',
    '| | wall s | CPU s | peak RSS MB | fetched bytes |',
    '|---|--:|--:|--:|--:|',
    `| \`tessera make\` (once) | ${pair.make.wall.toFixed(1)} | ${pair.make.cpu.toFixed(1)} | ${(pair.make.maxRssKb / 1024).toFixed(0)} | |`,
    `| \`tessera get\`, old image as seed (median of ${runs.length}) | ${median(runs.map((r) => r.wall)).toFixed(1)} | ${median(runs.map((r) => r.cpu)).toFixed(1)} | **${rss.toFixed(0)}** | ${median(runs.map((r) => r.fetched)).toLocaleString('en')} |`,
    '',
    `Target (issue 5): peak RSS of \`tessera get\` on a ${gib(size)} image < ${MEMORY_TARGET_MB} MB: **${rss < MEMORY_TARGET_MB ? 'PASS' : 'FAIL'}** (${rss.toFixed(0)} MB; GNU time's maximum resident set size).`,
  ];
  if (!withPage) return [...lines, '', `The page was not measured: ${smallSize >= size ? 'the image is too small to compare with one an eighth of its size' : 'it needs Chromium and the built page (npm run build)'}.`];
  const at = (s: number) => pageRuns.filter((r) => r.size === s);
  const privateAt = (s: number) => median(at(s).map((r) => r.privateMb));
  const blocks = (s: number) => Math.ceil(s / 4096);
  const grew = privateAt(size) - privateAt(smallSize);
  return [
    ...lines,
    '',
    `The page (headless Chromium, built in place in the site's storage, as in the bench's "OPFS output"; a new profile for each run), on this pair and on one of ${gib(smallSize)} made the same way, medians of ${options.runs}: its memory is the peak, over samples every 250 ms, of the browser's processes' private memory summed (RssAnon + RssShmem; program files left out).`,
    '',
    '| image | wall s | browser CPU s | private memory MB |',
    '|--:|--:|--:|--:|',
    ...[smallSize, size].map((s) => `| ${gib(s)} | ${median(at(s).map((r) => r.wall)).toFixed(1)} | ${median(at(s).map((r) => r.cpu)).toFixed(1)} | **${privateAt(s).toFixed(0)}** |`),
    '',
    `The page's memory (issue 5: it does not grow with the image size): ${(size / smallSize).toFixed(0)}x the image, ${privateAt(smallSize).toFixed(0)} to ${privateAt(size).toFixed(0)} MB (${grew >= 0 ? '+' : ''}${grew.toFixed(0)} MB, ${((grew * 2 ** 20) / (blocks(size) - blocks(smallSize))).toFixed(0)} bytes for each 4 KiB block more, ${((grew / ((size - smallSize) / 2 ** 20)) * 100).toFixed(1)}% of the bytes added). ` +
      `The image's data is never held whole. What grows with it: the tables kept per block (the manifest's sums, 7 bytes a block; where each block comes from, 8 bytes a block on the main thread and again in the assembly; a byte a block in a few maps; the block index, 14 bytes a block, while the seeds are scanned), the download's buffers (a 16 MB window), which an update of ${gib(smallSize)} (3% to download) fills less, and Chromium's own memory for reading the seed through \`Blob.stream()\`, which rises by ~7 KB for each MB read (docs/web-page.md, Threads).`,
  ];
}
