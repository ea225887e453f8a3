import { type BlockTable, strongMatches } from './block-table.ts';
import { ErrorCode, TesseraError, describeError } from './errors.ts';
import type { BlockHashFunction } from './hashing.ts';
import type { RangeFetcher, RangeResponse } from './io.ts';
import type { FetchRange } from './plan.ts';
import { rangeResponseProblem } from './range-response.ts';

export interface DownloaderOptions {
  /** Requests in flight at once, over all mirrors. Default 6. */
  connections?: number;
  /** Bytes fetched or in flight but not yet written; bounds memory. Default 16 MiB. */
  windowBytes?: number;
  /** Tries per range before giving up, over all mirrors. Default 8. */
  maxAttempts?: number;
  /** First retry delay; doubles per retry of a range, capped at 16x. Default 250 ms. */
  backoffMs?: number;
  /** A request that receives nothing for this long is abandoned and retried. Default 30 s. */
  stallTimeoutMs?: number;
  /** A mirror is set aside after this many failures in a row. Default 3. */
  maxConsecutiveFailures?: number;
  signal?: AbortSignal;
  /** Body bytes as they arrive (progress). */
  onBytes?: (bytes: number) => void;
  /** A range arrived and passed verification. */
  onRangeFetched?: (range: FetchRange) => void;
  /**
   * Blocks are verified as they stream in; each verified piece (block-aligned,
   * `start` in the image) is reported at once, so it can be kept even if the
   * download is interrupted before the range is complete. `data` is only
   * valid during the call.
   */
  onVerified?: (start: number, data: Uint8Array) => void;
  /** A request failed and will be retried. */
  onRetry?: (event: { mirror: string; range: FetchRange; problem: string; attempt: number }) => void;
}

/** What one mirror did during a download: for the summary and for error messages. */
export interface MirrorReport {
  readonly url: string;
  requests: number;
  /** Body bytes received from it, including bytes of failed attempts. */
  bytes: number;
  /** Bytes it delivered that passed verification. */
  bytesGood: number;
  failures: number;
  /** What went wrong, most recent last (at most a few distinct entries). */
  problems: string[];
  /** Why it was set aside, if it was. */
  disabled?: string;
}

/** A failed attempt: `permanent` faults set the mirror aside at once. */
class MirrorFault extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
  }
}

interface Slot {
  promise: Promise<Uint8Array>;
  resolve(data: Uint8Array): void;
  reject(error: unknown): void;
  started: boolean;
}

interface MirrorState {
  report: MirrorReport;
  active: number;
  consecutiveFailures: number;
  etag?: string;
  lastModified?: string;
}

/**
 * Fetches the plan's ranges from the mirrors, ahead of the writer but within
 * a fixed memory window, several at once, every block checked against its
 * strong hash before it is handed over. Faulty mirrors are retried with
 * backoff or replaced by others; when none is left the error says what each
 * mirror did.
 */
export class RangeDownloader {
  private readonly slots: Slot[];
  private readonly mirrors: MirrorState[];
  private nextToStart = 0;
  private nextToTake = 0;
  private inFlight = 0;
  private heldBytes = 0;
  private failure: unknown = null;
  private readonly controllers = new Set<AbortController>();
  private mirrorCursor = 0;
  /** Buffers of ranges already written, for reuse: allocating 4 MB per range leaves V8 with ~100 MB of dead buffers to collect. */
  private readonly spare: ArrayBuffer[] = [];
  private readonly opts: Required<Omit<DownloaderOptions, 'signal' | 'onBytes' | 'onRetry' | 'onRangeFetched' | 'onVerified'>>;
  bytesFetched = 0;
  requests = 0;

