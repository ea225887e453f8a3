// npm run bench [-- OPTIONS]: Tessera against zsync and jigdo-file on the same
// image update, served by one local nginx; see --help, README.md ("Benchmark")
// and docs/performance.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM } from '../test/helpers/browser.ts';
import { NGINX, nginxVersion, startNginx } from '../test/helpers/nginx.ts';
import { type ClientEnv, type ScanRun, type ToolRun, jigdo, page, tesseraGet, tesseraScan, zsync } from './lib/clients.ts';
import { IMAGE, makeJigdo, makeTesseraManifest, makeZsync } from './lib/control-files.ts';
import { freeBytes } from './lib/disk.ts';
import { resolveInputs } from './lib/inputs.ts';
import { cpuTicks, describeMachine, loadAverage, lostCpu, onPath, stealShare } from './lib/machine.ts';
import { runMemoryCase } from './lib/memory.ts';
import { startPageSite } from './lib/page-run.ts';
import { type Results, comparisonReport, key } from './lib/report.ts';
import { writeSection } from './lib/results-file.ts';
import { checkGnuTime } from './lib/timed-run.ts';
import { CASE_LABEL, type CaseId, TOOL, TOOLS_BY_CASE, TOOL_GROUPS, type ToolId } from './lib/tools.ts';

const HELP = `npm run bench [-- OPTIONS]     (or: node scripts/run-ts.mjs bench/bench.ts OPTIONS, after npm run build)

Rebuilds a new image from old files with each client, alternating, N times each,
all against one local nginx serving the new image, and prints one table of medians.

  (default)             the Debian corpus of bench/debian-corpus.sh, built once and cached in
                        \${TESSERA_CORPUS_DIR:-~/.cache/tessera/corpus}: old.iso, new.iso, seeds-loose/
  --old FILE --new FILE another image pair (the new one must be an ISO 9660 image for jigdo-file)
  --seeds DIR           a folder of loose old files for the "loose files" case (with --old/--new;
                        without it that case is left out)
  --runs N              runs per client and case (default 3; 1 with --memory)
  --cases LIST          iso,loose (default both): the old ISO as seed; the loose files as seed
  --tools LIST          tessera,page,zsync,jigdo (default all)
  --tessera-arg ARG     one more argument for \`tessera get\` (repeatable), e.g. --tessera-arg=--connections=8
  --workdir DIR         where outputs go (default \${TMPDIR:-/tmp}); needs about 3x the new image
  --drop-caches         drop the page cache before every run (root only; default: warm cache)
  --write FILE          also write the report into FILE between its markers (docs/performance.md)
  --raw FILE            also write every run's figures as JSON

  --memory              instead: peak memory of \`tessera get\` on a synthetic image pair (4 GiB,
                        made once and cached in \${TESSERA_MEMORY_DIR:-~/.cache/tessera}/memory-SIZE);
                        target < 150 MB. How memory grows with the image: \`tessera get\`, zsync
                        (once each) and, with Chromium and the built page, the page, on that pair
                        and on ones an eighth and a quarter of its size (made and cached the same way)
  --memory-size BYTES   the synthetic image's size (default 4294967296)

Needs: Node.js, GNU time (/usr/bin/time: apt-get install time), nginx (apt-get install nginx-light),
and for the other clients zsync, jigdo-file + wget + xorriso, chromium (Debian packages of those names).`;

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string' },
    seeds: { type: 'string' },
    runs: { type: 'string' },
    cases: { type: 'string', default: 'iso,loose' },
    tools: { type: 'string', default: 'tessera,page,zsync,jigdo' },
    'tessera-arg': { type: 'string', multiple: true, default: [] },
    workdir: { type: 'string', default: process.env.TMPDIR ?? tmpdir() },
    'drop-caches': { type: 'boolean', default: false },
    write: { type: 'string' },
    raw: { type: 'string' },
    memory: { type: 'boolean', default: false },
    'memory-size': { type: 'string', default: String(4 * 2 ** 30) },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const log = (text: string) => process.stderr.write(`[bench ${new Date().toTimeString().slice(0, 8)}] ${text}\n`);
function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

