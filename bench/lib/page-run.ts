// One run of the web page (dist/web) in headless Chromium, driven through the DevTools protocol
// (cdp-chromium.ts: no Playwright, whose network instrumentation slows the page): open a manifest,
// give the seed files, download and build, wait for the verified result.
import { mkdir, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sha256OfFile } from '../../src/node/native-hasher.ts';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import { NO_SAVE_PICKER, SAVE_TO_OPFS } from '../../test/helpers/browser.ts';
import { CdpTab } from './cdp-chromium.ts';
import { ProcessTreeSampler, type TreeUsage, waitUntilQuiet } from './process-tree.ts';

/**
 * 'opfs': a browser without "Save as" (showSaveFilePicker): the page builds the
 * image in place in the site's storage (the default outside Chromium).
 * 'save-as': Chromium's "Save as" (a writable stream); pickers cannot be driven
 * headlessly, so the picker returns a file in the site's storage.
 */
export type OutputMode = 'opfs' | 'save-as';

/**
 * The built page (dist/web) on a local port of its own (another origin than
 * the mirror's), all of it as deployed: its service worker (which precaches
 * the page on a first visit, as in every run here: each has a new profile) too.
 */
export async function startPageSite(dir: string): Promise<RunningServer> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir('dist/web')) await symlink(resolve('dist/web', entry), join(dir, entry));
  return startStaticServer({ root: dir });
}

export interface PageRun {
  ok: boolean;
  /** What the page showed at the end (the error, when not ok). */
  message: string;
  /** The checksum the page says it verified. */
  digest: string;
  /**
   * From opening the address to the verified result on screen (the browser is
   * already running), by the page's clock, less the time the plan waited for
   * the click on Start (pageOwnSeconds); `harnessSeconds` when the run failed.
   */
  seconds: number;
  /** The same span as this process saw it (the driver's round trips included). */
  harnessSeconds: number;
  /** How long the plan was on screen before Start was clicked (left out of `seconds`). */
  clickWaitSeconds: number | null;
  /** The scan of the seeds, from its start to its plan (the page's last scan-start and scan-end marks). */
  scanSeconds: number;
  /** Page loaded and the mirror checked; plan shown (seconds since opening). */
  loadedAt: number;
  plannedAt: number;
  /** The browser's processes over the same span as `seconds`. */
  usage: TreeUsage;
  /** Durations (ms) of the main thread's long tasks while scanning. */
  longTasks: number[];
  /** The page's performance marks (`tessera:…`), as text. */
  marks: string[];
  /** The assembly's own timings (JSON), from the result. */
  assemblyTimings: string | null;
  browserVersion: string;
  /** With `download` (built in place): the browser's download of the built image into a folder, after the run. */
  download: { seconds: number; bytes: number; sha256: string } | null;
}

/** How often the browser's processes are sampled while the page runs. */
export const PAGE_SAMPLE_MS = 250;

/**
 * In-page helpers, run before the page's own scripts: the long tasks seen, and
 * `__benchUntil(test)`, a promise that resolves once `test()` holds (checked at
 * each change of the document, so no polling lag).
 */
const PAGE_HELPERS = `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
    .observe({ type: 'longtask', buffered: true });
  window.__benchUntil = (test) => new Promise((resolve) => {
    const check = () => { if (!test()) return false; observer.disconnect(); resolve(true); return true; };
    const observer = new MutationObserver(check);
    if (!check()) observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  });
`;

/**
 * Start is pressed from inside the page as soon as the plan for these seeds is
 * shown, as by a user who has made up their mind: a click from outside waits on
 * the driver noticing the plan, time the page goes on working in (it hashes
 * from the plan on) but that is left out of its time.
 */
const pressStartWhenPlanned = (seeds: number) => `
  __benchUntil(() => {
    const start = document.querySelector('[data-testid=start]');
    return start && !start.disabled && document.querySelectorAll('[data-testid=seed-list] li[data-state=done]').length >= ${seeds};
  }).then(() => document.querySelector('[data-testid=start]').click());
`;

