// The results as Markdown (printed, and written to docs/performance.md with --write):
// one table of medians with ratios to the references, the matcher's throughput,
// and the issue's targets, each checked against the figures.
import type { ScanRun, ToolRun } from './clients.ts';
import type { MadeControlFile } from './control-files.ts';
import { lostCpu } from './machine.ts';
import { PAGE_SAMPLE_MS } from './page-run.ts';
import { median } from './stats.ts';
import { CASE_LABEL, type CaseId, type ControlId, REFERENCES, TOOL, TOOLS_BY_CASE, type ToolId } from './tools.ts';

export interface Results {
  runs: number;
  cases: CaseId[];
  tools: ToolId[];
  measured: Map<string, ToolRun[]>;
  control: Partial<Record<ControlId, MadeControlFile>>;
  scans: Partial<Record<CaseId, ScanRun[]>>;
  /** Why a tool was not run (missing program, failed control file…). */
  skipped: Map<string, string>;
}

export const key = (c: CaseId, t: ToolId) => `${c}/${t}`;

interface Medians {
  wall: number;
  cpu: number;
  rssMb: number;
  fetched: number;
  requests: number;
  control: number;
  ok: number;
  runs: number;
}

function mediansOf(results: Results, c: CaseId, t: ToolId): Medians | undefined {
  const runs = results.measured.get(key(c, t)) ?? [];
  const good = runs.filter((r) => r.ok);
  if (good.length === 0) return undefined;
  const m = (f: (r: ToolRun) => number | null) => median(good.map((r) => f(r) ?? NaN));
  return {
    wall: m((r) => r.wall),
    cpu: m((r) => r.cpu),
    rssMb: m((r) => (r.rssKb === null ? null : r.rssKb / 1024)),
    fetched: m((r) => r.fetched),
    requests: m((r) => r.requests),
    control: results.control[TOOL[t].control]?.bytes ?? NaN,
    ok: good.length,
    runs: runs.length,
  };
}

