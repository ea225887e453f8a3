// npm run bench -- --memory: peak memory of `tessera get` on a synthetic
// image pair (4 GiB by default), against the target of issue 5 (< 150 MB);
// and, on that pair and on ones an eighth and a quarter of its size, how the memory of
// `tessera get`, zsync and the page grows with the image.
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from '../../test/helpers/browser.ts';
import { startNginx } from '../../test/helpers/nginx.ts';
import { runPage, startPageSite } from './page-run.ts';
import { freeBytes } from './disk.ts';
import { describeMachine, loadAverage, onPath } from './machine.ts';
import { median } from './stats.ts';
import { syntheticBytesNeeded, syntheticPair } from './synthetic-pair.ts';
import { runTimed } from './timed-run.ts';
import { defaultBlockSize } from '../../src/core/manifest/manifest.ts';

export const MEMORY_TARGET_MB = 150;

const gib = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);

async function checkDisk(dir: string, need: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  if (free < need + 2 ** 30) throw new Error(`${dir} has ${gib(free)} free; ${what} needs ${gib(need)} (plus 1 GiB to spare). Free some space, or use another folder (TESSERA_MEMORY_DIR for the cached pairs, made in memory-SIZE folders there; --workdir for the output)`);
}

/** How the cached manifest was made (make.json beside it). */
interface MadeManifest {
  wall: number;
  cpu: number;
  maxRssKb: number;
  blockSize: number;
}

/** A cached synthetic pair of `size` bytes and its manifest (each made once). */
async function preparedPair(size: number, withZsync: boolean, log: (s: string) => void): Promise<{ old: string; new: string; manifest: string; zsync: string; cache: string; make: MadeManifest }> {
  const cache = join(process.env.TESSERA_MEMORY_DIR ?? join(homedir(), '.cache/tessera'), `memory-${size}`);
  await mkdir(cache, { recursive: true });
  if (!existsSync(join(cache, '.stamp'))) await checkDisk(cache, syntheticBytesNeeded(size), 'the synthetic pair (made once, kept)');
  const pair = await syntheticPair(cache, size, log);
  const manifest = `${pair.new}.tessera`;
  const madeFile = join(cache, 'make.json');
  let make = existsSync(madeFile) ? (JSON.parse(await readFile(madeFile, 'utf8')) as Partial<MadeManifest>) : {};
  // Made again when the image is newer, or `tessera make` now chooses other blocks for it.
  if (!existsSync(manifest) || statSync(manifest).mtimeMs < statSync(pair.new).mtimeMs || make.blockSize !== defaultBlockSize(size)) {
    log(`tessera make on the ${gib(size)} pair (once; kept with it)`);
    const run = await runTimed(process.execPath, ['bin/tessera.mjs', 'make', pair.new, '-o', manifest, '--json']);
    if (run.code !== 0) throw new Error(`tessera make failed: ${run.stderr}`);
    const { blockSize } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { blockSize: number };
    make = { wall: run.wall, cpu: run.cpu, maxRssKb: run.maxRssKb, blockSize };
    await writeFile(madeFile, JSON.stringify(make));
  }
  // zsyncmake's defaults, and the image's name as its URL (resolved against the .zsync's).
  const zsync = `${pair.new}.zsync`;
  if (withZsync && (!existsSync(zsync) || statSync(zsync).mtimeMs < statSync(pair.new).mtimeMs)) {
    log(`zsyncmake on the ${gib(size)} pair (once; kept with it)`);
    const made = await runTimed('zsyncmake', ['-u', 'new.img', '-o', zsync, pair.new]);
    if (made.code !== 0) throw new Error(`zsyncmake failed: ${made.stderr}`);
  }
  return { ...pair, manifest, zsync, cache, make: make as MadeManifest };
}

interface ToolMemoryRun {
  size: number;
  wall: number;
  cpu: number;
  /** Peak RSS (MB) for tools, the browser's summed private memory for the page. */
  mb: number;
  fetched?: number;
}

