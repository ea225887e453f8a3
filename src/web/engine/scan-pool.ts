import type { BlockIndexParts } from '../../core/block-index.ts';
import { BlockSources, FROM_ZEROS } from '../../core/block-sources.ts';
import type { Manifest } from '../../core/manifest/manifest.ts';
import type { ScanFindings } from '../storage/scan-cache.ts';
import { FindingRuns, forEachFinding } from './finding-runs.ts';
import type { ScanReply, ScanRequest, SeedFile } from './messages.ts';
import { releaseBuffer } from './release-buffer.ts';

/** Seeds are cut into slices of at most this size, so every core has work even with one big ISO. */
const SLICE_BYTES = 64 << 20;

interface Task {
  id: number;
  seed: number;
  file: File;
  name: string;
  start: number;
  end: number;
  done: number;
}

/** The image file as the scan sees it (image-file.ts): the workers write what they find into it. */
export interface ImageFileForScan {
  /** Its name in the site's storage, and whether a worker may open a handle of its own on it. */
  readonly name: string;
  readonly shared: boolean;
  connect(): MessagePort;
  markFinal(blocks: Int32Array): void;
}

export interface ScanCallbacks {
  /** Bytes of seed `seed` scanned so far. */
  onProgress?: (seed: number, bytes: number) => void;
  /** Seed `seed` is finished (all its slices), or was known from the cache without reading it. */
  onSeedDone?: (seed: number, fromCache: boolean) => void;
  /** Seed `seed` could not be read and is skipped; what it had given is taken back. */
  onSeedSkipped?: (seed: number, reason: string) => void;
}

/**
 * A pool of scan workers, one per core (the main thread only merges
 * results). Seeds can be added at any time; their blocks are merged into
 * `sources`, numbered in the order the seeds were added.
 */
export class ScanPool {
  readonly sources: BlockSources;
  /** 1 for each block the scan also wrote into the image file (when there is one), at its place in the image. */
  readonly staged: Uint8Array;
  /** Where the scan workers' time went, summed over tasks (ms); whether they share one block index (sharedIndex). */
  readonly stats = { tasks: 0, ms: 0, readWaitMs: 0, cachedSeeds: 0, sharedIndex: false };
  private readonly workers: Worker[] = [];
  private readonly busy: (Task | null)[] = [];
  private readonly queue: Task[] = [];
  private readonly seedTasks = new Map<number, { left: number; failed: boolean; bytes: number; key?: string; found: FindingRuns }>();
  private nextTask = 0;
  private idleWaiters: (() => void)[] = [];
  /** The workers have started (null: released, started again by the next scan). */
  private ready: Promise<void> | null;
  private zerosFound = false;
  private callbacks: ScanCallbacks = {};
  /** Shared with the workers where the page may share memory (FoundBlocks' `claimed`); kept when they are started again. */
  private claimed: Int32Array | undefined;
  private fatal: Error | null = null;

  /**
   * `cache` (optional) remembers what was found in each file: a file seen
   * before, unchanged, is not read again. `imageFile` (optional): the workers
   * write the blocks they find into it.
   */
  private readonly imageFile?: ImageFileForScan;

  constructor(
    private readonly manifest: Manifest,
    private readonly cache?: { key(file: File, name: string): string; get(key: string): Promise<ScanFindings | undefined>; put(key: string, findings: ScanFindings): Promise<void> },
    imageFile?: ImageFileForScan,
    private readonly workerCount = Math.max(1, navigator.hardwareConcurrency || 2),
  ) {
    const blockCount = manifest.blocks.blockCount;
    this.sources = new BlockSources(blockCount);
    this.staged = new Uint8Array(blockCount);
    this.imageFile = imageFile;
    this.ready = this.startWorkers();
  }

  /** The workers, each with the block index: built by the first in shared memory for all where the page may share memory. */
  private startWorkers(): Promise<void> {
    const { manifest, workerCount, imageFile } = this;
    const inits: Promise<void>[] = [];
    // Cross-origin isolated, the first worker builds the block index in shared memory and the others use it:
    // one copy (~14 bytes a block) instead of one per worker; the manifest's table is shared already.
    const share = globalThis.crossOriginIsolated === true && workerCount > 1;
    this.stats.sharedIndex = share;
    // And where they have found each block so far: one found in a slice is not jumped over in another slice of its file.
    if (share) this.claimed ??= new Int32Array(new SharedArrayBuffer(4 * Math.max(1, manifest.blocks.blockCount)));
    const claimed = this.claimed;
    // The image's zero blocks are reported once: workers started again know them, and the pool has them.
    const findZeros = !this.zerosFound;
    this.zerosFound = true;
    let indexBuilt: (parts: BlockIndexParts | undefined) => void = () => {};
    const sharedIndex = new Promise<BlockIndexParts | undefined>((resolve) => (indexBuilt = resolve));
    for (let w = 0; w < workerCount; w++) {
      const worker = new Worker(new URL('./scan-worker.ts', import.meta.url), { type: 'module', name: `scan-${w}` });
      this.workers.push(worker);
      this.busy.push(null);
      inits.push(
        new Promise((resolve, reject) => {
          worker.onmessage = (e: MessageEvent<ScanReply>) => {
            const reply = e.data;
            if (reply.type === 'ready') {
              if (w === 0) indexBuilt(reply.index);
              for (const k of reply.zeroBlocks) this.sources.set(k, FROM_ZEROS, 0);
              // Zero blocks are final in the image file from the start (it starts as zeros).
              if (reply.zeroBlocks.length > 0) imageFile?.markFinal(reply.zeroBlocks);
              worker.onmessage = (m: MessageEvent<ScanReply>) => this.onReply(w, m.data);
              resolve();
            } else if (reply.type === 'fatal') reject(new Error(reply.message));
          };
          worker.onerror = (e) => reject(new Error(`scan worker failed to start: ${e.message}`));
        }),
      );
      const init = (index?: BlockIndexParts) => {
        const port = imageFile?.connect();
        const request: ScanRequest = { type: 'init', manifest, findZeros: findZeros && w === 0, imageFile: port, imageFileName: imageFile?.shared ? imageFile.name : undefined, index, shareIndex: share && w === 0, claimed };
        worker.postMessage(request, port ? [port] : []);
      };
      if (share && w > 0) void sharedIndex.then(init);
      else init();
    }
    return Promise.all(inits).then(() => undefined);
  }

