import type { RebuildEvent } from '../core/rebuild.ts';
import { formatBytes, formatSeconds, percent } from '../shared/format.ts';

export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Shows a rebuild on the terminal: one redrawn status line on a TTY (scan
 * progress, then written/fetched, speed and time left), plain lines otherwise.
 * Warnings and retries always get a line of their own.
 */
export class ProgressReporter {
  private lineShown = false;
  private lastDraw = 0;
  private scanTotal = 0;
  /** Bytes scanned so far per seed (seeds are scanned several at once on several threads). */
  private readonly scanned = new Map<number, number>();
  private scannedSum = 0;
  private scanStarted = 0;
  private readonly seedSizes = new Map<number, number>();
  private downloadStarted = 0;
  private toFetch = 0;

  constructor(private readonly out: Output, private readonly quiet = false) {}

  /** Total bytes of all seeds, for the overall scan percentage. */
  setScanTotal(bytes: number): void {
    this.scanTotal = bytes;
  }

  line(text: string): void {
    if (this.quiet) return;
    this.clear();
    this.out.write(text + '\n');
  }

  warn(text: string): void {
    this.clear();
    this.out.write(`warning: ${text}\n`);
  }

  private clear(): void {
    if (this.lineShown && this.out.isTTY) this.out.write('\r\x1b[2K');
    this.lineShown = false;
  }

  private draw(text: string, force = false): void {
    if (this.quiet || !this.out.isTTY) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    this.out.write('\r\x1b[2K' + (text.length > width ? text.slice(0, width) : text));
    this.lineShown = true;
  }

  private bar(fraction: number, width = 24): string {
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    return '[' + '#'.repeat(filled) + '-'.repeat(width - filled) + ']';
  }

  handle(event: RebuildEvent): void {
    switch (event.type) {
      case 'scan-start':
        if (this.scanStarted === 0) this.scanStarted = Date.now();
        this.seedSizes.set(event.seedIndex, event.size);
        break;
      case 'scan-progress': {
        this.setScanned(event.seedIndex, event.bytesScanned);
        const done = this.scannedSum;
        const secs = (Date.now() - this.scanStarted) / 1000;
        const speed = secs > 0 ? done / secs : 0;
        this.draw(`Scanning ${this.bar(done / Math.max(1, this.scanTotal))} ${percent(done, this.scanTotal)} ${formatBytes(done)}/${formatBytes(this.scanTotal)} ${formatBytes(speed)}/s  ${event.seed}`);
        break;
      }
      case 'scan-done':
        this.setScanned(event.seedIndex, this.seedSizes.get(event.seedIndex) ?? 0);
        break;
      case 'seed-skipped':
        this.warn(`skipped ${event.seed}: ${event.reason}`);
        break;
      case 'plan':
        this.toFetch = event.plan.bytesToFetch;
        this.clear();
        break;
      case 'progress': {
        if (this.downloadStarted === 0) this.downloadStarted = Date.now();
        const secs = (Date.now() - this.downloadStarted) / 1000;
        const rate = secs > 0 ? event.bytesWritten / secs : 0;
        const left = rate > 0 ? (event.imageLength - event.bytesWritten) / rate : Infinity;
        const netRate = secs > 0 ? event.bytesFetched / secs : 0;
        this.draw(
          `Building ${this.bar(event.bytesWritten / event.imageLength)} ${percent(event.bytesWritten, event.imageLength)} ` +
            `fetched ${formatBytes(event.bytesFetched)}/${formatBytes(this.toFetch)} at ${formatBytes(netRate)}/s, ${formatSeconds(left)} left`,
        );
        break;
      }
      case 'retry':
        this.warn(`${event.mirror}: ${event.problem}; retrying (try ${event.attempt + 1})`);
        break;
      case 'repair':
        this.warn(`seed ${event.seed} ${event.reason}; what of it no longer matches is downloaded instead`);
        break;
    }
  }

  done(): void {
    this.clear();
  }

  private setScanned(seed: number, bytes: number): void {
    this.scannedSum += bytes - (this.scanned.get(seed) ?? 0);
    this.scanned.set(seed, bytes);
  }
}
