// scratch: the browser's CPU over time (20 ms samples, all processes) beside the page's marks. node scripts/run-ts.mjs bench/zz-timeline.ts RUNS
import { mkdir, symlink, rm } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx } from '../test/helpers/nginx.ts';
import { runCli } from '../test/helpers/run-cli.ts';
import { tempDir } from '../test/helpers/temp-dir.ts';
import { NO_SAVE_PICKER } from '../test/helpers/browser.ts';
import { CORPUS_DIR } from './lib/inputs.ts';
import { CdpTab } from './lib/cdp-chromium.ts';
import { startPageSite } from './lib/page-run.ts';

const runs = Number(process.argv[2] ?? 1);
const settles = (process.argv[3] ?? '0').split(',').map(Number);
const verbose = process.argv[4] === 'v';
const results = new Map<number, number[]>();
const dir = await tempDir('tessera-tl-');
const www = join(dir.path, 'www');
await mkdir(www);
await symlink(join(CORPUS_DIR, 'new.iso'), join(www, 'new.iso'));
const mirror = await startNginx(www, join(dir.path, 'nginx'), { cors: true });
const site = await startPageSite(join(dir.path, 'site'));
const made = await runCli(['make', join(www, 'new.iso'), '-o', join(www, 'new.iso.tessera')]);
if (made.code !== 0) throw new Error(made.stderr);
const manifestUrl = `${mirror.url}new.iso.tessera`;
const TICK = 100; // clock ticks a second
function treeCpu(root: number): number {
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      children.set(Number(f[1]), [...(children.get(Number(f[1])) ?? []), Number(name)]);
      cpu.set(Number(name), (Number(f[11]) + Number(f[12])) / TICK);
    } catch {}
  }
  let total = 0;
  const stack = [root];
  while (stack.length) { const p = stack.pop()!; total += cpu.get(p) ?? 0; stack.push(...(children.get(p) ?? [])); }
  return total;
}
for (let r = 0; r < runs; r++) for (const settle of settles) {
  const tab = await CdpTab.launch(join(dir.path, `p${r}`));
  await tab.addInitScript(NO_SAVE_PICKER + `
  window.__benchUntil = (test) => new Promise((resolve) => {
    const check = () => { if (!test()) return false; observer.disconnect(); resolve(true); return true; };
    const observer = new MutationObserver(check);
    if (!check()) observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  __benchUntil(() => { const s = document.querySelector('[data-testid=start]'); return s && !s.disabled && document.querySelectorAll('[data-testid=seed-list] li[data-state=done]').length >= 1; }).then(() => document.querySelector('[data-testid=start]').click());
  `);
  { const c0 = treeCpu(tab.pid!); await new Promise((res) => setTimeout(res, settle)); if (settle) console.log(`settle ${settle} ms: browser used ${(treeCpu(tab.pid!) - c0).toFixed(2)} s CPU meanwhile`); }
  const samples: [number, number][] = [];
  let going = true;
  const t0 = performance.now();
  const base = treeCpu(tab.pid!);
  const sampling = (async () => { while (going) { samples.push([performance.now() - t0, treeCpu(tab.pid!) - base]); await new Promise((res) => setTimeout(res, 100)); } })();
  await tab.goto(`${site.url}?manifest=${encodeURIComponent(manifestUrl)}`);
  await tab.evaluate(`__benchUntil(() => document.querySelector('[data-testid=seed-files]:enabled'))`);
  await tab.setInputFiles('[data-testid=seed-files]', [join(CORPUS_DIR, 'old.iso')]);
  await tab.evaluate(`__benchUntil(() => document.querySelector('[data-testid=result], [data-testid=error]'))`);
  going = false; await sampling;
  const marks = await tab.evaluate<string>(`(performance.timeOrigin + '|') + performance.getEntriesByType('mark').filter((m) => m.name.startsWith('tessera:')).map((m) => m.name.slice(8) + ' ' + m.startTime.toFixed(0)).join(', ')`);
  const [origin, list] = marks.split('|');
  const shift = Number(origin) - (performance.timeOrigin + t0);
  console.log(`run ${r}: page origin +${shift.toFixed(0)} ms; marks (page ms): ${list}`);
  // cores busy per 200 ms window
  let prev = samples[0];
  const rows: string[] = [];
  for (const s of samples) { if (s[0] - prev[0] >= 95) { rows.push(`${(prev[0] - shift).toFixed(0).padStart(5)}-${(s[0] - shift).toFixed(0).padStart(5)}: ${((s[1] - prev[1]) / ((s[0] - prev[0]) / 1000)).toFixed(2)} cores`); prev = s; } }
  if (verbose) console.log(rows.join('\n'));
  const shown = Number(/result-shown (\d+)/.exec(list)![1]) + shift; const own = (shown) / 1000; results.set(settle, [...(results.get(settle) ?? []), own]);
  console.log(`settle ${settle}: ${own.toFixed(2)} s, cpu ${samples.at(-1)![1].toFixed(2)}`);
  await tab.close();
  await rm(join(dir.path, `p${r}`), { recursive: true, force: true });
}
for (const [k, v] of results) console.log(`settle ${k}: median ${v.sort((a, b) => a - b)[v.length >> 1].toFixed(2)} [${v.map((x) => x.toFixed(2)).join(' ')}]`);
process.exit(0);