  /** Scan these seeds (numbered from `firstSeed`); resolves when the pool is idle again. */
  async scan(seeds: readonly SeedFile[], firstSeed: number, callbacks: ScanCallbacks = {}): Promise<void> {
    await (this.ready ??= this.startWorkers());
    this.callbacks = callbacks;
    for (const [i, s] of seeds.entries()) {
      const seed = firstSeed + i;
      const key = this.cache?.key(s.file, s.name);
      const known = key ? await this.cache!.get(key) : undefined;
      if (known) {
        forEachFinding(known.runs, this.manifest.blocks.blockSize, (block, offset) => this.sources.set(block, seed, offset));
        this.stats.cachedSeeds++;
        callbacks.onSeedDone?.(seed, true);
        continue;
      }
      const size = s.file.size;
      const slices = Math.max(1, Math.ceil(size / SLICE_BYTES));
      this.seedTasks.set(seed, { left: slices, failed: false, bytes: 0, key, found: new FindingRuns(this.manifest.blocks.blockSize) });
      for (let k = 0; k < slices; k++) {
        const start = Math.floor((k * size) / slices);
        const end = Math.floor(((k + 1) * size) / slices);
        this.queue.push({ id: this.nextTask++, seed, file: s.file, name: s.name, start, end, done: 0 });
      }
    }
    this.dispatch();
    await this.idle();
    if (this.fatal) throw this.fatal;
  }

  terminate(): void {
    for (const w of this.workers) w.terminate();
  }

  /**
   * Stop the workers while no seed is being scanned (the download has
   * started): their block index, buffers and what their collectors have not
   * yet freed go with them. What they found stays (`sources`); a later
   * scan starts them again.
   */
  release(): void {
    if (this.queue.length > 0 || this.busy.some((b) => b !== null)) return;
    this.terminate();
    this.workers.length = 0;
    this.busy.length = 0;
    this.ready = null;
  }

  private idle(): Promise<void> {
    if (this.queue.length === 0 && this.busy.every((b) => b === null)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private dispatch(): void {
    for (let w = 0; w < this.workers.length; w++) {
      if (this.busy[w] || this.queue.length === 0) continue;
      const task = this.queue.shift()!;
      if (this.seedTasks.get(task.seed)?.failed) {
        this.finishTask(task);
        w--;
        continue;
      }
      this.busy[w] = task;
      const request: ScanRequest = { type: 'scan', task: task.id, seed: task.seed, file: task.file, name: task.name, start: task.start, end: task.end };
      this.workers[w].postMessage(request);
    }
    if (this.queue.length === 0 && this.busy.every((b) => b === null)) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private onReply(w: number, reply: ScanReply): void {
    const task = this.busy[w];
    if (reply.type === 'fatal') {
      this.fatal = new Error(reply.message);
      this.busy[w] = null;
      this.queue.length = 0;
      this.dispatch();
      return;
    }
    if (!task || !('task' in reply) || reply.task !== task.id) return;
    const state = this.seedTasks.get(task.seed)!;
    if (reply.type === 'progress') {
      if (state.failed) return; // the seed was skipped: its other slices must not mark it 'scanning' again
      state.bytes += reply.bytes - task.done;
      task.done = reply.bytes;
      this.callbacks.onProgress?.(task.seed, state.bytes);
      return;
    }
    if (reply.type === 'result') {
      this.stats.tasks++;
      this.stats.ms += reply.ms;
      this.stats.readWaitMs += reply.readWaitMs;
    }
    if (reply.type === 'result' && !state.failed) {
      for (let i = 0; i < reply.blocks.length; i++) this.sources.set(reply.blocks[i], task.seed, reply.offsets[i]);
      if (reply.staged) {
        for (const k of reply.blocks) this.staged[k] = 1;
        this.imageFile?.markFinal(reply.blocks);
      }
      if (state.key) state.found.add(reply.blocks, reply.offsets);
    }
    if (reply.type === 'result') {
      // (Merged, cached as runs, and copied into the message to the image file: given back now.)
      releaseBuffer(reply.blocks);
      releaseBuffer(reply.offsets);
    }
    if (reply.type === 'failed' && !state.failed) {
      state.failed = true;
      // Take back whatever earlier slices of this seed gave: it cannot be trusted now.
      for (let k = 0; k < this.sources.blockCount; k++) if (this.sources.seed[k] === task.seed) this.sources.clear(k);
      this.callbacks.onSeedSkipped?.(task.seed, reply.message);
    }
    this.busy[w] = null;
    this.finishTask(task);
    this.dispatch();
  }

  private finishTask(task: Task): void {
    const state = this.seedTasks.get(task.seed)!;
    state.left--;
    if (state.left !== 0 || state.failed) return;
    this.callbacks.onSeedDone?.(task.seed, false);
    if (state.key && this.cache) void this.cache.put(state.key, { runs: state.found.toArray(), savedAt: Date.now() });
  }
}
