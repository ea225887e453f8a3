/// <reference lib="webworker" />
import type { ChecksumAlgorithm } from '../../core/manifest/manifest.ts';
import type { Sha256Chain } from '../../core/sha256-chain.ts';
import { chainWorkers, hashWorker, workerProblem } from './hash-pool.ts';
import type { HashReply, HashRequest } from './messages.ts';

/** Bytes read from the file and handed to a hash worker at a time. */
const CHUNK_BYTES = 16 << 20;
/** Chunks handed to one hash worker and not yet hashed (memory bound: 2 x 16 MB per worker). */
const CHUNKS_AHEAD = 2;

export interface VerifierOptions {
  length: number;
  blockSize: number;
  algorithm: ChecksumAlgorithm;
  /** SHA-256 checkpoints: segments are hashed independently, each as soon as its bytes are final. */
  chain?: Sha256Chain;
  /** Also the SHA-256 (a description with another checksum, and a SHA-256 the user expects). */
  alsoSha256: boolean;
  /** Read bytes of the image file (the verifier runs on the thread that holds it), into `into` if given. */
  read(position: number, length: number, into?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
}

export interface Verified {
  hex: string;
  sha256?: string;
  /** Hash workers' busy time, ms. */
  hashMs: number;
  segments: number;
  workers: number;
}

/** A segment of the image ended on another state than the manifest's checkpoint. */
export class SegmentMismatch extends Error {
  constructor(readonly segment: number, start: number, end: number) {
    super(`bytes ${start}-${end - 1} of the rebuilt image do not hash to the manifest's SHA-256 checkpoint, so the image is not the published one and must not be used`);
  }
}

/**
 * Hashes the image file while it is being built in place: told which bytes
 * are final (the blocks the scan wrote, zero blocks, then everything the
 * assembly has passed), it reads them back and hashes each SHA-256 segment
 * as far as its bytes are final, so much of the hashing is done while the
 * seeds are still being scanned. What is hashed is what is stored. Without
 * checkpoints the whole image is one segment, hashed in order.
 */
export class ImageVerifier {
  private readonly segmentBytes: number;
  private readonly segmentCount: number;
  private readonly final: Uint8Array;
  /** Everything before this offset is final. */
  private finalBelow = 0;
  /** Per segment: final bytes from its start up to (absolute offset), and handed to hashing up to. */
  private readonly ready: number[];
  private readonly hashed: number[];
  private readonly workers: Worker[];
  private readonly extra: Worker | null;
  private readonly inFlight: number[];
  private readonly bad: number[] = [];
  private readonly digests = new Map<Worker, Extract<HashReply, { type: 'digest' }>>();
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  /** Chunk buffers handed back by the hash workers, for the next reads. */
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];

  constructor(private readonly o: VerifierOptions) {
    // An image within one segment has no checkpoint: hashed in one pass (its updates would carry no segment number).
    const chain = o.algorithm === 'sha256' && o.chain && o.chain.states.length > 0 ? o.chain : undefined;
    this.segmentBytes = chain ? chain.segmentBytes : Math.max(1, o.length);
    this.segmentCount = chain ? chain.states.length + 1 : 1;
    this.final = new Uint8Array(Math.ceil(o.length / o.blockSize));
    this.ready = Array.from({ length: this.segmentCount }, (_, s) => s * this.segmentBytes);
    this.hashed = [...this.ready];
    this.workers = Array.from({ length: chain ? chainWorkers() : 1 }, (_, i) => hashWorker(`verify-${i}`));
    this.extra = o.alsoSha256 && o.algorithm !== 'sha256' ? hashWorker('verify-sha256') : null;
    const all = this.extra ? [...this.workers, this.extra] : this.workers;
    this.inFlight = all.map(() => 0);
    all.forEach((worker, i) => {
      worker.onmessage = (e: MessageEvent<HashReply>) => {
        const r = e.data;
        if (r.type === 'failed') this.failure = new Error(`the hash worker failed: ${r.message}`);
        else if (r.type === 'hashed') {
          this.inFlight[i]--;
          if (r.data.buffer.byteLength === CHUNK_BYTES) this.spare.push(new Uint8Array(r.data.buffer));
        }
        else if (r.type === 'segment') {
          if (r.state !== chain!.states[r.index]) this.bad.push(r.index);
        } else this.digests.set(worker, r);
        this.pump();
        this.wake?.();
      };
      worker.onerror = (e) => {
        this.failure = new Error(`the hash worker failed: ${workerProblem(e)}`);
        this.wake?.();
      };
      const init: HashRequest = { type: 'init', algorithm: worker === this.extra ? 'sha256' : o.algorithm, chain: worker === this.extra ? undefined : chain };
      worker.postMessage(init);
    });
  }