const until = (test: string) => `__benchUntil(() => ${test})`;
const present = (selector: string) => until(`document.querySelector(${JSON.stringify(selector)})`);

interface PageClock {
  origin: number;
  planned: number;
  started: number;
  shown: number;
  scanStart: number;
}

/**
 * The page's own time for a run that started at `startEpochMs` (before the
 * address was opened; this process's clock, the same system clock as the
 * browser's): to the `tessera:result-shown` mark, less the time between the
 * plan (`tessera:scan-end`) and the click on Start (`tessera:start`).
 */
function pageOwnSeconds(m: PageClock, startEpochMs: number): { seconds: number; clickWait: number } {
  const clickWait = (m.started - m.planned) / 1000;
  return { seconds: (m.origin + m.shown - startEpochMs) / 1000 - clickWait, clickWait };
}

/**
 * After a run built in place: click the result's Save link and wait for the
 * browser to finish writing the image into `folder` (its download, as a user's
 * browser does it: it hashes what it writes and renames the file at the end).
 * Timed from the click to the browser's "completed"; the file is read back
 * for its SHA-256, then deleted.
 */
async function timeDownload(tab: CdpTab, folder: string): Promise<{ seconds: number; bytes: number; sha256: string }> {
  await mkdir(folder, { recursive: true });
  await tab.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: folder, eventsEnabled: true }, 'browser');
  const ended = new Promise<string>((resolve) => tab.on('Browser.downloadProgress', (p) => p.state !== 'inProgress' && resolve(String(p.state))));
  const t = performance.now();
  await tab.evaluate(`document.querySelector('[data-testid=save-link]').click(), true`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const state = await Promise.race([ended, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('not finished in 120 s'), 120_000)))]);
  clearTimeout(timer);
  const seconds = (performance.now() - t) / 1000;
  if (state !== 'completed') throw new Error(`the browser's download of the built image: ${state}`);
  const [name] = await readdir(folder);
  const path = join(folder, name);
  const downloaded = { seconds, bytes: (await stat(path)).size, sha256: await sha256OfFile(path) };
  await rm(folder, { recursive: true, force: true });
  return downloaded;
}

