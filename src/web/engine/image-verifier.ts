/// <reference lib="webworker" />
import type { ChecksumAlgorithm } from '../../core/manifest/manifest.ts';
import type { Sha256Chain } from '../../core/sha256-chain.ts';
import { SHA256_INITIAL_STATE, stateToHex } from '../../core/sha256-lanes.ts';
import { chainWorkers, hashWorker, workerProblem } from './hash-pool.ts';
import type { HashReply, HashRequest, SegmentPiece } from './messages.ts';

/** Without checkpoints: bytes read from the file and handed to the hash worker at a time. */
const CHUNK_BYTES = 16 << 20;
/** Batches handed to one hash worker and not yet hashed (memory bound: 2 x 16 MB per worker). */
const BATCHES_AHEAD = 2;
/**
 * With checkpoints: at most this much of one segment per batch; a batch holds pieces of up to 4 segments, of one
 * length, hashed at once. With 2 workers and 2 batches each in hand, at most 16 MiB is out being hashed (64 MiB
 * with 4 MiB pieces, which a large image kept filled to the end).
 */
const PIECE_BYTES = 1 << 20;
/** A shorter piece waits for more of its segment to be final, unless it ends the segment or all the image is final. */
const MIN_PIECE_BYTES = 1 << 20;
/** Segments hashed at once by one worker (Sha256Lanes). */
const LANES = 4;
const INITIAL_STATE = stateToHex(SHA256_INITIAL_STATE);

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
 * assembly has passed), it reads them back and hashes them, so much of the
 * hashing is done before the download ends (while the plan waits for Start,
 * and beside the download; not while seeds are scanned: see hold()). What
 * is hashed is what is stored.
 *
 * With SHA-256 checkpoints, each segment is hashed from its checkpoint as far
 * as its bytes are final. The verifier keeps every segment's state and hands
 * out pieces with their states, so any worker can take any segment, and a
 * worker hashes pieces of four segments at once (Sha256Lanes, about twice one
 * stream's speed). Without checkpoints the whole image is hashed in order on
 * one worker (and the SHA-256 on another, when asked for too).
 */
export class ImageVerifier {
  private readonly chain: Sha256Chain | undefined;
  private readonly segmentBytes: number;
  private readonly segmentCount: number;
  private readonly final: Uint8Array;
  /** Everything before this offset is final. */
  private finalBelow = 0;
  /** Per segment: final bytes from its start up to (absolute offset), and handed to hashing up to. */
  private readonly ready: number[];
  private readonly hashed: number[];
  /** With checkpoints, per segment: the SHA-256 state after `hashed` bytes (once its piece in flight is back), and whether one is in flight. */
  private readonly states: string[] = [];
  private readonly busy: boolean[] = [];
  /** All the image is final and the digest is asked for: pieces of any length go. */
  private draining = false;
  /** Nothing is handed to hashing (seeds are being scanned), unless draining. */
  private held = false;
  private readonly workers: Worker[];
  private readonly extra: Worker | null;
  private readonly inFlight: number[];
  /** Per worker, the segments of each batch sent and not yet answered (answers come in order). */
  private readonly sent: number[][][];
  private readonly bad: number[] = [];
  private readonly digests = new Map<Worker, Extract<HashReply, { type: 'digest' }>>();
  private piecesMs = 0;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  /** Buffers handed back by the hash workers, for the next reads (CHUNK_BYTES without checkpoints, else PIECE_BYTES). */
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  private readonly bufferBytes: number;
  /** nextBatch()'s picks so far and their bytes ready. */
  private readonly topSegments = new Int32Array(LANES);
  private readonly topAvailable = new Float64Array(LANES);

  constructor(private readonly o: VerifierOptions) {
    // An image within one segment has no checkpoint: hashed in one pass.
    this.chain = o.algorithm === 'sha256' && o.chain && o.chain.states.length > 0 ? o.chain : undefined;
    const chain = this.chain;
    this.segmentBytes = chain ? chain.segmentBytes : Math.max(1, o.length);
    this.segmentCount = chain ? chain.states.length + 1 : 1;
    this.bufferBytes = chain ? PIECE_BYTES : CHUNK_BYTES;
    this.final = new Uint8Array(Math.ceil(o.length / o.blockSize));
    this.ready = Array.from({ length: this.segmentCount }, (_, s) => s * this.segmentBytes);
    this.hashed = [...this.ready];
    if (chain) {
      for (let s = 0; s < this.segmentCount; s++) {
        this.states.push(s === 0 ? INITIAL_STATE : chain.states[s - 1]);
        this.busy.push(false);
      }
    }
    this.workers = Array.from({ length: chain ? chainWorkers() : 1 }, (_, i) => hashWorker(`verify-${i}`));
    this.extra = o.alsoSha256 && o.algorithm !== 'sha256' ? hashWorker('verify-sha256') : null;
    const all = this.extra ? [...this.workers, this.extra] : this.workers;
    this.inFlight = all.map(() => 0);
    this.sent = all.map(() => []);
    all.forEach((worker, i) => {
      worker.onmessage = (e: MessageEvent<HashReply>) => {
        const r = e.data;
        if (r.type === 'failed') this.failure = new Error(`the hash worker failed: ${r.message}`);
        else if (r.type === 'hashed') {
          this.inFlight[i]--;
          this.recycle(r.data);
        } else if (r.type === 'pieces-hashed') this.piecesHashed(i, r);
        else if (r.type === 'digest') this.digests.set(worker, r);
        this.pump();
        this.wake?.();
      };
      worker.onerror = (e) => {
        this.failure = new Error(`the hash worker failed: ${workerProblem(e)}`);
        this.wake?.();
      };
      // With checkpoints the workers are sent pieces with their states: no set-up.
      if (!chain) worker.postMessage({ type: 'init', algorithm: worker === this.extra ? 'sha256' : o.algorithm } satisfies HashRequest);
    });
  }

  /** These blocks are final in the file (written by the scan, or zeros in a file that started as zeros). */
  markFinal(blocks: Int32Array): void {
    let low = Infinity;
    let high = -1;
    for (const k of blocks) {
      this.final[k] = 1;
      if (k < low) low = k;
      if (k > high) high = k;
    }
    if (high >= 0) this.advance(low * this.o.blockSize, (high + 1) * this.o.blockSize);
    else this.pump();
  }

  /** Which blocks were said final (1 each), by markFinal() and finalRange(). */
  get finalBlocks(): Uint8Array {
    return this.final;
  }

  /** The blocks marked 1 in `map` (another verifier's finalBlocks, over the same blocks) are final. */
  markFinalMap(map: Uint8Array): void {
    for (let k = 0; k < this.final.length; k++) if (map[k] === 1) this.final[k] = 1;
    this.advance();
  }

  /** The whole blocks within [start, end) are final (the image's last block if `end` is the image's end). */
  finalRange(start: number, end: number): void {
    const bs = this.o.blockSize;
    const last = end >= this.o.length ? this.final.length : Math.floor(end / bs);
    for (let k = Math.ceil(start / bs); k < last; k++) this.final[k] = 1;
    this.advance(start, end);
  }

  /** Everything before `offset` is final (the assembly has written or stepped over it). */
  finalUpTo(offset: number): void {
    const before = this.finalBelow;
    this.finalBelow = Math.max(before, Math.min(offset, this.o.length));
    this.advance(before, this.finalBelow);
  }

  /** Hold the hashing (what becomes final meanwhile is hashed after), or go on with it. */
  hold(held: boolean): void {
    this.held = held;
    this.pump();
  }

  /** Once all is final: the checksum, after every segment was checked against its checkpoint. */
  async digest(): Promise<Verified> {
    this.draining = true;
    this.pump();
    if (this.chain) return this.chainDigest();
    await this.until(() => this.hashed[0] === this.o.length && this.inFlight.every((n) => n === 0));
    this.workers[0].postMessage({ type: 'digest' } satisfies HashRequest);
    this.extra?.postMessage({ type: 'digest' } satisfies HashRequest);
    await this.until(() => this.digests.has(this.workers[0]) && (!this.extra || this.digests.has(this.extra)));
    const hashMs = [...this.digests.values()].reduce((sum, d) => sum + d.ms, 0);
    return { hex: this.digests.get(this.workers[0])!.hex, sha256: this.extra ? this.digests.get(this.extra)!.hex : undefined, hashMs, segments: 1, workers: 1 };
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
    this.extra?.terminate();
  }

  /** With checkpoints: hash the image's last bytes (not whole SHA-256 blocks) from the last segment's state, then check every segment. */
  private async chainDigest(): Promise<Verified> {
    const last = this.segmentCount - 1;
    const tailAt = this.pieceEnd(last);
    await this.until(() => this.hashed.every((h, s) => h === this.pieceEnd(s)) && !this.busy.includes(true));
    const finisher = this.workers[0];
    const data = this.o.read(tailAt, this.o.length - tailAt);
    finisher.postMessage({ type: 'finish', offset: tailAt, state: this.states[last], data } satisfies HashRequest, [data.buffer]);
    await this.until(() => this.digests.has(finisher));
    if (this.bad.length > 0) {
      const s = Math.min(...this.bad);
      throw new SegmentMismatch(s, s * this.segmentBytes, this.segmentEnd(s));
    }
    return { hex: this.digests.get(finisher)!.hex, hashMs: this.piecesMs + this.digests.get(finisher)!.ms, segments: this.segmentCount, workers: this.workers.length };
  }

  private segmentEnd(s: number): number {
    return Math.min(this.o.length, (s + 1) * this.segmentBytes);
  }

  /** Where pieces of segment s end: its end, but the image's last bytes that are not a whole SHA-256 block go with the digest. */
  private pieceEnd(s: number): number {
    const end = this.segmentEnd(s);
    return s === this.segmentCount - 1 && this.chain ? end - (end % 64) : end;
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done() && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
  }

  private recycle(data: Uint8Array<ArrayBuffer>): void {
    if (data.buffer.byteLength === this.bufferBytes) this.spare.push(new Uint8Array(data.buffer));
  }

  /** Move the final prefix of each segment that has bytes in [from, to) forward, then hand out what can be hashed. */
  private advance(from = 0, to = this.o.length): void {
    const bs = this.o.blockSize;
    const last = Math.min(this.segmentCount - 1, Math.floor(Math.max(from, to - 1) / this.segmentBytes));
    for (let s = Math.floor(from / this.segmentBytes); s <= last; s++) {
      const end = this.segmentEnd(s);
      let r = Math.max(this.ready[s], Math.min(end, this.finalBelow));
      while (r < end && this.final[Math.floor(r / bs)] === 1) r = Math.min(end, (Math.floor(r / bs) + 1) * bs);
      this.ready[s] = r;
    }
    this.pump();
  }

  private pump(): void {
    if (this.held && !this.draining) return;
    if (this.chain) this.pumpPieces();
    else this.pumpStream();
  }

  /** Without checkpoints: the image in order, in whole chunks but its end as soon as it is final. */
  private pumpStream(): void {
    const extra = this.workers.length;
    while (this.inFlight[0] < BATCHES_AHEAD && (!this.extra || this.inFlight[extra] < BATCHES_AHEAD)) {
      const at = this.hashed[0];
      const available = this.ready[0] - at;
      if (available <= 0 || (available < CHUNK_BYTES && this.ready[0] < this.o.length)) return;
      const n = Math.min(CHUNK_BYTES, available);
      const data = this.o.read(at, n, this.spare.pop());
      this.hashed[0] = at + n;
      if (this.extra) {
        const copy = data.slice();
        this.inFlight[extra]++;
        this.extra.postMessage({ type: 'update', data: copy } satisfies HashRequest, [copy.buffer]);
      }
      this.inFlight[0]++;
      this.workers[0].postMessage({ type: 'update', data } satisfies HashRequest, [data.buffer]);
    }
  }

  /** With checkpoints: batches of pieces of up to four segments, to the least busy worker. */
  private pumpPieces(): void {
    for (;;) {
      let w = 0;
      for (let i = 1; i < this.workers.length; i++) if (this.inFlight[i] < this.inFlight[w]) w = i;
      if (this.inFlight[w] >= BATCHES_AHEAD) return;
      const batch = this.nextBatch();
      if (!batch) return;
      // Fewer than four segments hash in the time of four: while any batch is in hand, only full ones go.
      if (batch.segments.length < LANES && this.inFlight.some((n) => n > 0) && !this.draining) return;
      const pieces: SegmentPiece[] = batch.segments.map((s) => {
        const offset = this.hashed[s];
        this.hashed[s] = offset + batch.length;
        this.busy[s] = true;
        return { offset, state: this.states[s], data: this.o.read(offset, batch.length, this.spare.pop()) };
      });
      this.inFlight[w]++;
      this.sent[w].push(batch.segments);
      this.workers[w].postMessage({ type: 'pieces', pieces } satisfies HashRequest, pieces.map((p) => p.data.buffer));
    }
  }

  /**
   * The segments to hash next, and how much of each: as many segments as can
   * go at once (four lanes hash four pieces in the time of one), the ones with
   * most bytes ready first, each as far as the shortest of them. (Picked in
   * one pass into fixed arrays: this runs on every message, over every
   * segment, and garbage made here grew the worker's heap with the image.)
   */
  private nextBatch(): { segments: number[]; length: number } | null {
    const top = this.topSegments;
    const topAvailable = this.topAvailable;
    let n = 0;
    for (let s = 0; s < this.segmentCount; s++) {
      if (this.busy[s]) continue;
      const upTo = Math.min(this.ready[s] - (this.ready[s] % 64), this.pieceEnd(s));
      const available = upTo - this.hashed[s];
      if (available <= 0) continue;
      if (available < MIN_PIECE_BYTES && upTo < this.pieceEnd(s) && !this.draining) continue;
      // Kept in order of bytes ready, most first (the earlier segment first among equals).
      if (n === LANES && available <= topAvailable[LANES - 1]) continue;
      let i = n < LANES ? n++ : LANES - 1;
      while (i > 0 && topAvailable[i - 1] < available) {
        top[i] = top[i - 1];
        topAvailable[i] = topAvailable[i - 1];
        i--;
      }
      top[i] = s;
      topAvailable[i] = available;
    }
    if (n === 0) return null;
    return { segments: Array.from(top.subarray(0, n)), length: Math.min(PIECE_BYTES, topAvailable[n - 1]) };
  }

  private piecesHashed(w: number, r: Extract<HashReply, { type: 'pieces-hashed' }>): void {
    this.inFlight[w]--;
    this.piecesMs += r.ms;
    const segments = this.sent[w].shift()!;
    segments.forEach((s, i) => {
      this.states[s] = r.states[i];
      this.busy[s] = false;
      // A whole segment before the last: its state must be the manifest's checkpoint.
      if (s < this.segmentCount - 1 && this.hashed[s] === this.segmentEnd(s) && r.states[i] !== this.chain!.states[s]) this.bad.push(s);
    });
    for (const data of r.data) this.recycle(data);
  }
}
