// npm run bench -- --memory: peak memory of `tessera get` on a synthetic
// image pair (4 GiB by default), against the target of issue 5 (< 150 MB).
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startNginx } from '../../test/helpers/nginx.ts';
import { freeBytes } from './disk.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { median } from './stats.ts';
import { syntheticBytesNeeded, syntheticPair } from './synthetic-pair.ts';
import { runTimed } from './timed-run.ts';

export const MEMORY_TARGET_MB = 150;

const gib = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`);

async function checkDisk(dir: string, need: number, what: string): Promise<void> {
  const free = await freeBytes(dir);
  if (free < need + 2 ** 30) throw new Error(`${dir} has ${gib(free)} free; ${what} needs ${gib(need)} (plus 1 GiB to spare). Free some space, or use another folder (TESSERA_MEMORY_DIR for the cached pair, --workdir for the output)`);
}

export async function runMemoryCase(options: { size: number; runs: number; workdir: string; log: (s: string) => void }): Promise<string[]> {
  const { size, log } = options;
  const cache = process.env.TESSERA_MEMORY_DIR ?? join(homedir(), `.cache/tessera/memory-${size}`);
  await mkdir(cache, { recursive: true });
  await mkdir(options.workdir, { recursive: true });
  const cached = existsSync(join(cache, '.stamp'));
  if (!cached) await checkDisk(cache, syntheticBytesNeeded(size), 'the synthetic pair (made once, kept)');
  await checkDisk(options.workdir, size, 'the rebuilt image (deleted after each run)');
  log(`disk: ${gib(await freeBytes(cache))} free in ${cache}, ${gib(await freeBytes(options.workdir))} in ${options.workdir}`);

  const pair = await syntheticPair(cache, size, log);
  const manifest = `${pair.new}.tessera`;
  const madeFile = join(cache, 'make.json');
  if (!existsSync(manifest) || statSync(manifest).mtimeMs < statSync(pair.new).mtimeMs || !existsSync(madeFile)) {
    log('tessera make (once; kept with the pair)');
    const made = await runTimed(process.execPath, ['bin/tessera.mjs', 'make', pair.new, '-o', manifest]);
    if (made.code !== 0) throw new Error(`tessera make failed: ${made.stderr}`);
    await writeFile(madeFile, JSON.stringify({ wall: made.wall, cpu: made.cpu, maxRssKb: made.maxRssKb }));
  }
  const make = JSON.parse(await readFile(madeFile, 'utf8')) as { wall: number; cpu: number; maxRssKb: number };

  const work = await mkdtemp(join(options.workdir, 'tessera-bench-memory-'));
  const www = join(work, 'www');
  await mkdir(www);
  await symlink(pair.new, join(www, 'new.img'));
  await symlink(manifest, join(www, 'new.img.tessera'));
  const nginx = await startNginx(www, join(work, 'nginx'));
  const cleanUp = async () => {
    await nginx.close();
    await rm(work, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  const load = loadAverage();
  const runs: { wall: number; cpu: number; rssMb: number; fetched: number }[] = [];
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
    }
  } finally {
    await cleanUp();
  }
  const rss = median(runs.map((r) => r.rssMb));
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench -- --memory\`: a synthetic pair of ${gib(size)} images of pseudo-random data (bench/lib/synthetic-pair.ts: 3% changed, a 777-byte shift half-way), cached in ${cache}; load average ${load}.`,
    ...describeMachine().slice(0, 2).map((l) => `- ${l}`),
    '',
    '| | wall s | CPU s | peak RSS MB | fetched bytes |',
    '|---|--:|--:|--:|--:|',
    `| \`tessera make\` (once) | ${make.wall.toFixed(1)} | ${make.cpu.toFixed(1)} | ${(make.maxRssKb / 1024).toFixed(0)} | |`,
    `| \`tessera get\`, old image as seed (median of ${runs.length}) | ${median(runs.map((r) => r.wall)).toFixed(1)} | ${median(runs.map((r) => r.cpu)).toFixed(1)} | **${rss.toFixed(0)}** | ${median(runs.map((r) => r.fetched)).toLocaleString('en')} |`,
    '',
    `Target (issue 5): peak RSS of \`tessera get\` on a ${gib(size)} image < ${MEMORY_TARGET_MB} MB: **${rss < MEMORY_TARGET_MB ? 'PASS' : 'FAIL'}** (${rss.toFixed(0)} MB; GNU time's maximum resident set size).`,
  ];
}
