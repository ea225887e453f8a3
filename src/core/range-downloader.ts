import { type BlockTable, strongMatches } from './block-table.ts';
import { ErrorCode, TesseraError, describeError } from './errors.ts';
import { type FileValidators, type MirrorValidators, changedWhere, validatorChange } from './file-validators.ts';
import type { BlockHashFunction } from './hashing.ts';
import type { RangeFetcher, RangeResponse } from './io.ts';
import type { FetchRange } from './plan.ts';
import { rangeResponseProblem } from './range-response.ts';

export interface DownloaderOptions {
  /** Requests in flight at once, over all mirrors. Default 6. */
  connections?: number;
  /** Bytes fetched or in flight but not yet written; bounds memory. Default 16 MiB. */
  windowBytes?: number;
  /** Buffers of ranges already written kept for the next ranges (default 8): fewer allocations, more memory held. */
  spareBuffers?: number;
  /** Tries per range that bring no verified byte, over all mirrors, before giving up. Default 8. */
  maxAttempts?: number;
  /** First retry delay; doubles per retry of a range, capped at 16x. Default 250 ms. */
  backoffMs?: number;
  /** A request that receives nothing for this long is abandoned and retried. Default 30 s. */
  stallTimeoutMs?: number;
  /** A mirror is set aside after this many failures in a row. Default 3. */
  maxConsecutiveFailures?: number;
  /**
   * ETag and Last-Modified seen before this download (the page's first check
   * of each mirror): its answers must carry the same, else the file changed.
   * Without them, the first answer of each URL sets the baseline.
   */
  validators?: MirrorValidators;
  /**
   * ETag and Last-Modified of answers whose blocks verified in an earlier
   * attempt (kept with the downloaded data: beside the command line's part
   * file, in the page's IndexedDB; see onValidators). Not a baseline: a
   * mirror copied again with the same bytes gets new ones. Only when an
   * answer's bytes fail their checksums do they say why: the file changed
   * since that attempt.
   */
  earlierValidators?: MirrorValidators;
  signal?: AbortSignal;
  /** Body bytes as they arrive (progress). */
  onBytes?: (bytes: number) => void;
  /** A range arrived and passed verification. */
  onRangeFetched?: (range: FetchRange) => void;
  /**
   * Blocks are verified as they stream in; each verified piece (block-aligned,
   * `start` in the image) is reported at once, so it can be kept even if the
   * download is interrupted before the range is complete. `data` is only
   * valid during the call. True: the output already holds these bytes (the
   * page's image file, written in place); a range whose bytes all were is
   * not held for take() (which then gives null) and its buffer is free at once.
   */
  onVerified?: (start: number, data: Uint8Array) => boolean | void;
  /**
   * An answer from a URL not seen to verify before delivered verified blocks:
   * its ETag and Last-Modified belong to the manifest's image. `all`: every
   * such URL's so far (see verifiedValidators), to keep for a later run.
   */
  onValidators?: (all: MirrorValidators) => void;
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
  /** Ranges that failed on it and were then fetched from another mirror. */
  rangesTakenOver: number;
  /** It no longer holds the manifest's image (the file changed, or has another size): set aside for that. */
  changed?: boolean;
  /** Where it redirected requests to (other URLs that answered for it; at most a few). */
  redirectedTo?: string[];
}

/** A failed attempt: `permanent` faults set the mirror aside at once; `changed` ones say it holds another file. */
class MirrorFault extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly changed = false,
    /** It sent bytes that fail their checksum: counted against it even after verified ones. */
    readonly badData = false,
  ) {
    super(message);
  }
}

/**
 * The size of a new buffer for `size` bytes: an eighth more, rounded up to
 * the next of 8 steps between powers of two. A plan's ranges often differ by
 * a block or two (a change off the block grid spans one more than the same
 * change on it), and a kept buffer a block too small is no use to the next.
 */