if (values.help) {
  console.log(HELP);
  process.exit(0);
}
if (!existsSync('bin/tessera.mjs') || !existsSync('dist/tessera.mjs')) fail('run it from the repository root, after `npm run build` (npm run bench does both)');
try {
  checkGnuTime();
} catch (error) {
  fail((error as Error).message);
}
if (!existsSync(NGINX)) fail(`no nginx at ${NGINX}: apt-get install nginx-light`);
const runs = Number(values.runs ?? (values.memory ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) fail('--runs must be a whole number of at least 1');

if (values.memory) {
  const size = Number(values['memory-size']);
  if (!Number.isSafeInteger(size) || size < 2 ** 20) fail('--memory-size must be a number of bytes, at least 1 MiB');
  const lines = await runMemoryCase({ size, runs, workdir: resolve(values.workdir), log });
  console.log(lines.join('\n'));
  if (values.write) await writeSection(values.write, 'memory', lines);
  process.exit(0);
}

// --- what to run -----------------------------------------------------------------------
const cases = values.cases.split(',').map((c) => c.trim()) as CaseId[];
for (const c of cases) if (!(c in TOOLS_BY_CASE)) fail(`--cases: unknown case ${c} (iso, loose)`);
const tools = [
  ...new Set(
    values.tools.split(',').flatMap((t) => {
      const group = TOOL_GROUPS[t.trim()];
      if (!group) fail(`--tools: unknown tool ${t} (${Object.keys(TOOL_GROUPS).join(', ')})`);
      return group;
    }),
  ),
];
const inputs = await resolveInputs({ old: values.old, new: values.new, seeds: values.seeds });
if (cases.includes('loose') && !inputs.seeds) {
  log('no --seeds folder: the loose files case is left out');
  cases.splice(cases.indexOf('loose'), 1);
}

const results: Results = { runs, cases, tools, measured: new Map(), control: {}, scans: {}, skipped: new Map() };
/** Leave a tool out everywhere, with the reason shown in the table. */
const skip = (t: ToolId, why: string) => {
  for (const c of cases) if (TOOLS_BY_CASE[c].includes(t) && !results.skipped.has(key(c, t))) results.skipped.set(key(c, t), why);
};
if (!onPath('zsync') || !onPath('zsyncmake')) skip('zsync', 'no zsync/zsyncmake (apt-get install zsync)');
for (const [program, pkg] of [['jigdo-file', 'jigdo-file'], ['wget', 'wget'], ['xorriso', 'xorriso']]) {
  if (!onPath(program)) {
    skip('jigdo', `no ${program} (apt-get install ${pkg})`);
    skip('tessera-jigdo', `no ${program} (apt-get install ${pkg})`);
  }
}
if (!existsSync(CHROMIUM)) {
  skip('page-opfs', `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  skip('page-save-as', `no Chromium at ${CHROMIUM}`);
}
if (!existsSync('dist/web/index.html')) {
  skip('page-opfs', 'the page is not built (npm run build)');
  skip('page-save-as', 'the page is not built (npm run build)');
}
const wanted = (c: CaseId, t: ToolId) => tools.includes(t) && TOOLS_BY_CASE[c].includes(t) && !results.skipped.has(key(c, t));

// --- disk -------------------------------------------------------------------------------
const newSize = (await stat(inputs.new)).size;
await mkdir(values.workdir, { recursive: true });
const free = await freeBytes(values.workdir);
if (free < 3 * newSize) fail(`${values.workdir} has ${(free / 1e9).toFixed(1)} GB free; the bench needs about ${((3 * newSize) / 1e9).toFixed(1)} GB there (outputs, the page's storage, jigdo's files): give --workdir`);

// --- mirror and control files -----------------------------------------------------------------
const work = await mkdtemp(join(resolve(values.workdir), 'tessera-bench-'));
const www = join(work, 'www');
await mkdir(www);
await symlink(inputs.new, join(www, IMAGE));
const nginx = await startNginx(www, join(work, 'nginx'), { cors: true });
const cleanUp = async () => {
  await nginx.close();
  await rm(work, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
const loadStart = loadAverage();
try {
  log(`${nginxVersion()} (${NGINX}) serves ${inputs.new} at ${nginx.url}${IMAGE}, with CORS, for every client`);
  const anyTool = (...ts: ToolId[]) => cases.some((c) => ts.some((t) => wanted(c, t)));
  if (anyTool('tessera', 'page-opfs', 'page-save-as')) {
    log('tessera make');
    results.control.tessera = await makeTesseraManifest(www);
  }
  if (anyTool('zsync')) {
    log('zsyncmake');
    results.control.zsync = await makeZsync(www).catch((e: Error) => (skip('zsync', e.message), undefined));
  }
  if (anyTool('jigdo', 'tessera-jigdo')) {
    log('jigdo-file make-template (the new image\'s files extracted with xorriso first)');
    results.control.jigdo = await makeJigdo(www, nginx.url).catch((e: Error) => (skip('jigdo', e.message), skip('tessera-jigdo', e.message), undefined));
  }
  const site = anyTool('page-opfs', 'page-save-as') ? await startPageSite(join(work, 'site')) : undefined;

  const env: ClientEnv = { nginx, outDir: join(work, 'out'), newSha256: inputs.newSha256, tesseraArgs: values['tessera-arg'] };
  const seedsOf = (c: CaseId) => (c === 'iso' ? [inputs.old] : [inputs.seeds!]);
  const seedBytes = (c: CaseId) => (c === 'iso' ? stat(inputs.old).then((s) => s.size) : Promise.all(inputs.seedFiles.map((f) => stat(f).then((s) => s.size))).then((xs) => xs.reduce((a, b) => a + b, 0)));
  const dropCaches = () => {
    if (!values['drop-caches']) return;
    spawnSync('sync');
    if (spawnSync('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']).status !== 0) {
      log('cannot drop the page cache (not root?); going on with a warm cache');
      values['drop-caches'] = false;
    }
  };
  const runOne = async (c: CaseId, t: ToolId): Promise<ToolRun> => {
    switch (t) {
      case 'tessera':
        return tesseraGet(env, 'new.iso.tessera', seedsOf(c));
      case 'tessera-jigdo':
        return tesseraGet(env, 'new.jigdo', seedsOf(c));
      case 'zsync':
        return zsync(env, c === 'iso' ? [inputs.old] : inputs.seedFiles);
      case 'jigdo':
        return jigdo(env, inputs.seeds!);
      case 'page-opfs':
      case 'page-save-as':
        return page(env, site!.url, seedsOf(c), t === 'page-opfs' ? 'opfs' : 'save-as', join(work, 'profile'));
    }
  };

  for (let round = 1; round <= runs; round++) {
    for (const c of cases) {
      if (wanted(c, 'tessera')) {
        dropCaches();
        const s: ScanRun = await tesseraScan(env, seedsOf(c), await seedBytes(c));
        (results.scans[c] ??= []).push(s);
        log(`run ${round}/${runs} ${CASE_LABEL[c]}: scan (tessera get --dry-run) ${s.ok ? `${s.seconds.toFixed(2)} s, ${(s.seedBytes / 1e6 / s.seconds).toFixed(0)} MB/s` : `failed: ${s.problem}`}`);
      }
      for (const t of TOOLS_BY_CASE[c]) {
        if (!wanted(c, t)) continue;
        dropCaches();
        const ticks = cpuTicks();
        const r = await runOne(c, t).catch((e: Error): ToolRun => ({ ok: false, problem: e.message.split('\n')[0], wall: NaN, cpu: null, rssKb: null, fetched: 0, requests: 0 }));
        r.steal = stealShare(ticks, cpuTicks());
        results.measured.set(key(c, t), [...(results.measured.get(key(c, t)) ?? []), r]);
        const figures = `${r.wall.toFixed(2)} s wall, ${r.cpu === null ? 'n/a' : r.cpu.toFixed(2)} s CPU, ${r.rssKb === null ? 'n/a' : (r.rssKb / 1024).toFixed(0)} MB RSS, ${r.fetched.toLocaleString('en')} B in ${r.requests} requests`;
        const stolen = lostCpu(r.steal) ? `, ${(r.steal * 100).toFixed(0)}% of the CPU taken by the host` : '';
        log(`run ${round}/${runs} ${CASE_LABEL[c]}: ${TOOL[t].label} ${figures}${r.note ? ` (${r.note})` : ''}${stolen}, ${r.ok ? 'ok' : `FAILED: ${r.problem}`}`);
      }
    }
  }
  await site?.close();
} finally {
  await cleanUp();
}

// --- report -------------------------------------------------------------------------------
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const seedsLine = inputs.seeds ? `; loose files: ${inputs.seedFiles.length} files in ${inputs.seeds}` : '';
const header = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench\`${process.argv.length > 2 ? ` (${process.argv.slice(2).join(' ')})` : ''}: ${inputs.description}.`,
  '',
  `- Image: ${inputs.new} (${mb(newSize)}); old ISO: ${inputs.old} (${mb((await stat(inputs.old)).size)})${seedsLine}.`,
  `- ${runs} run${runs === 1 ? '' : 's'} per client and case, alternating${runs < 3 ? ' (**preliminary**: fewer than 3 runs, so no real median)' : ''}; page cache ${values['drop-caches'] ? 'dropped before each run' : 'warm'}; load average ${loadStart} at the start, ${loadAverage()} at the end.`,
  ...describeMachine().map((l) => `- ${l}`),
];
const report = comparisonReport(results, header);
console.log(report.join('\n'));
if (values.write) {
  await writeSection(values.write, 'comparison', report);
  log(`written to ${values.write}`);
}
if (values.raw) await writeFile(values.raw, JSON.stringify({ inputs, results: { ...results, measured: Object.fromEntries(results.measured), skipped: Object.fromEntries(results.skipped) } }, null, 2));