  /** These blocks are final in the file (written by the scan, or zeros in a file that started as zeros). */
  markFinal(blocks: Int32Array): void {
    for (const k of blocks) this.final[k] = 1;
    this.advance();
  }

  /** Everything before `offset` is final (the assembly has written or stepped over it). */
  finalUpTo(offset: number): void {
    this.finalBelow = Math.max(this.finalBelow, Math.min(offset, this.o.length));
    this.advance();
  }

  /** Once all is final: the checksum, after every segment was checked against its checkpoint. */
  async digest(): Promise<Verified> {
    const last = this.segmentCount - 1;
    await this.until(() => this.hashed.every((h, s) => h === this.segmentEnd(s)) && this.inFlight.every((n) => n === 0));
    if (this.segmentCount > 1) this.workers[last % this.workers.length].postMessage({ type: 'digest', segment: last } satisfies HashRequest);
    else this.workers[0].postMessage({ type: 'digest' } satisfies HashRequest);
    this.extra?.postMessage({ type: 'digest' } satisfies HashRequest);
    const owner = this.workers[last % this.workers.length];
    await this.until(() => this.digests.has(owner) && (!this.extra || this.digests.has(this.extra)));
    if (this.bad.length > 0) {
      const s = Math.min(...this.bad);
      throw new SegmentMismatch(s, s * this.segmentBytes, this.segmentEnd(s));
    }
    const hashMs = [...this.digests.values()].reduce((sum, d) => sum + d.ms, 0);
    return { hex: this.digests.get(owner)!.hex, sha256: this.extra ? this.digests.get(this.extra)!.hex : undefined, hashMs, segments: this.segmentCount, workers: this.workers.length };
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
    this.extra?.terminate();
  }

  /** Does segment s's worker still have bytes of other segments to hash? */
  private otherSegmentsLeft(s: number): boolean {
    for (let t = s % this.workers.length; t < this.segmentCount; t += this.workers.length) if (t !== s && this.hashed[t] < this.segmentEnd(t)) return true;
    return false;
  }

  private segmentEnd(s: number): number {
    return Math.min(this.o.length, (s + 1) * this.segmentBytes);
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done() && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
  }

  /** Move each segment's final prefix forward, then hand out what can be hashed. */
  private advance(): void {
    const bs = this.o.blockSize;
    for (let s = 0; s < this.segmentCount; s++) {
      const end = this.segmentEnd(s);
      let r = Math.max(this.ready[s], Math.min(end, this.finalBelow));
      while (r < end && this.final[Math.floor(r / bs)] === 1) r = Math.min(end, (Math.floor(r / bs) + 1) * bs);
      this.ready[s] = r;
    }
    this.pump();
  }

  private pump(): void {
    for (let s = 0; s < this.segmentCount; s++) {
      const w = s % this.workers.length;
      const end = this.segmentEnd(s);
      while (this.inFlight[w] < CHUNKS_AHEAD && (!this.extra || this.inFlight[this.workers.length] < CHUNKS_AHEAD)) {
        const available = this.ready[s] - this.hashed[s];
        // Whole chunks only, but the segment's end as soon as it is final (a short last piece).
        if (available <= 0 || (available < CHUNK_BYTES && this.ready[s] < end)) break;
        const at = this.hashed[s];
        const n = Math.min(CHUNK_BYTES, available);
        // A piece that is not a whole number of SHA-256 blocks (the image's tail) leaves a state that
        // cannot be set aside: it goes last, once the worker's other segments are all handed out.
        if (n % 64 !== 0 && this.otherSegmentsLeft(s)) break;
        const data = this.o.read(at, n, this.spare.pop());
        this.hashed[s] = at + n;
        const endsSegment = this.segmentCount > 1 && s < this.segmentCount - 1 && at + n === end;
        if (this.extra) {
          const copy = data.slice();
          this.inFlight[this.workers.length]++;
          this.extra.postMessage({ type: 'update', data: copy } satisfies HashRequest, [copy.buffer]);
        }
        this.inFlight[w]++;
        const update: HashRequest = { type: 'update', data, segment: this.segmentCount > 1 ? s : undefined, endsSegment };
        this.workers[w].postMessage(update, [data.buffer]);
      }
    }
  }
}
