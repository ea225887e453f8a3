import { ErrorCode, TesseraError } from '../../core/errors.ts';
import type { ChecksumAlgorithm } from '../../core/manifest/manifest.ts';
import type { Sha256Chain } from '../../core/sha256-chain.ts';
import type { HashReply, HashRequest } from './messages.ts';

/** Hash workers when the manifest has SHA-256 checkpoints: one per core beside the writer, 2 to 4. */
export const chainWorkers = () => Math.min(4, Math.max(2, (navigator.hardwareConcurrency || 2) - 1));

/** A worker's error event has no message when its script could not be loaded (a page updated or served from a broken cache). */
export const workerProblem = (e: ErrorEvent) => e.message || 'its script could not be loaded; reload the page and try again';

/** A hash worker (hash-worker.ts), named for the browser's task manager and profiles. */
export const hashWorker = (name: string) => new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name });

export interface HashPoolOptions {
  /** The manifest's SHA-256 checkpoints: hash segments on several workers. */
  chain?: Sha256Chain;
  /** Also compute the SHA-256 (a description with another checksum, and a SHA-256 the user expects). */
  alsoSha256?: boolean;
  /** The size of the batches given to update(); checkpoints are used only if segments are whole batches. */
  batchBytes: number;
}

/**
 * The image's checksum on workers beside the assembly, fed the image in
 * order, batch by batch (hash-worker.ts). With SHA-256 checkpoints (`chain`),
 * segment s goes to worker s mod N, which starts it from its checkpoint and
 * reports the state at its end; the digest is finished by the worker of the
 * last segment. It is the image's SHA-256 only if every segment ended on its
 * checkpoint, which digest() checks.
 */
export class HashPool {
  /** How the checksum is computed: in how many segments (1: one pass), on how many workers. */
  readonly hashing: { segments: number; workers: number };
  /** Set when a worker failed; the owner stops. */
  failure: Error | null = null;
  /** Batches handed over and not yet hashed, over all workers. */
  waiting = 0;
  private readonly segments: Sha256Chain | undefined;
  private readonly hashers: Worker[];
  private readonly extra: Worker | null;
  private readonly all: Worker[];
  private readonly digests: (Extract<HashReply, { type: 'digest' }> | null)[];
  private readonly badSegments: number[] = [];
  /** Bytes handed over so far. */
  private position = 0;

  /** `changed` is called whenever a batch is hashed, a digest arrives or a worker fails. */
  constructor(algorithm: ChecksumAlgorithm, { chain, alsoSha256 = false, batchBytes }: HashPoolOptions, private readonly changed: () => void) {
    this.segments = algorithm === 'sha256' && chain && chain.segmentBytes % batchBytes === 0 ? chain : undefined;
    this.hashers = Array.from({ length: this.segments ? chainWorkers() : 1 }, (_, i) => hashWorker(`hash-${i}`));
    // The extra SHA-256 runs beside the others, on a copy of every batch.
    this.extra = alsoSha256 && algorithm !== 'sha256' ? hashWorker('sha256') : null;
    this.all = this.extra ? [...this.hashers, this.extra] : this.hashers;
    this.digests = this.all.map(() => null);
    this.hashing = { segments: this.segments ? this.segments.states.length + 1 : 1, workers: this.hashers.length };
    this.all.forEach((hasher, i) => {
      hasher.onmessage = (e: MessageEvent<HashReply>) => {
        const reply = e.data;
        if (reply.type === 'failed') this.failure = new Error(`the hash worker failed: ${reply.message}`);
        else if (reply.type === 'hashed') this.waiting--;
        else if (reply.type === 'segment') {
          if (reply.state !== this.segments!.states[reply.index]) this.badSegments.push(reply.index);
        } else if (reply.type === 'digest') this.digests[i] = reply;
        this.changed();
      };
      hasher.onerror = (e) => {
        this.failure = new Error(`the hash worker failed: ${workerProblem(e)}`);
        this.changed();
      };
    });
    for (let i = 0; i < this.hashers.length; i++) this.send(i, { type: 'init', algorithm, chain: this.segments });
    if (this.extra) this.send(this.hashers.length, { type: 'init', algorithm: 'sha256' });
  }

  /** Workers hashing the image's checksum (and the extra SHA-256): the owner keeps `waiting` below a multiple of this. */
  get workers(): number {
    return this.all.length;
  }

  /** The next batch of the image (transferred). Batches never straddle segments: segments are whole batches. */
  update(data: Uint8Array<ArrayBuffer>): void {
    const segments = this.segments;
    const segment = this.segmentOf(this.position);
    this.position += data.length;
    const endsSegment = segments !== undefined && segment < segments.states.length && this.position === (segment + 1) * segments.segmentBytes;
    if (this.extra) {
      const copy = data.slice();
      this.waiting++;
      this.send(this.hashers.length, { type: 'update', data: copy }, [copy.buffer]);
    }
    this.waiting++;
    this.send(segment % this.hashers.length, { type: 'update', data, segment: segments ? segment : undefined, endsSegment }, [data.buffer]);
  }

  /**
   * After the last batch: the checksum of everything handed over, once every
   * segment was checked against its checkpoint. `waitFor` waits until its
   * condition holds (and throws on a failure).
   */
  async digest(waitFor: (ready: () => boolean) => Promise<void>): Promise<{ hex: string; ms: number }> {
    for (let i = 0; i < this.all.length; i++) this.send(i, { type: 'digest' });
    await waitFor(() => this.waiting === 0 && this.digests.every((d) => d !== null));
    const ms = this.digests.reduce((sum, d) => sum + d!.ms, 0);
    const segments = this.segments;
    const last = this.segmentOf(this.position - 1);
    if (segments && last !== segments.states.length) throw new Error(`internal: the image ended in SHA-256 segment ${last}, the manifest has ${segments.states.length + 1}`);
    if (this.badSegments.length > 0) {
      const s = Math.min(...this.badSegments);
      const size = segments!.segmentBytes;
      throw new TesseraError(
        ErrorCode.ChecksumMismatch,
        `bytes ${s * size}-${(s + 1) * size - 1} of the rebuilt image do not hash to the manifest's SHA-256 checkpoint, so the image is not the published one and must not be used`,
        { segment: s },
      );
    }
    return { hex: this.digests[last % this.hashers.length]!.hex, ms };
  }

  /** With `alsoSha256`: the SHA-256 of everything handed over, after digest(). */
  async sha256(waitFor: (ready: () => boolean) => Promise<void>): Promise<string> {
    if (!this.extra) throw new Error('internal: the output was opened without alsoSha256');
    await waitFor(() => this.digests[this.hashers.length] !== null);
    return this.digests[this.hashers.length]!.hex;
  }

  terminate(): void {
    for (const h of this.all) h.terminate();
  }

  private segmentOf(offset: number): number {
    return this.segments ? Math.floor(offset / this.segments.segmentBytes) : 0;
  }

  private send(i: number, request: HashRequest, transfer: Transferable[] = []): void {
    this.all[i].postMessage(request, transfer);
  }
}
