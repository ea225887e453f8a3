// One run of the web page (dist/web) in headless Chromium: open a manifest,
// give the seed files, download and build, wait for the verified result.
import { mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type RunningServer, startStaticServer } from '../../src/node/static-server.ts';
import type { Page } from 'playwright-core';
import { NO_SAVE_PICKER, SAVE_TO_OPFS, launchChromiumWithProfile } from '../../test/helpers/browser.ts';
import { ProcessTreeSampler, type TreeUsage } from './process-tree.ts';

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
  /** The same span as this process saw it: Playwright's polling and click included. */
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
}

/**
 * The page's own time for a run that started at `startEpochMs` (before the
 * address was opened; this process's clock, the same system clock as the
 * browser's): to the `tessera:result-shown` mark, less the time between the
 * plan (`tessera:scan-end`) and the click on Start (`tessera:start`).
 */
async function pageOwnSeconds(tab: Page, startEpochMs: number): Promise<{ seconds: number; clickWait: number }> {
  await tab.waitForFunction(() => performance.getEntriesByName('tessera:result-shown').length > 0, undefined, { polling: 'raf' });
  const m = await tab.evaluate(() => {
    const at = (name: string) => performance.getEntriesByName(name).at(-1)?.startTime ?? NaN;
    return { origin: performance.timeOrigin, planned: at('tessera:scan-end'), started: at('tessera:start'), shown: at('tessera:result-shown') };
  });
  const clickWait = (m.started - m.planned) / 1000;
  return { seconds: (m.origin + m.shown - startEpochMs) / 1000 - clickWait, clickWait };
}

export async function runPage(options: { siteUrl: string; manifestUrl: string; seeds: string[]; mode: OutputMode; profileDir: string; screenshots?: string }): Promise<PageRun> {
  const sampler = new ProcessTreeSampler();
  const context = await launchChromiumWithProfile(options.profileDir);
  try {
    const browserVersion = context.browser()?.version() ?? '';
    await context.addInitScript(options.mode === 'save-as' ? SAVE_TO_OPFS : NO_SAVE_PICKER);
    await context.addInitScript(`
      window.__longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
        .observe({ type: 'longtask', buffered: true });
    `);
    const tab = context.pages()[0] ?? (await context.newPage());
    const shot = async (name: string) => options.screenshots && tab.screenshot({ path: join(options.screenshots, name), fullPage: true });
    sampler.start();
    const t = performance.now();
    await tab.goto(`${options.siteUrl}?manifest=${encodeURIComponent(options.manifestUrl)}`);
    if (!options.screenshots) {
      // Start is pressed from inside the page as soon as the plan for these seeds is shown, as by a
      // user who has made up their mind. A click from here waits on Playwright's polling (0.1-0.5 s),
      // time the page goes on working in (it hashes from the plan on) but that is left out of its time.
      await tab.evaluate((seeds) => {
        const observer = new MutationObserver(() => {
          const start = document.querySelector<HTMLButtonElement>('[data-testid=start]');
          if (!start || start.disabled || document.querySelectorAll('[data-testid=seed-list] li[data-state=done]').length < seeds) return;
          observer.disconnect();
          start.click();
        });
        observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      }, options.seeds.length);
      // The files are given as soon as the page takes them (while it loads the manifest), as by a
      // user who drops them at once: waiting for the mirror check first put Playwright's polling
      // (40-200 ms) into the page's time.
      await tab.locator('[data-testid=seed-files]:enabled').waitFor({ state: 'attached' });
      await tab.getByTestId('seed-files').setInputFiles(options.seeds);
    }
    await tab.getByTestId('image-name').waitFor();
    await tab.getByTestId('mirror').getByText('Range and CORS work').waitFor();
    const tLoaded = performance.now();
    if (options.screenshots) {
      await shot('1-image.png');
      await tab.getByTestId('seed-files').setInputFiles(options.seeds);
      await tab.locator('[data-testid=seed-list] li[data-state=scanning]').first().waitFor();
      await shot('2-scanning.png');
      await tab.locator('[data-testid=seed-list] li[data-state=done]').nth(options.seeds.length - 1).waitFor({ timeout: 1_800_000 });
      await tab.locator('[data-testid=start]:enabled').waitFor();
      await shot('3-plan.png');
      await tab.getByTestId('start').click();
      await tab.getByTestId('progress').waitFor();
      await tab.waitForTimeout(1500);
      await shot('4-progress.png');
    }
    const end = tab.locator('[data-testid=result], [data-testid=error]').first();
    await end.waitFor({ timeout: 1_800_000 });
    const harnessSeconds = (performance.now() - t) / 1000;
    const usage = sampler.stop();
    const ok = (await end.getAttribute('data-testid')) === 'result';
    // The run's time by the page's own clock: from before opening the address to the result on screen,
    // less the time the plan waited for Start to be clicked. Playwright notices a new element by
    // retrying its check (with a back-off of up to 500 ms), which added 0.1-0.9 s to a run.
    const own = ok ? await pageOwnSeconds(tab, performance.timeOrigin + t) : null;
    const seconds = own?.seconds ?? harnessSeconds;
    await shot('5-result.png');
    const message = (await end.innerText()).replace(/\s+/g, ' ').trim();
    const digest = ok ? await tab.getByTestId('result-checksum').innerText() : '';
    const marks = await tab.evaluate(() =>
      performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('tessera:'))
        .map((m) => `${m.name.slice(8)} ${m.startTime.toFixed(0)}${(m as PerformanceMark).detail ? ` ${JSON.stringify((m as PerformanceMark).detail)}` : ''}`),
    );
    const tasks: { start: number; duration: number }[] = await tab.evaluate(() => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks);
    // The scan of these seeds and its plan: the page's last scan marks, in the page's clock (timeOrigin + ms).
    const scan = await tab.evaluate(() => ({
      origin: performance.timeOrigin,
      start: performance.getEntriesByName('tessera:scan-start').at(-1)?.startTime ?? 0,
      end: performance.getEntriesByName('tessera:scan-end').at(-1)?.startTime ?? performance.now(),
    }));
    const scanStart = scan.start;
    const scanEnd = scan.end;
    const plannedAt = (scan.origin + scanEnd - (performance.timeOrigin + t)) / 1000;
    return {
      ok,
      message,
      digest,
      seconds,
      harnessSeconds,
      clickWaitSeconds: own?.clickWait ?? null,
      scanSeconds: (scanEnd - scanStart) / 1000,
      loadedAt: (tLoaded - t) / 1000,
      plannedAt,
      usage,
      longTasks: tasks.filter((x) => x.start >= scanStart && x.start <= scanEnd).map((x) => x.duration),
      marks,
      assemblyTimings: ok ? await tab.getByTestId('result-figures').getAttribute('data-timings') : null,
      browserVersion,
    };
  } finally {
    sampler.stop();
    await context.close();
    await rm(options.profileDir, { recursive: true, force: true });
  }
}
