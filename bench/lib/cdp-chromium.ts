// Chromium driven through the DevTools protocol over a pipe (--remote-debugging-pipe), with
// only what a timed run of the page needs: one tab, scripts run in it, file inputs, screenshots.
//
// Why not Playwright for the timed runs: Playwright turns on the protocol's Network domain in the
// page and in every worker it starts, and the browser then reports every chunk of every response
// to it. On the 168 MB download that made the page 0.35-0.5 s slower and cost 0.6-0.8 s more of
// the browser's CPU (A/B in docs/performance.md): overhead of the measuring tool, which a user's
// browser does not have. The tests keep Playwright (they need its routes and locators).
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CHROMIUM, CHROMIUM_ARGS } from '../../test/helpers/browser.ts';

interface Message {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
}

/** Where a command goes: the tab, the browser, or another session (a worker's, say). */
export type CdpTarget = 'tab' | 'browser' | { sessionId: string };

export class CdpTab {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners = new Map<string, ((params: Record<string, unknown>, sessionId?: string) => void)[]>();

  private constructor(
    private readonly browser: ChildProcess,
    private readonly toBrowser: Writable,
  ) {}

  private sessionId = '';

  /** Starts Chromium with a profile on disk (as a user's) and attaches to its first tab. */
  static async launch(profileDir: string, windowSize = '1100,1000'): Promise<CdpTab> {
    const browser = spawn(CHROMIUM, [...CHROMIUM_ARGS, '--headless', `--window-size=${windowSize}`, '--remote-debugging-pipe', `--user-data-dir=${profileDir}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    browser.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const tab = new CdpTab(browser, browser.stdio[3] as Writable);
    // A write after Chromium has gone fails with EPIPE: the exit handler below rejects what waits.
    (browser.stdio[3] as Writable).on('error', () => undefined);
    tab.listen(browser.stdio[4] as Readable);
    browser.on('exit', (code) => tab.failAll(new Error(`Chromium exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
    const { targetInfos } = (await tab.send('Target.getTargets', {}, 'browser')) as { targetInfos: { type: string; targetId: string }[] };
    const first = targetInfos.find((t) => t.type === 'page');
    if (!first) throw new Error('Chromium opened no tab');
    const attached = (await tab.send('Target.attachToTarget', { targetId: first.targetId, flatten: true }, 'browser')) as { sessionId: string };
    tab.sessionId = attached.sessionId;
    await tab.send('Page.enable');
    return tab;
  }

  /** Messages are JSON, each ended by a NUL byte. */
  private listen(fromBrowser: Readable): void {
    let buffered = '';
    const text = new StringDecoder('utf8'); // (a character may be split between two reads)
    fromBrowser.on('data', (chunk: Buffer) => {
      buffered += text.write(chunk);
      let end: number;
      while ((end = buffered.indexOf('\0')) >= 0) {
        const reply = JSON.parse(buffered.slice(0, end)) as Message;
        buffered = buffered.slice(end + 1);
        if (reply.method) for (const listener of this.listeners.get(reply.method) ?? []) listener(reply.params ?? {}, reply.sessionId);
        const waiting = reply.id !== undefined ? this.pending.get(reply.id) : undefined;
        if (!waiting) continue;
        this.pending.delete(reply.id!);
        if (reply.error) waiting.reject(new Error(`${waiting.method}: ${reply.error.message}`));
        else waiting.resolve(reply.result ?? {});
      }
    });
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** A protocol command, to the tab (once attached), the browser, or another session. */
  send(method: string, params: Record<string, unknown> = {}, to: CdpTarget = 'tab'): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    const sessionId = to === 'browser' ? '' : to === 'tab' ? this.sessionId : to.sessionId;
    const session = sessionId ? { sessionId } : {};
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.toBrowser.write(`${JSON.stringify({ id, method, params, ...session })}\0`);
    });
  }

  /** The browser's process id. */
  get pid(): number | undefined {
    return this.browser.pid;
  }

  /** Calls `listener` with each event of this name (from any session: `sessionId` says which). */
  on(event: string, listener: (params: Record<string, unknown>, sessionId?: string) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }

  /** Runs before each document's own scripts, in every navigation from now on. */
  async addInitScript(source: string): Promise<void> {
    await this.send('Page.addScriptToEvaluateOnNewDocument', { source });
  }

  async goto(url: string): Promise<void> {
    const r = (await this.send('Page.navigate', { url })) as { errorText?: string };
    if (r.errorText) throw new Error(`opening ${url}: ${r.errorText}`);
  }

  /** The value of an expression in the page (promises awaited; the value must be JSON). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value?: T };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Gives files to the page's `<input type=file>` found by a CSS selector (as a user picking them). */
  async setInputFiles(selector: string, files: string[]): Promise<void> {
    const r = (await this.send('Runtime.evaluate', { expression: `document.querySelector(${JSON.stringify(selector)})` })) as { result: { objectId?: string } };
    if (!r.result.objectId) throw new Error(`no ${selector} in the page`);
    await this.send('DOM.setFileInputFiles', { files, objectId: r.result.objectId });
  }

  /** The whole page as a PNG. */
  async screenshot(): Promise<Buffer> {
    const { cssContentSize } = (await this.send('Page.getLayoutMetrics')) as { cssContentSize: { width: number; height: number } };
    const clip = { x: 0, y: 0, width: Math.ceil(cssContentSize.width), height: Math.ceil(cssContentSize.height), scale: 1 };
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png', clip, captureBeyondViewport: true })) as { data: string };
    return Buffer.from(data, 'base64');
  }

  /** The browser's version, as "156.0.8078.79". */
  async version(): Promise<string> {
    const { product } = (await this.send('Browser.getVersion', {}, 'browser')) as { product: string };
    return product.replace(/^[A-Za-z]+\//, '');
  }

  /** Closes the browser (killed if it has not gone within 5 s). */
  async close(): Promise<void> {
    if (this.browser.exitCode !== null) return;
    const gone = new Promise((resolve) => this.browser.once('exit', resolve));
    this.send('Browser.close', {}, 'browser').catch(() => undefined);
    const timer = setTimeout(() => this.browser.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