export function bufferBytes(size: number): number {
  const wanted = size + Math.ceil(size / 8);
  if (wanted <= 8) return wanted;
  const step = 2 ** (Math.floor(Math.log2(wanted)) - 3);
  return Math.ceil(wanted / step) * step;
}

interface Slot {
  /** The range's verified bytes; null if the output already holds them all (onVerified). */
  promise: Promise<Uint8Array | null>;
  resolve(data: Uint8Array | null): void;
  reject(error: unknown): void;
  started: boolean;
  /** The verified bytes, once fetched (until taken). */
  data?: Uint8Array;
}

/** A range being fetched: its buffer, and how many bytes of it, from its start, are verified. */
interface Progress {
  range: FetchRange;
  data: Uint8Array;
  verified: number;
  /** Every verified piece so far is held by the output already (onVerified said so). */
  kept: boolean;
}

interface MirrorState {
  report: MirrorReport;
  active: number;
  consecutiveFailures: number;
  /** ETag and Last-Modified first seen, per URL that answered (a redirector's targets each have their own). */
  validators: Map<string, FileValidators>;
  /** URLs whose validators were seen before this download (DownloaderOptions.validators). */
  seenBefore: Set<string>;
  /** URLs whose answers delivered verified blocks: their validators belong to the manifest's image. */
  verifiedFrom: Set<string>;
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
  /** Ranges not yet fetched whole, with what of them is verified (kept after a failure). */
  private readonly unfinished = new Set<Progress>();
  /** The range last taken, until released: the writer may fail before it is written. */
  private taken: { start: number; data: Uint8Array } | undefined;
  /** Buffers of ranges already written, for reuse: allocating 4 MB per range leaves V8 with ~100 MB of dead buffers to collect. */
  private readonly spare: ArrayBuffer[] = [];
  private readonly opts: Required<Omit<DownloaderOptions, 'signal' | 'onBytes' | 'onRetry' | 'onRangeFetched' | 'onVerified' | 'onValidators' | 'validators' | 'earlierValidators'>>;
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
      spareBuffers: options.spareBuffers ?? 8,
      maxAttempts: options.maxAttempts ?? 8,
      backoffMs: options.backoffMs ?? 250,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      maxConsecutiveFailures: options.maxConsecutiveFailures ?? 3,
    };
    this.mirrors = mirrorUrls.map((url) => {
      const before = Object.entries(options.validators?.[url] ?? {});
      return {
        report: { url, requests: 0, bytes: 0, bytesGood: 0, failures: 0, problems: [], rangesTakenOver: 0 },
        active: 0,
        consecutiveFailures: 0,
        validators: new Map(before.map(([answered, v]) => [answered, { ...v }])),
        seenBefore: new Set(before.map(([answered]) => answered)),
        verifiedFrom: new Set<string>(),
      };
    });
    this.slots = ranges.map(() => {
      let resolve!: (d: Uint8Array | null) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Uint8Array | null>((res, rej) => {
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

  /** ETag and Last-Modified of the answers that delivered verified blocks, per mirror: for a later run (earlierValidators). */
  verifiedValidators(): MirrorValidators {
    const out: MirrorValidators = {};
    for (const m of this.mirrors) {
      for (const answered of m.verifiedFrom) {
        const v = m.validators.get(answered);
        if (v && (v.etag !== undefined || v.lastModified !== undefined)) (out[m.report.url] ??= {})[answered] = { ...v };
      }
    }
    return out;
  }

  /** Begin fetching (up to the window). */
  start(): void {
    if (this.ranges.length > 0 && this.mirrors.length === 0) {
      this.fail(new TesseraError(ErrorCode.MirrorsFailed, 'some of the image must be downloaded, but the manifest lists no mirror; add one with --mirror URL'));
      return;
    }
    this.pump();
  }

  /** The verified bytes of range i, or null if the output holds them already (onVerified); ranges must be taken in order. */
  async take(i: number): Promise<Uint8Array | null> {
    if (i !== this.nextToTake) throw new Error(`ranges must be taken in order (expected ${this.nextToTake}, got ${i})`);
    this.pump();
    const data = await this.slots[i].promise;
    if (data) {
      this.taken = { start: this.ranges[i].start, data };
      this.heldBytes -= data.length;
    }
    this.nextToTake++;
    this.slots[i] = undefined as unknown as Slot; // release memory
    this.pump();
    return data;
  }

  /** The caller is done with data returned by take(): its memory can hold another range. */
  release(data: Uint8Array): void {
    if (this.taken?.data === data) this.taken = undefined;
    if (data.byteOffset !== 0) return;
    const buffer = data.buffer as ArrayBuffer;
    if (this.spare.length < this.opts.spareBuffers) {
      this.spare.push(buffer);
      return;
    }
    // Full: the larger buffers are kept. A plan's ranges differ by a block or so (a change off the block
    // grid spans one more); kept buffers a little too small for the later ranges would leave each of
    // those to a buffer of its own, all garbage (on a 4 GiB update, tens of MB awaiting collection).
    const smallest = this.spare.reduce((at, b, i) => (b.byteLength < this.spare[at].byteLength ? i : at), 0);
    if (this.spare[smallest].byteLength < buffer.byteLength) this.spare[smallest] = buffer;
  }

  /** A buffer for `size` bytes: the smallest kept one that holds them, else a new one. */
  private acquire(size: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) if (this.spare[i].byteLength >= size && (best < 0 || this.spare[i].byteLength < this.spare[best].byteLength)) best = i;
    return best >= 0 ? new Uint8Array(this.spare.splice(best, 1)[0], 0, size) : new Uint8Array(new ArrayBuffer(bufferBytes(size)), 0, size);
  }

  /**
   * Verified bytes not written yet: the range taken but not released, ranges
   * fetched ahead of the writer, and the verified start of ranges not finished. After a failure they can be kept
   * for a resume (OutputSink.keepAside).
   */
  verifiedNotWritten(): { start: number; data: Uint8Array }[] {
    const pieces: { start: number; data: Uint8Array }[] = this.taken ? [this.taken] : [];
    for (let i = this.nextToTake; i < this.slots.length; i++) {
      const data = this.slots[i]?.data;
      if (data) pieces.push({ start: this.ranges[i].start, data });
    }
    for (const p of this.unfinished) if (p.verified > 0) pieces.push({ start: p.range.start, data: p.data.subarray(0, p.verified) });
    return pieces.sort((a, b) => a.start - b.start);
  }

  /** Fetch a range outside the plan at once (local blocks that failed re-verification). */
  async fetchNow(range: FetchRange): Promise<Uint8Array> {
    return (await this.fetchWithRetries(range)).data;
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
        ({ data, kept }) => {
          this.inFlight--;
          if (kept) {
            // In the output already: nothing to hold until the writer gets here.
            this.heldBytes -= data.length;
            this.release(data);
            slot.resolve(null);
          } else {
            slot.data = data;
            slot.resolve(data);
          }
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

  private async fetchWithRetries(range: FetchRange): Promise<Progress> {
    const progress: Progress = { range, data: this.acquire(range.end - range.start), verified: 0, kept: true };
    this.unfinished.add(progress);
    let last: MirrorState | undefined;
    let fruitless = 0; // tries that brought no verified byte
    const failedOn = new Set<MirrorState>();
    for (let attempt = 1; ; attempt++) {
      if (this.failure) throw this.failure;
      const mirror = this.pickMirror(last);
      if (!mirror) throw this.allMirrorsFailed(range);
      mirror.active++;
      const before = progress.verified;
      try {
        await this.fetchOnce(mirror, progress);
        mirror.consecutiveFailures = 0;
        for (const m of failedOn) if (m !== mirror) m.report.rangesTakenOver++;
        this.unfinished.delete(progress);
        this.options.onRangeFetched?.(range);
        return progress;
      } catch (error) {
        if (this.failure) throw this.failure;
        const fault = error instanceof MirrorFault ? error : new MirrorFault(describeError(error), false);
        // A try that delivered verified blocks is progress: the next one asks only for the rest.
        const progressed = progress.verified > before;
        if (!progressed) fruitless++;
        failedOn.add(mirror);
        this.recordFault(mirror, fault, progressed);
        if (fruitless >= this.opts.maxAttempts) throw this.allMirrorsFailed(range, attempt);
        this.options.onRetry?.({ mirror: mirror.report.url, range, problem: fault.message, attempt });
        last = mirror;
        await this.sleep(this.opts.backoffMs * 2 ** Math.min(Math.max(fruitless - 1, 0), 4));
      } finally {
        mirror.active--;
      }
    }
  }

  private recordFault(mirror: MirrorState, fault: MirrorFault, progressed: boolean): void {
    const r = mirror.report;
    r.failures++;
    // Failures in a row that brought nothing: a mirror that drops connections but delivers is kept
    // (one that sends bad data is not).
    mirror.consecutiveFailures = progressed && !fault.badData ? 0 : mirror.consecutiveFailures + 1;
    if (!r.problems.includes(fault.message)) {
      r.problems.push(fault.message);
      if (r.problems.length > 5) r.problems.shift();
    }
    if (fault.permanent) {
      r.disabled = fault.message;
      if (fault.changed) r.changed = true;
    } else if (mirror.consecutiveFailures >= this.opts.maxConsecutiveFailures) {
      r.disabled = `${mirror.consecutiveFailures} failures in a row, the last: ${fault.message}`;
    }
  }

  private allMirrorsFailed(range: FetchRange, attempts?: number): TesseraError {
    const lines = this.mirrors.map((m) => {
      const r = m.report;
      const what = r.problems.length > 0 ? r.problems.join('; ') : 'no problem seen';
      const good = r.bytesGood > 0 ? `; ${r.bytesGood} bytes from it were verified and kept` : '';
      return `  ${r.url}: ${what}${r.failures > 1 ? ` (${r.failures} failures)` : ''}${good}`;
    });
    const why = attempts ? `gave up after ${attempts} tries` : 'no usable mirror is left';
    // Every mirror now holds another file: most likely a new version was published.
    if (this.mirrors.length > 0 && this.mirrors.every((m) => m.report.changed)) {
      return new TesseraError(
        ErrorCode.RemoteChanged,
        `could not download bytes ${range.start}-${range.end - 1}: ${this.mirrors.length === 1 ? 'the mirror holds' : 'every mirror holds'} another file than the manifest describes ` +
          `(it changed during the download, or a new version was published: get the new manifest, or use a mirror that still has this version). What each mirror did:\n${lines.join('\n')}`,
        { range, mirrors: this.mirrorReports },
      );
    }
    return new TesseraError(
      ErrorCode.MirrorsFailed,
      `could not download bytes ${range.start}-${range.end - 1}: ${why}. What each mirror did:\n${lines.join('\n')}`,
      { range, mirrors: this.mirrorReports },
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * One request to one mirror for what of the range is not verified yet; the
   * blocks are verified as they arrive, so a failure keeps those before it.
   * Any problem is a MirrorFault.
   */
  private async fetchOnce(mirror: MirrorState, progress: Progress): Promise<void> {
    const url = mirror.report.url;
    const { range, data } = progress;
    const base = progress.verified; // a whole number of blocks
    const part: FetchRange = { start: range.start + base, end: range.end };
    const want = part.end - part.start;
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
    let got = 0;
    try {
      try {
        response = await this.fetcher.fetchRange(url, part.start, part.end, controller.signal);
      } catch (error) {
        if (stalled) throw new MirrorFault(`no answer within ${this.opts.stallTimeoutMs / 1000} s`, false);
        throw new MirrorFault(describeError(error), false);
      }
      const answer = response;
      const answered = this.checkHeaders(mirror, answer, part);
      const bs = this.table.blockSize;
      /** Verify what has arrived up to `end` (bytes of the range) and report it. */
      const verifyUpTo = (end: number) => {
        const from = progress.verified;
        if (end <= from) return;
        // A corrupt block stops the request at once; the blocks before it are kept.
        const good = this.verifiedLength(data.subarray(from, end), range.start + from);
        if (good > 0) {
          if (!mirror.verifiedFrom.has(answered)) {
            mirror.verifiedFrom.add(answered);
            this.options.onValidators?.(this.verifiedValidators());
          }
          progress.verified = from + good;
          mirror.report.bytesGood += good;
          if (this.options.onVerified?.(range.start + from, data.subarray(from, from + good)) !== true) progress.kept = false;
        }
        if (from + good < end) {
          const earlier = this.options.earlierValidators?.[mirror.report.url]?.[answered];
          const change = earlier && validatorChange({ ...earlier }, (name) => answer.header(name));
          if (change) throw new MirrorFault(`the file changed ${changedWhere(mirror.report.url, answered)} since the last attempt (${change}); its bytes are not the manifest's image`, true, true);
          const k = (range.start + from + good) / bs;
          throw new MirrorFault(`sent bad data (block ${k}, bytes ${k * bs}-${Math.min(this.table.length, (k + 1) * bs) - 1} fails its checksum)`, false, false, true);
        }
      };
      const counted = (n: number, filled: Uint8Array) => {
        arm();
        got = filled.length;
        mirror.report.bytes += n;
        this.bytesFetched += n;
        this.options.onBytes?.(n);
        verifyUpTo(base + got - (got % bs));
      };
      let all;
      try {
        arm();
        all = await response.readAll(data.subarray(base), counted);
      } catch (error) {
        if (error instanceof MirrorFault) throw error;
        if (stalled) throw new MirrorFault(`stalled: nothing received for ${this.opts.stallTimeoutMs / 1000} s after ${got} of ${want} bytes`, false);
        throw new MirrorFault(`connection lost after ${got} of ${want} bytes: ${describeError(error)}`, false);
      }
      if (all.overflow) throw new MirrorFault(`sent more than the ${want} bytes asked for`, false);
      if (all.length < want) throw new MirrorFault(`short body: ${all.length} of ${want} bytes`, false);
      verifyUpTo(range.end - range.start); // the last, possibly partial, block
    } catch (error) {
      response?.cancel();
      throw error;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  /** Check an answer's status and headers; returns the URL that answered (after redirects). */
  private checkHeaders(mirror: MirrorState, response: RangeResponse, range: FetchRange): string {
    const problem = rangeResponseProblem(response, range, this.table.length);
    if (problem) throw new MirrorFault(problem.message, problem.permanent, problem.changed);
    const answered = response.url ?? mirror.report.url;
    if (answered !== mirror.report.url) {
      const to = (mirror.report.redirectedTo ??= []);
      if (!to.includes(answered) && to.length < 5) to.push(answered);
    }
    // The file must not change between requests (zip.js's rule): a new ETag or date means a new file.
    let seen = mirror.validators.get(answered);
    if (!seen) mirror.validators.set(answered, (seen = {}));
    const change = validatorChange(seen, (name) => response.header(name));
    if (change) {
      const when = mirror.seenBefore.has(answered) ? 'since it was first checked' : 'during the download';
      throw new MirrorFault(`the file changed ${changedWhere(mirror.report.url, answered)} ${when} (${change})`, true, true);
    }
    return answered;
  }

  /** How many bytes of block-aligned `data`, which starts at byte `start` of the image, pass their checksums before the first that does not. */
  private verifiedLength(data: Uint8Array, start: number): number {
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
      if (!strongMatches(this.table, k, this.blockHash(block))) return off;
    }
    return data.length;
  }
}
