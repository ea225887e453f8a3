// One measured run of each client on one case, against the same mirror:
// what it cost (time, CPU, memory), what it fetched (the mirror's access log),
// and whether the image it built is the right one.
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { NginxLogEntry, RunningNginx } from '../../test/helpers/nginx.ts';
import { sha256OfFile } from '../../src/node/native-hasher.ts';
import { CONTROL_NAMES, IMAGE } from './control-files.ts';
import { type OutputMode, runPage } from './page-run.ts';
import { type TimedRun, runTimed } from './timed-run.ts';

export interface ToolRun {
  ok: boolean;
  /** Why not ok. */
  problem?: string;
  wall: number;
  /** CPU seconds (user + sys), null when not measurable. */
  cpu: number | null;
  /** Peak memory in kB, null when not measurable. */
  rssKb: number | null;
  /** Body bytes the mirror sent for everything but the control files. */
  fetched: number;
  /** Responses for everything but the control files. */
  requests: number;
  /** A short note for the run's log line. */
  note?: string;
  /** The page: the peak of its processes' summed private memory (RssAnon + RssShmem), in kB. */
  privateKb?: number;
  /** The page: its wall time as the bench's driver saw it (its round trips, the click's wait included; see runPage). */
  harnessWall?: number;
  /** The page built in place: the browser's download of the image into a folder afterwards, in seconds (not in `wall`). */
  downloadWall?: number;
  /** The share of the machine's CPU time its host took for other virtual machines while this ran (machine.ts, stealShare). */
  steal?: number;
}

export interface ClientEnv {
  nginx: RunningNginx;
  /** Where a run writes its output (emptied before and after each run). */
  outDir: string;
  newSha256: string;
  /** Extra arguments for `tessera get` (--tessera-arg). */
  tesseraArgs: string[];
}

/** The access log, once nginx has written the last run's lines (it logs as each response ends). */
async function settledLog(nginx: RunningNginx): Promise<NginxLogEntry[]> {
  let last = -1;
  for (let i = 0; i < 30; i++) {
    const entries = await nginx.entries();
    if (entries.length === last) return entries;
    last = entries.length;
    await new Promise((r) => setTimeout(r, 100));
  }
  return nginx.entries();
}

const CONTROL = new Set(CONTROL_NAMES.map((n) => `/${n}`));