/** zsync's own summary line ("used N local, fetched M"): its bytes fetched. */
const zsyncFetched = (output: string) => Number(/used \d+ local, fetched (\d+)/.exec(output)?.[1] ?? NaN);

export async function runMemoryCase(options: { size: number; runs: number; workdir: string; log: (s: string) => void }): Promise<string[]> {
  const { size, log } = options;
  // The memory is compared with that on images an eighth and a quarter of the size (at least 256 MiB): up to
  // 1 GiB the manifest's table grows with the image, past it its blocks widen instead (defaultBlockSize).
  const smallerSizes = [...new Set([8, 4].map((d) => Math.max(2 ** 28, Math.floor(size / d / 2 ** 20) * 2 ** 20)))].filter((s) => s < size);
  const compare = smallerSizes.length > 0;
  const withPage = existsSync(CHROMIUM) && existsSync('dist/web/index.html') && compare;
  const withZsync = onPath('zsync') && onPath('zsyncmake');
  await mkdir(options.workdir, { recursive: true });
  // (The page builds the image in its storage, in the profile under the work folder: once, as tessera get's output.)
  await checkDisk(options.workdir, size, 'the rebuilt image (deleted after each run)');
  const pair = await preparedPair(size, withZsync, log);
  const smaller: { size: number; pair: Awaited<ReturnType<typeof preparedPair>>; path: string }[] = [];
  for (const s of smallerSizes) smaller.push({ size: s, pair: await preparedPair(s, withZsync, log), path: `${s}/` });
  log(`disk: ${gib(await freeBytes(pair.cache))} free in ${pair.cache}, ${gib(await freeBytes(options.workdir))} in ${options.workdir}`);

  const work = await mkdtemp(join(options.workdir, 'tessera-bench-memory-'));
  const www = join(work, 'www');
  // The large pair at the root, each smaller one under its size; each image beside its manifest and .zsync.
  const pairs = [...smaller, { size, pair, path: '' }];
  for (const p of pairs) {
    await mkdir(join(www, p.path), { recursive: true });
    await symlink(p.pair.new, join(www, p.path, 'new.img'));
    await symlink(p.pair.manifest, join(www, p.path, 'new.img.tessera'));
    if (withZsync) await symlink(p.pair.zsync, join(www, p.path, 'new.img.zsync'));
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
  const getRuns: ToolMemoryRun[] = [];
  const zsyncRuns: ToolMemoryRun[] = [];
  const pageRuns: ToolMemoryRun[] = [];
  const out = join(work, 'new.img');
  try {
    for (let i = 1; i <= options.runs; i++) {
      for (const p of pairs) {
        await nginx.resetLog();
        const r = await runTimed(process.execPath, ['bin/tessera.mjs', 'get', `${nginx.url}${p.path}new.img.tessera`, '--seed', p.pair.old, '-o', out, '--json']);
        await rm(out, { force: true });
        if (r.code !== 0) throw new Error(`tessera get failed on the ${gib(p.size)} pair: ${r.stderr.trim().split('\n').at(-1)}`);
        const json = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bytesFetched: number };
        getRuns.push({ size: p.size, wall: r.wall, cpu: r.cpu, mb: r.maxRssKb / 1024, fetched: json.bytesFetched });
        log(`run ${i}/${options.runs}: tessera get, ${gib(p.size)} image: ${r.wall.toFixed(1)} s wall, ${r.cpu.toFixed(1)} s CPU, peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB, ${json.bytesFetched.toLocaleString('en')} bytes fetched`);
      }
      if (!site) continue;
      // The page, built in place, on every pair (a new profile each time).
      for (const p of pairs) {
        const run = await runPage({ siteUrl: site.url, manifestUrl: `${nginx.url}${p.path}new.img.tessera`, seeds: [p.pair.old], mode: 'opfs', profileDir: join(work, 'profile') });
        if (!run.ok) throw new Error(`the page failed on the ${gib(p.size)} pair: ${run.message.slice(0, 200)}`);
        pageRuns.push({ size: p.size, wall: run.seconds, cpu: run.usage.cpu, mb: run.usage.privatePeakKb / 1024 });
        log(`run ${i}/${options.runs}: the page, ${gib(p.size)} image: ${run.seconds.toFixed(1)} s, private memory peak ${(run.usage.privatePeakKb / 1024).toFixed(0)} MB`);
      }
    }
    // zsync once on each pair: its memory is its block table's, the same each run, and a 4 GiB run takes about a minute.
    if (withZsync) {
      for (const p of pairs) {
        const r = await runTimed('zsync', ['-i', p.pair.old, '-o', out, `${nginx.url}${p.path}new.img.zsync`]);
        await rm(out, { force: true });
        if (r.code !== 0) throw new Error(`zsync failed on the ${gib(p.size)} pair: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
        zsyncRuns.push({ size: p.size, wall: r.wall, cpu: r.cpu, mb: r.maxRssKb / 1024, fetched: zsyncFetched(r.stdout + r.stderr) });
        log(`zsync, ${gib(p.size)} image: ${r.wall.toFixed(1)} s wall, peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB`);
      }
    }
  } finally {
    await cleanUp();
  }
  const at = (runs: ToolMemoryRun[], s: number) => runs.filter((r) => r.size === s);
  const med = (runs: ToolMemoryRun[], s: number, f: (r: ToolMemoryRun) => number) => median(at(runs, s).map(f));
  const rss = med(getRuns, size, (r) => r.mb);
  const sizes = pairs.map((p) => p.size);
  const row = (label: string, runs: ToolMemoryRun[], s: number, bold: boolean) => {
    const mb = med(runs, s, (r) => r.mb).toFixed(0);
    return `| ${label} | ${gib(s)} | ${med(runs, s, (r) => r.wall).toFixed(1)} | ${med(runs, s, (r) => r.cpu).toFixed(1)} | ${bold ? `**${mb}**` : mb} | ${med(runs, s, (r) => r.fetched ?? NaN).toLocaleString('en')} |`;
  };
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench -- --memory\`: a synthetic pair of ${gib(size)} images of pseudo-random data (bench/lib/synthetic-pair.ts: 3% changed, a 777-byte shift half-way), cached in ${pair.cache}${compare ? `, and pairs of ${smallerSizes.map(gib).join(' and ')} made the same way` : ''}; load average ${load}.`,
    ...describeMachine().slice(0, 2).map((l) => `- ${l}`),
    '',
    '| | image | wall s | CPU s | peak RSS MB | fetched bytes |',
    '|---|--:|--:|--:|--:|--:|',
    `| \`tessera make\` (once) | ${gib(size)} | ${pair.make.wall.toFixed(1)} | ${pair.make.cpu.toFixed(1)} | ${(pair.make.maxRssKb / 1024).toFixed(0)} | |`,
    ...sizes.map((s) => row(`\`tessera get\`, old image as seed (median of ${options.runs})`, getRuns, s, s === size)),
    ...(withZsync ? sizes.map((s) => row('zsync 0.6.2, old image as seed (one run)', zsyncRuns, s, false)) : []),
    '',
    `Target (issue 5): peak RSS of \`tessera get\` on a ${gib(size)} image < ${MEMORY_TARGET_MB} MB: **${rss < MEMORY_TARGET_MB ? 'PASS' : 'FAIL'}** (${rss.toFixed(0)} MB; GNU time's maximum resident set size).`,
  ];
  if (!withZsync) lines.push('', 'zsync was not measured: no zsync/zsyncmake (apt-get install zsync).');
  if (!compare) return [...lines, '', 'Nothing to compare with: the image is too small for a pair an eighth of its size.'];
  const smallest = smallerSizes[0];
  const blockCount = (s: number) => Math.ceil(s / defaultBlockSize(s));
  /** A smaller pair whose manifest has as many blocks as the large one's (past 1 GiB: defaultBlockSize). */
  const sameBlocks = smallerSizes.find((s) => s !== smallest && blockCount(s) === blockCount(size));
  /** Growth from the image of `from` bytes to the large one: MB, and bytes for each 4 KiB of image more. */
  const growth = (runs: ToolMemoryRun[], from: number) => {
    const grew = med(runs, size, (r) => r.mb) - med(runs, from, (r) => r.mb);
    return `${med(runs, from, (r) => r.mb).toFixed(0)} to ${med(runs, size, (r) => r.mb).toFixed(0)} MB (${grew >= 0 ? '+' : ''}${grew.toFixed(0)} MB, ${((grew * 2 ** 20) / ((size - from) / 4096)).toFixed(0)} bytes for each 4 KiB of image more)`;
  };
  const blocks = (s: number) => `${blockCount(s).toLocaleString('en')} blocks of ${defaultBlockSize(s) / 1024} KiB`;
  const clients = (from: number) => [`\`tessera get\` ${growth(getRuns, from)}`, ...(withZsync ? [`zsync ${growth(zsyncRuns, from)}`] : []), ...(withPage ? [`the page ${growth(pageRuns, from)}`] : [])].join('; ');
  lines.push(
    '',
    `From ${gib(smallest)} to ${gib(size)} (${(size / smallest).toFixed(0)}x the image): ${clients(smallest)}.` +
      (sameBlocks ? ` From ${gib(sameBlocks)} to ${gib(size)} (${(size / sameBlocks).toFixed(0)}x): ${clients(sameBlocks)}.` : '') +
      ` Every one of them keeps tables for each block of the image (zsync: its checksums and hash chains), and none holds the image's data. \`tessera make\`'s manifests: ${sizes.map((s) => `${gib(s)} in ${blocks(s)}`).join(', ')} (at most 2^18 blocks: past 1 GiB the blocks widen); zsyncmake's: 4 KiB blocks for all.`,
  );
  if (!withPage) return [...lines, '', 'The page was not measured: it needs Chromium and the built page (npm run build).'];
  return [
    ...lines,
    '',
    `The page (headless Chromium, built in place in the site's storage, as in the bench's "OPFS output"; a new profile for each run), medians of ${options.runs}: its memory is the peak, over samples every 250 ms, of the browser's processes' private memory summed (RssAnon + RssShmem; program files left out).`,
    '',
    '| image | wall s | browser CPU s | private memory MB |',
    '|--:|--:|--:|--:|',
    ...sizes.map((s) => `| ${gib(s)} | ${med(pageRuns, s, (r) => r.wall).toFixed(1)} | ${med(pageRuns, s, (r) => r.cpu).toFixed(1)} | **${med(pageRuns, s, (r) => r.mb).toFixed(0)}** |`),
    '',
    `The page's memory (issue 5: it does not grow with the image size): from ${gib(smallest)}${blockCount(smallest) === blockCount(size) ? ', whose manifest has as many blocks' : ''}, ${growth(pageRuns, smallest)}` +
      (sameBlocks ? `; from ${gib(sameBlocks)}, whose manifest has as many blocks, ${growth(pageRuns, sameBlocks)}. ` : '. ') +
      `Up to 1 GiB, what grows with the image is the tables kept per block (the manifest's sums, 7-8 bytes a block; where each block comes from, 8 bytes a block on the main thread and again in the assembly; a byte a block in a few maps; the block index, 14 bytes a block, while the seeds are scanned), and the download's buffers (\`tessera get\`: a window of 6 MB; the page: the ranges in flight, since what is verified goes into its image file at once), which the update of ${gib(smallest)} (3%, ${(med(getRuns, smallest, (r) => r.fetched ?? NaN) / 1e6).toFixed(0)} MB to download) may not fill. Past 1 GiB the tables stay the same; what is left is each worker's heap over a longer run (V8 sizes a heap's young generation by what survives its collections, up to a limit of its own) and Chromium's own memory for reading more of the seed through \`Blob.stream()\` (docs/web-page.md, Threads, has runs on an 8 GiB pair).`,
  ];
}