  constructor(
    private readonly table: BlockTable,
    private readonly ranges: readonly FetchRange[],
    mirrorUrls: readonly string[],
    private readonly fetcher: RangeFetcher,
    private readonly blockHash: BlockHashFunction,
    private readonly options: DownloaderOptions = {},
  ) {
    this.opts = {
      connections: options.connections ?? 6,
      windowBytes: options.windowBytes ?? 16 << 20,
      maxAttempts: options.maxAttempts ?? 8,
      backoffMs: options.backoffMs ?? 250,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      maxConsecutiveFailures: options.maxConsecutiveFailures ?? 3,
    };
    this.mirrors = mirrorUrls.map((url) => ({
      report: { url, requests: 0, bytes: 0, bytesGood: 0, failures: 0, problems: [] },
      active: 0,
      consecutiveFailures: 0,
    }));
    this.slots = ranges.map(() => {
      let resolve!: (d: Uint8Array) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Uint8Array>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {}); // surfaced through take(); avoid unhandled rejections
      return { promise, resolve, reject, started: false };
    });
    options.signal?.addEventListener('abort', () => this.fail(new TesseraError(ErrorCode.Aborted, 'cancelled')), { once: true });
  }

  get mirrorReports(): readonly MirrorReport[] {
    return this.mirrors.map((m) => m.report);
  }

  /** Begin fetching (up to the window). */
  start(): void {
    if (this.ranges.length > 0 && this.mirrors.length === 0) {
      this.fail(new TesseraError(ErrorCode.MirrorsFailed, 'some of the image must be downloaded, but the manifest lists no mirror; add one with --mirror URL'));
      return;
    }
    this.pump();
  }

  /** The verified bytes of range i; ranges must be taken in order. */
  async take(i: number): Promise<Uint8Array> {
    if (i !== this.nextToTake) throw new Error(`ranges must be taken in order (expected ${this.nextToTake}, got ${i})`);
    this.pump();
    const data = await this.slots[i].promise;
    this.nextToTake++;
    this.heldBytes -= data.length;
    this.slots[i] = undefined as unknown as Slot; // release memory
    this.pump();
    return data;
  }

  /** The caller is done with data returned by take(): its memory can hold another range. */
  release(data: Uint8Array): void {
    if (this.spare.length < 8 && data.byteOffset === 0) this.spare.push(data.buffer as ArrayBuffer);
  }

  private acquire(size: number): Uint8Array {
    const i = this.spare.findIndex((b) => b.byteLength >= size);
    return i >= 0 ? new Uint8Array(this.spare.splice(i, 1)[0], 0, size) : new Uint8Array(size);
  }

  /** Fetch a range outside the plan at once (a local block that failed re-verification). */
  async fetchNow(range: FetchRange): Promise<Uint8Array> {
    return this.fetchWithRetries(range);
  }

  /** Stop everything in flight. */
  cancel(reason: unknown = new TesseraError(ErrorCode.Aborted, 'cancelled')): void {
    this.fail(reason);
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    for (const c of this.controllers) c.abort(error);
    for (let i = this.nextToTake; i < this.slots.length; i++) this.slots[i]?.reject(error);
  }

  private pump(): void {
    while (!this.failure && this.inFlight < this.opts.connections && this.nextToStart < this.ranges.length) {
      const i = this.nextToStart;
      const size = this.ranges[i].end - this.ranges[i].start;
      // Always allow the range the writer waits for; others only within the window.
      if (i !== this.nextToTake && this.heldBytes + size > this.opts.windowBytes) break;
      this.nextToStart++;
      this.inFlight++;
      this.heldBytes += size;
      const slot = this.slots[i];
      slot.started = true;
      this.fetchWithRetries(this.ranges[i]).then(
        (data) => {
          this.inFlight--;
          slot.resolve(data);
          this.pump();
        },
        (error) => {
          this.inFlight--;
          this.fail(error);
        },
      );
    }
  }

  private pickMirror(avoid: MirrorState | undefined): MirrorState | undefined {
    const usable = this.mirrors.filter((m) => !m.report.disabled);
    if (usable.length === 0) return undefined;
    const candidates = usable.length > 1 && avoid && !avoid.report.disabled ? usable.filter((m) => m !== avoid) : usable;
    // Least busy first; rotate among equals so load spreads over all mirrors.
    let best: MirrorState | undefined;
    for (let k = 0; k < candidates.length; k++) {
      const m = candidates[(this.mirrorCursor + k) % candidates.length];
      if (!best || m.active < best.active) best = m;
    }
    this.mirrorCursor++;
    return best;
  }

  private async fetchWithRetries(range: FetchRange): Promise<Uint8Array> {
    let last: MirrorState | undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.failure) throw this.failure;
      const mirror = this.pickMirror(last);
      if (!mirror) throw this.allMirrorsFailed(range);
      mirror.active++;
      try {
        const data = await this.fetchOnce(mirror, range);
        mirror.consecutiveFailures = 0;
        mirror.report.bytesGood += data.length;
        this.options.onRangeFetched?.(range);
        return data;
      } catch (error) {
        if (this.failure) throw this.failure;
        const fault = error instanceof MirrorFault ? error : new MirrorFault(describeError(error), false);
        this.recordFault(mirror, fault);
        if (attempt >= this.opts.maxAttempts) throw this.allMirrorsFailed(range, attempt);
        this.options.onRetry?.({ mirror: mirror.report.url, range, problem: fault.message, attempt });
        last = mirror;
        await this.sleep(this.opts.backoffMs * 2 ** Math.min(attempt - 1, 4));
      } finally {
        mirror.active--;
      }
    }
  }

  private recordFault(mirror: MirrorState, fault: MirrorFault): void {
    const r = mirror.report;
    r.failures++;
    mirror.consecutiveFailures++;
    if (!r.problems.includes(fault.message)) {
      r.problems.push(fault.message);
      if (r.problems.length > 5) r.problems.shift();
    }
    if (fault.permanent) r.disabled = fault.message;
    else if (mirror.consecutiveFailures >= this.opts.maxConsecutiveFailures) {
      r.disabled = `${mirror.consecutiveFailures} failures in a row (last: ${fault.message})`;
    }
  }

  private allMirrorsFailed(range: FetchRange, attempts?: number): TesseraError {
    const lines = this.mirrors.map((m) => {
      const r = m.report;
      const what = r.problems.length > 0 ? r.problems.join('; ') : 'no problem seen';
      return `  ${r.url}: ${what}${r.failures > 1 ? ` (${r.failures} failures)` : ''}`;
    });
    const why = attempts ? `gave up after ${attempts} tries` : 'no usable mirror is left';
    return new TesseraError(
      ErrorCode.MirrorsFailed,
      `could not download bytes ${range.start}-${range.end - 1}: ${why}. What each mirror did:\n${lines.join('\n')}`,
      { range, mirrors: this.mirrorReports },
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** One request to one mirror; any problem is a MirrorFault. */
  private async fetchOnce(mirror: MirrorState, range: FetchRange): Promise<Uint8Array> {
    const url = mirror.report.url;
    const want = range.end - range.start;
    const controller = new AbortController();
    this.controllers.add(controller);
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        controller.abort(new Error('stalled'));
      }, this.opts.stallTimeoutMs);
    };
    arm();
    mirror.report.requests++;
    this.requests++;
    let response: RangeResponse | undefined;
    try {
      try {
        response = await this.fetcher.fetchRange(url, range.start, range.end, controller.signal);
      } catch (error) {
        if (stalled) throw new MirrorFault(`no answer within ${this.opts.stallTimeoutMs / 1000} s`, false);
        throw new MirrorFault(describeError(error), false);
      }
      this.checkHeaders(mirror, response, range);
      let out: Uint8Array = this.acquire(want);
      let got = 0;
      let verified = 0; // bytes of the range verified so far, from its start
      const bs = this.table.blockSize;
      /** Verify the whole blocks (or, at the end, the rest) that have arrived since last time. */
      const verifyUpTo = (filled: Uint8Array, end: number) => {
        if (end <= verified) return;
        this.verify(filled.subarray(verified, end), range.start + verified);
        this.options.onVerified?.(range.start + verified, filled.subarray(verified, end));
        verified = end;
      };
      const counted = (n: number, filled: Uint8Array) => {
        arm();
        mirror.report.bytes += n;
        this.bytesFetched += n;
        this.options.onBytes?.(n);
        // A corrupt block stops the request at once, and what came before it is kept.
        verifyUpTo(filled, filled.length - (filled.length % bs));
      };
      try {
        arm();
        const all = await response.readAll(out, counted);
        out = all.data;
        got = all.length;
        if (all.overflow) throw new MirrorFault(`sent more than the ${want} bytes asked for`, false);
      } catch (error) {
        if (error instanceof MirrorFault) throw error;
        if (stalled) throw new MirrorFault(`stalled: nothing received for ${this.opts.stallTimeoutMs / 1000} s after ${got} of ${want} bytes`, false);
        throw new MirrorFault(`connection lost after ${got} of ${want} bytes: ${describeError(error)}`, false);
      }
      if (got < want) throw new MirrorFault(`short body: ${got} of ${want} bytes`, false);
      verifyUpTo(out, want); // the last, possibly partial, block
      return out;
    } catch (error) {
      response?.cancel();
      throw error;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private checkHeaders(mirror: MirrorState, response: RangeResponse, range: FetchRange): void {
    const problem = rangeResponseProblem(response, range, this.table.length);
    if (problem) throw new MirrorFault(problem.message, problem.permanent);
    // The file must not change between requests (zip.js's rule): a new ETag or date means a new file.
    for (const [key, value] of [['etag', response.header('etag')], ['lastModified', response.header('last-modified')]] as const) {
      if (!value) continue;
      const seen = mirror[key];
      if (seen === undefined) mirror[key] = value;
      else if (seen !== value) {
        throw new MirrorFault(`the file changed on the mirror during the download (${key === 'etag' ? 'ETag' : 'Last-Modified'} ${seen} -> ${value})`, true);
      }
    }
  }

  /** Check block-aligned `data` that starts at byte `start` of the image against the block table. */
  private verify(data: Uint8Array, start: number): void {
    const bs = this.table.blockSize;
    let padded: Uint8Array | undefined;
    for (let off = 0, k = start / bs; off < data.length; off += bs, k++) {
      let block = data.subarray(off, off + bs);
      if (block.length < bs) {
        padded ??= new Uint8Array(bs);
        padded.fill(0);
        padded.set(block);
        block = padded;
      }
      if (!strongMatches(this.table, k, this.blockHash(block))) {
        throw new MirrorFault(`sent bad data (block ${k}, bytes ${k * bs}-${Math.min(this.table.length, (k + 1) * bs) - 1} fails its checksum)`, false);
      }
    }
  }

}