/** Data fetched (not control files) since the log was reset. */
async function fetchedSince(nginx: RunningNginx): Promise<{ fetched: number; requests: number }> {
  const data = (await settledLog(nginx)).filter((e) => !CONTROL.has(e.uri));
  return { fetched: data.reduce((s, e) => s + e.bytes, 0), requests: data.length };
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

async function checkedOutput(run: TimedRun, output: string, env: ClientEnv): Promise<Pick<ToolRun, 'ok' | 'problem'>> {
  if (run.code !== 0) return { ok: false, problem: `exit ${run.code}: ${lastLine(run.stderr || run.stdout).slice(0, 200)}` };
  if (!existsSync(output)) return { ok: false, problem: `exit 0 but no ${output}` };
  const sha = await sha256OfFile(output);
  return sha === env.newSha256 ? { ok: true } : { ok: false, problem: `wrong image (SHA-256 ${sha.slice(0, 16)}…)` };
}

/** Run `program args` under GNU time with a fresh output folder; the output image is `out/new.iso`. */
async function measured(env: ClientEnv, program: string, args: (out: string) => string[], note?: (run: TimedRun) => string | undefined): Promise<ToolRun> {
  await rm(env.outDir, { recursive: true, force: true });
  await mkdir(env.outDir, { recursive: true });
  const output = join(env.outDir, IMAGE);
  await env.nginx.resetLog();
  const run = await runTimed(program, args(output), { cwd: env.outDir });
  const log = await fetchedSince(env.nginx);
  const result: ToolRun = { ...(await checkedOutput(run, output, env)), wall: run.wall, cpu: run.cpu, rssKb: run.maxRssKb, ...log, note: note?.(run) };
  await rm(env.outDir, { recursive: true, force: true });
  return result;
}

const TESSERA = join(process.cwd(), 'bin/tessera.mjs');

/** `tessera get URL --seed SEED…`; `control` is the manifest's (or .zsync's, .jigdo's) name on the mirror. */
export function tesseraGet(env: ClientEnv, control: string, seeds: string[]): Promise<ToolRun> {
  return measured(env, process.execPath, (out) => [TESSERA, 'get', env.nginx.url + control, ...seeds.flatMap((s) => ['--seed', s]), '-o', out, '--json', ...env.tesseraArgs]);
}

export interface ScanRun {
  ok: boolean;
  problem?: string;
  /** The scan as `tessera get --dry-run --json` reports it: from start to the plan (manifest loaded, seeds scanned). */
  seconds: number;
  cpu: number;
  seedBytes: number;
}

/** `tessera get --dry-run --threads 1`: the seeds' scan alone (the matcher), on one thread (the get scans on every core). */
export async function tesseraScan(env: ClientEnv, seeds: string[], seedBytes: number): Promise<ScanRun> {
  const run = await runTimed(process.execPath, [TESSERA, 'get', `${env.nginx.url}new.iso.tessera`, ...seeds.flatMap((s) => ['--seed', s]), '--dry-run', '--threads', '1', '--json', '-o', join(env.outDir, IMAGE)]);
  if (run.code !== 0) return { ok: false, problem: lastLine(run.stderr), seconds: NaN, cpu: NaN, seedBytes };
  const json = JSON.parse(lastLine(run.stdout)) as { seconds: number };
  return { ok: true, seconds: json.seconds, cpu: run.cpu, seedBytes };
}

/** zsync 0.6.2: the .zsync by URL, each seed file as `-i`. */
export function zsync(env: ClientEnv, seeds: string[]): Promise<ToolRun> {
  return measured(
    env,
    'zsync',
    (out) => [...seeds.flatMap((s) => ['-i', s]), '-o', out, `${env.nginx.url}new.iso.zsync`],
    (run) => /used \d+ local, fetched \d+/.exec(run.stdout + run.stderr)?.[0],
  );
}

/**
 * jigdo-file, as jigdo-lite drives it: fetch the .jigdo and .template (wget),
 * `make-image` from the seed folder, `print-missing`, fetch the missing files
 * from the [Servers] mirror (one wget), `make-image` again with them (it checks
 * the image's MD5 when complete).
 */
export function jigdo(env: ClientEnv, seedFolder: string): Promise<ToolRun> {
  const script = `set -e
url=$1; seeds=$2; out=$3
wget -q "\${url}new.jigdo" "\${url}new.template"
files="--image=$out --jigdo=new.jigdo --template=new.template"
jigdo-file make-image --report=quiet $files "$seeds//" || [ $? = 1 ]   # 1: incomplete, go on
if [ ! -f "$out" ]; then
  jigdo-file print-missing $files > missing.txt
  echo "missing: $(wc -l < missing.txt) files" >&2
  wget -q -x -nH -P fetched -i missing.txt
  jigdo-file make-image --report=quiet $files fetched//
fi`;
  return measured(env, 'bash', (out) => ['-c', script, 'jigdo', env.nginx.url, seedFolder, out], (run) => /missing: \d+ files/.exec(run.stderr)?.[0]);
}

/** The page in headless Chromium; CPU and memory of the browser's processes from /proc. */
export async function page(env: ClientEnv, siteUrl: string, seeds: string[], mode: OutputMode, profileDir: string): Promise<ToolRun> {
  await env.nginx.resetLog();
  const p = await runPage({ siteUrl, manifestUrl: `${env.nginx.url}new.iso.tessera`, seeds, mode, profileDir, download: mode === 'opfs' });
  const log = await fetchedSince(env.nginx);
  const downloaded = p.download === null || p.download.sha256 === env.newSha256;
  const ok = p.ok && p.digest === env.newSha256 && downloaded;
  return {
    ok,
    problem: ok ? undefined : !downloaded ? `the browser downloaded a file of ${p.download!.bytes} bytes, SHA-256 ${p.download!.sha256}, not the new image` : p.ok ? `page verified ${p.digest}, not the new image` : p.message.slice(0, 200),
    downloadWall: p.download?.seconds,
    wall: p.seconds,
    cpu: p.usage.cpu,
    rssKb: p.usage.peakKb,
    privateKb: p.usage.privatePeakKb,
    harnessWall: p.harnessSeconds,
    ...log,
    note: `scan ${p.scanSeconds.toFixed(2)} s, ${p.usage.processes} browser processes, private memory peak ${(p.usage.privatePeakKb / 1024).toFixed(0)} MB`,
  };
}