const n = (x: number, digits: number) => (Number.isFinite(x) ? x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

function cell(results: Results, c: CaseId, t: ToolId, value: (m: Medians) => number, digits: number): string {
  const m = mediansOf(results, c, t)!;
  const v = value(m);
  if (!Number.isFinite(v)) return 'n/a';
  const refs = REFERENCES[c].filter((r) => r !== t && results.tools.includes(r));
  const ratios = refs.map((r) => {
    const rm = mediansOf(results, c, r);
    return rm ? ratio(v, value(rm)) : 'n/a';
  });
  return ratios.length ? `${n(v, digits)} (${ratios.join(' / ')})` : n(v, digits);
}

function comparisonTable(results: Results): string[] {
  const out = [
    '| seed | tool | wall s | CPU s | peak RSS MB | fetched bytes | control file bytes | requests | runs ok |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const c of results.cases) {
    for (const t of TOOLS_BY_CASE[c]) {
      if (!results.tools.includes(t)) continue;
      const runs = results.measured.get(key(c, t)) ?? [];
      const skipped = results.skipped.get(key(c, t));
      const m = mediansOf(results, c, t);
      if (!m) {
        const why = skipped ?? runs.find((r) => r.problem)?.problem ?? 'not run';
        out.push(`| ${CASE_LABEL[c]} | ${TOOL[t].label} | ${skipped ? 'not run' : 'failed'}: ${why.replace(/\|/g, '/')} | | | | | | 0/${runs.length} |`);
        continue;
      }
      const page = t.startsWith('page');
      out.push(
        `| ${CASE_LABEL[c]} | ${TOOL[t].label} | ${cell(results, c, t, (x) => x.wall, 2)} | ${cell(results, c, t, (x) => x.cpu, 2)}${page ? ' *' : ''} | ${cell(results, c, t, (x) => x.rssMb, 0)}${page ? ' *' : ''} | ${cell(results, c, t, (x) => x.fetched, 0)} | ${cell(results, c, t, (x) => x.control, 0)} | ${cell(results, c, t, (x) => x.requests, 0)} | ${m.ok}/${m.runs} |`,
      );
    }
  }
  return out;
}

/** The page's wall time as the bench's driver saw it, beside its own in the table. */
function pageHarnessWall(results: Results): string[] {
  const parts = (['page-opfs', 'page-save-as'] as const).flatMap((t) => {
    const walls = (results.measured.get(key('iso', t)) ?? []).filter((r) => r.ok && r.harnessWall !== undefined).map((r) => r.harnessWall!);
    return walls.length ? [`${TOOL[t].label} ${median(walls).toFixed(2)} s`] : [];
  });
  return parts.length ? [`- The page's wall as the bench's driver saw it (its round trips to the browser included; median): ${parts.join('; ')}.`] : [];
}

/** Built in place, the image is in the site's storage: then the browser's download of it into a folder (not in the table's wall). */
function pageDownload(results: Results): string[] {
  const runs = (results.measured.get(key('iso', 'page-opfs')) ?? []).filter((r) => r.ok && r.downloadWall !== undefined);
  if (runs.length === 0) return [];
  const download = median(runs.map((r) => r.downloadWall!));
  const total = median(runs.map((r) => r.wall + r.downloadWall!));
  return [
    `- ${TOOL['page-opfs'].label}: the image is then in the site's storage, offered by a Save link. The browser's download of it into a folder, after each run (the link clicked; to the browser's "completed", the file's SHA-256 checked): ${download.toFixed(2)} s (median), so ${total.toFixed(2)} s in all to the image in a folder. "Save as" times its copy into the chosen file.`,
  ];
}

/** The page's private memory, beside the sum of its processes' peaks in the table. */
function pageMemory(results: Results): string[] {
  const parts = (['page-opfs', 'page-save-as'] as const).flatMap((t) => {
    const kbs = (results.measured.get(key('iso', t)) ?? []).filter((r) => r.ok && r.privateKb !== undefined).map((r) => r.privateKb!);
    return kbs.length ? [`${TOOL[t].label} ${(median(kbs) / 1024).toFixed(0)} MB`] : [];
  });
  return parts.length
    ? [`- The page's memory without the mapped program files (the peak, over the samples, of RssAnon + RssShmem summed over the browser's processes; shared memory counts once per process that maps it, so an upper bound; median): ${parts.join('; ')}.`]
    : [];
}

/** How much CPU the host took from this machine while the clients ran (steal), where it took any. */
function stealNotes(results: Results): string[] {
  if (![...results.measured.values()].flat().some((r) => lostCpu(r.steal))) return [];
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const perClient = results.cases.flatMap((c) =>
    TOOLS_BY_CASE[c].flatMap((t) => {
      const shares = (results.measured.get(key(c, t)) ?? []).filter((r) => r.steal !== undefined).map((r) => r.steal!);
      return shares.length ? [`${CASE_LABEL[c]} ${TOOL[t].label} ${pct(median(shares))} (${pct(Math.min(...shares))}-${pct(Math.max(...shares))})`] : [];
    }),
  );
  return [
    `- CPU taken by the host: this machine is a virtual machine, and its host gave part of its CPU time to other machines while the clients ran ("steal" in /proc/stat; share of both cores' time, median and range of the runs): ${perClient.join('; ')}. A run that lost CPU this way took longer than this machine's own speed makes it.`,
  ];
}

function controlNotes(results: Results): string[] {
  const made = (id: ControlId, what: string) => {
    const f = results.control[id];
    if (!f) return [];
    const sizes = f.files.map((x) => `${x.name} ${n(x.bytes, 0)}`).join(' + ');
    return [`${what}${f.detail ? `, ${f.detail}` : ''}: ${sizes} bytes, made in ${f.made.wall.toFixed(1)} s (${f.made.cpu.toFixed(1)} s CPU, ${(f.made.maxRssKb / 1024).toFixed(0)} MB peak RSS)`];
  };
  return [...made('tessera', '`tessera make`'), ...made('zsync', '`zsyncmake` (defaults)'), ...made('jigdo', '`jigdo-file make-template` (defaults)')].map((l) => `- ${l}`);
}

function scanTable(results: Results): string[] {
  const rows = results.cases.flatMap((c) => {
    const scans = (results.scans[c] ?? []).filter((s) => s.ok);
    if (scans.length === 0) return [];
    const seconds = median(scans.map((s) => s.seconds));
    const cpu = median(scans.map((s) => s.cpu));
    const bytes = scans[0].seedBytes;
    return [`| ${CASE_LABEL[c]} | ${n(bytes, 0)} | ${seconds.toFixed(2)} | ${cpu.toFixed(2)} | **${n(bytes / 1e6 / seconds, 0)}** |`];
  });
  if (rows.length === 0) return [];
  return [
    'Matcher throughput: `tessera get --dry-run --threads 1 --json` (manifest loaded, seeds scanned, plan made, on one thread, so this is per core; `tessera get` itself scans on every core). `seconds` is its own figure; CPU s (user+sys, GNU time) includes starting Node.',
    '',
    '| seed | seed bytes | scan s | CPU s | MB/s per core |',
    '|---|--:|--:|--:|--:|',
    ...rows,
  ];
}

interface Target {
  label: string;
  limit: number;
  /** [measured value, how it is shown] */
  measure(): [number, string] | undefined;
}

function wallRatio(results: Results, c: CaseId, t: ToolId, ref: ToolId): Target['measure'] {
  return () => {
    const a = mediansOf(results, c, t);
    const b = mediansOf(results, c, ref);
    return a && b ? [a.wall / b.wall, `${a.wall.toFixed(2)} s / ${b.wall.toFixed(2)} s = **${(a.wall / b.wall).toFixed(2)}x**`] : undefined;
  };
}

function bytesRatio(results: Results, c: CaseId): Target['measure'] {
  return () => {
    const a = mediansOf(results, c, 'tessera');
    const b = mediansOf(results, c, 'zsync');
    if (!a || !b) return undefined;
    const x = a.fetched + a.control;
    const y = b.fetched + b.control;
    return [x / y, `${n(x, 0)} / ${n(y, 0)} = **${(x / y).toFixed(3)}x**`];
  };
}

export function targets(results: Results): Target[] {
  return [
    { label: 'old ISO: `tessera get` wall vs zsync', limit: 0.5, measure: wallRatio(results, 'iso', 'tessera', 'zsync') },
    { label: `old ISO: ${TOOL['page-opfs'].label} wall vs zsync`, limit: 0.75, measure: wallRatio(results, 'iso', 'page-opfs', 'zsync') },
    { label: `old ISO: ${TOOL['page-save-as'].label} wall vs zsync`, limit: 0.75, measure: wallRatio(results, 'iso', 'page-save-as', 'zsync') },
    { label: 'loose files: `tessera get` wall vs jigdo-file make-image', limit: 0.5, measure: wallRatio(results, 'loose', 'tessera', 'jigdo') },
    { label: 'loose files: `tessera get` wall vs zsync', limit: 0.5, measure: wallRatio(results, 'loose', 'tessera', 'zsync') },
    { label: 'old ISO: `tessera get` fetched + manifest vs zsync fetched + .zsync (bytes)', limit: 1, measure: bytesRatio(results, 'iso') },
    { label: 'loose files: `tessera get` fetched + manifest vs zsync fetched + .zsync (bytes)', limit: 1, measure: bytesRatio(results, 'loose') },
  ];
}

export function targetTable(list: Target[]): string[] {
  return [
    '| target (issue 5) | measured (medians) | limit | result |',
    '|---|--:|--:|---|',
    ...list.map((t) => {
      const m = t.measure();
      return `| ${t.label} | ${m ? m[1] : 'not measured'} | <= ${t.limit}x | ${m ? (m[0] <= t.limit ? 'PASS' : '**FAIL**') : 'n/a'} |`;
    }),
  ];
}

export function comparisonReport(results: Results, header: string[]): string[] {
  const scan = scanTable(results);
  return [
    ...header,
    '',
    ...comparisonTable(results),
    '',
    'Medians of the runs that built the right image; in parentheses the ratio to zsync (old ISO), or to zsync / to jigdo-file (loose files).',
    '',
    "- wall: seconds from start to the verified image (the page: from opening its address, the browser already running, to the verified result on screen, by the page's own clock, Start pressed from inside the page as soon as the plan is shown, and the few ms between them left out. The browser is driven through the DevTools protocol without its Network domain: Playwright turns that on, and the browser's reports of every response chunk to it cost the page 0.35-0.5 s).",
    '- CPU: user+sys seconds of the client and its children; peak RSS: of its largest process (GNU time).',
    `- \\* the page: every process of the browser, sampled from /proc every ${PAGE_SAMPLE_MS} ms: CPU from opening the address; memory, the sum of each process's peak (VmHWM), which counts the shared program files once per process.`,
    '- "Save as" is simulated (pickers cannot be driven headlessly): the picker returns a file in the site\'s storage, written through the same writable stream. Into a file on the disk, Chromium\'s `close()` also reads the whole file again to hash it for Safe Browsing before putting it in place (content/browser/file_system_access/file_system_access_safe_move_helper.cc); not into the site\'s storage, so that pass is not in its figures.',
    "- fetched, requests: nginx's access log, control files left out (the page's count includes its 1-byte mirror check; zsync sends up to 20 ranges per request).",
    '- control file: `.tessera`; `.zsync`; `.jigdo` + `.template`. jigdo-file runs as jigdo-lite drives it, with wget for the .jigdo, the .template and the missing files.',
    ...pageHarnessWall(results),
    ...pageDownload(results),
    ...pageMemory(results),
    ...stealNotes(results),
    ...controlNotes(results),
    ...(scan.length ? ['', ...scan] : []),
    '',
    ...targetTable(targets(results)),
  ];
}