export async function runPage(options: {
  siteUrl: string;
  manifestUrl: string;
  seeds: string[];
  mode: OutputMode;
  profileDir: string;
  screenshots?: string;
  /** Built in place: then time the browser's download of the image into a folder (PageRun.download). */
  download?: boolean;
}): Promise<PageRun> {
  // (Each sample reads /proc for every process and thread: ~3.5 ms of CPU on the cores the page uses.)
  const sampler = new ProcessTreeSampler(PAGE_SAMPLE_MS);
  const tab = await CdpTab.launch(options.profileDir);
  try {
    const browserVersion = await tab.version();
    await tab.addInitScript(options.mode === 'save-as' ? SAVE_TO_OPFS : NO_SAVE_PICKER);
    await tab.addInitScript(PAGE_HELPERS);
    const shots = options.screenshots;
    if (!shots) await tab.addInitScript(pressStartWhenPlanned(options.seeds.length));
    const shot = async (name: string) => shots && writeFile(join(shots, name), await tab.screenshot());
    // The browser is already running, as a user's is: done with its own start-up (0.15 s faster here).
    await waitUntilQuiet(tab.pid!);
    sampler.start();
    const t = performance.now();
    await tab.goto(`${options.siteUrl}?manifest=${encodeURIComponent(options.manifestUrl)}`);
    if (!shots) {
      // The files are given as soon as the page takes them (while it loads the manifest), as by a
      // user who drops them at once.
      await tab.evaluate(present('[data-testid=seed-files]:enabled'));
      await tab.setInputFiles('[data-testid=seed-files]', options.seeds);
    }
    await tab.evaluate(present('[data-testid=image-name]'));
    await tab.evaluate(until(`document.querySelector('[data-testid=mirror]')?.textContent.includes('Range and CORS work')`));
    const tLoaded = performance.now();
    if (shots) {
      await shot('1-image.png');
      await tab.setInputFiles('[data-testid=seed-files]', options.seeds);
      await tab.evaluate(present('[data-testid=seed-list] li[data-state=scanning]'));
      await shot('2-scanning.png');
      await tab.evaluate(until(`document.querySelectorAll('[data-testid=seed-list] li[data-state=done]').length >= ${options.seeds.length}`));
      await tab.evaluate(present('[data-testid=start]:enabled'));
      await shot('3-plan.png');
      await tab.evaluate(`document.querySelector('[data-testid=start]').click()`);
      await tab.evaluate(present('[data-testid=progress]'));
      await new Promise((r) => setTimeout(r, 1500));
      await shot('4-progress.png');
    }
    await tab.evaluate(present('[data-testid=result], [data-testid=error]'));
    const harnessSeconds = (performance.now() - t) / 1000;
    const end = await tab.evaluate<{ ok: boolean; message: string; digest: string; timings: string | null }>(`(() => {
      const end = document.querySelector('[data-testid=result], [data-testid=error]');
      return {
        ok: end.dataset.testid === 'result',
        message: end.innerText.replace(/\\s+/g, ' ').trim(),
        digest: document.querySelector('[data-testid=result-checksum]')?.innerText ?? '',
        timings: document.querySelector('[data-testid=result-figures]')?.getAttribute('data-timings') ?? null,
      };
    })()`);
    // The mark is set after the frame that paints the result.
    if (end.ok) await tab.evaluate(`new Promise((resolve) => { const seen = () => performance.getEntriesByName('tessera:result-shown').length ? resolve(true) : requestAnimationFrame(seen); seen(); })`);
    const usage = sampler.stop();
    const clock = await tab.evaluate<PageClock>(`(() => {
      const at = (name) => performance.getEntriesByName(name).at(-1)?.startTime ?? NaN;
      return { origin: performance.timeOrigin, planned: at('tessera:scan-end'), started: at('tessera:start'), shown: at('tessera:result-shown'), scanStart: at('tessera:scan-start') };
    })()`);
    // The run's time by the page's own clock: from before opening the address to the result on screen,
    // less the time the plan waited for Start to be clicked.
    const own = end.ok ? pageOwnSeconds(clock, performance.timeOrigin + t) : null;
    await shot('5-verified.png');
    const marks = await tab.evaluate<string[]>(`performance
      .getEntriesByType('mark')
      .filter((m) => m.name.startsWith('tessera:'))
      .map((m) => m.name.slice(8) + ' ' + m.startTime.toFixed(0) + (m.detail ? ' ' + JSON.stringify(m.detail) : ''))`);
    const tasks = await tab.evaluate<{ start: number; duration: number }[]>('window.__longTasks');
    // The scan of these seeds and its plan: the page's last scan marks.
    const scanStart = Number.isNaN(clock.scanStart) ? 0 : clock.scanStart;
    const scanEnd = Number.isNaN(clock.planned) ? await tab.evaluate<number>('performance.now()') : clock.planned;
    const plannedAt = (clock.origin + scanEnd - (performance.timeOrigin + t)) / 1000;
    const download = options.download && options.mode === 'opfs' && end.ok ? await timeDownload(tab, join(options.profileDir, 'downloads')) : null;
    return {
      ok: end.ok,
      message: end.message,
      digest: end.digest,
      seconds: own?.seconds ?? harnessSeconds,
      harnessSeconds,
      clickWaitSeconds: own?.clickWait ?? null,
      scanSeconds: (scanEnd - scanStart) / 1000,
      loadedAt: (tLoaded - t) / 1000,
      plannedAt,
      usage,
      longTasks: tasks.filter((x) => x.start >= scanStart && x.start <= scanEnd).map((x) => x.duration),
      marks,
      assemblyTimings: end.ok ? end.timings : null,
      browserVersion,
      download,
    };
  } finally {
    sampler.stop();
    await tab.close();
    await rm(options.profileDir, { recursive: true, force: true });
  }
}
