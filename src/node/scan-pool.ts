// `tessera get`'s scan on every core: seeds cut into tasks (whole small files,
// slices of large ones) spread over node:worker_threads, their finds merged in
// the order of the seeds (core/scan-tasks.ts), as the page's ScanPool does with
// Web Workers. The block table and its index are built once, in shared memory.
import { Worker } from 'node:worker_threads';
import { BlockIndex, type BlockIndexParts } from '../core/block-index.ts';
import { BlockSources, FoundBlocks } from '../core/block-sources.ts';
import { type BlockTable, shareTable } from '../core/block-table.ts';
import { ErrorCode, TesseraError, describeError, isTesseraError } from '../core/errors.ts';
import { createBlockHash } from '../core/hashing.ts';
import type { SeedReader } from '../core/io.ts';
import type { Manifest } from '../core/manifest/manifest.ts';
import { planDownload } from '../core/plan.ts';
import type { RebuildSession, ScanSeedsOptions } from '../core/rebuild.ts';
import { ScanBuffers, findKeptBlocks, findZeroBlocks, scanSeed } from '../core/scan-seed.ts';
import { type ScanTask, TaskMerger, planScanTasks } from '../core/scan-tasks.ts';

export type PoolRequest =
  | { type: 'init'; table: BlockTable; index: BlockIndexParts; known: Uint8Array; claimed: Int32Array; readSize: number }
  /** `fd`: the seed's open file (read through it), else it is opened by `path`; `leftover`: an earlier run's kept part (ScanOptions.jumpOverKnown). */
  | { type: 'scan'; task: number; seed: number; path: string; fd?: number; size: number; start: number; end: number; leftover: boolean };

export type PoolReply =
  | { type: 'ready' }
  | { type: 'progress'; task: number; bytes: number }
  | { type: 'result'; task: number; blocks: Int32Array; offsets: Float64Array; ms: number; readWaitMs: number; candidates: number }
  | { type: 'failed'; task: number; message: string }
  | { type: 'fatal'; message: string };

/** Each worker reads 1 MiB at a time (two read buffers and the window: ~3 MiB a worker). */
const READ_BYTES = 1 << 20;

export interface ThreadedScanOptions extends ScanSeedsOptions {
  /** Threads that scan: this one and threads - 1 workers. */
  threads: number;
  /** false: only the workers scan (threads of them); tests use it to have every task run in a worker. */
  scanHere?: boolean;
  /** Seeds larger than this are cut into slices of at most this (default: the seeds' total over 8 per thread, from 8 to 64 MiB). */
  sliceBytes?: number;
  /** The worker's script (default: scan-worker.mjs next to this bundle). */
  workerUrl?: URL;
}

/** Where the scan's time went, over all workers (ms), for --json. */
export interface ThreadedScanStats {
  threads: number;
  /** From the call to the workers being ready (started, index built), and to the scan's end. */
  readyMs: number;
  totalMs: number;
  tasks: number;
  workerMs: number;
  readWaitMs: number;
  candidates: number;
}

/**
 * scanSeeds (core/rebuild.ts) on several threads: the same session, the
 * same events (scan-start, scan-progress, scan-done, seed-skipped per seed;
 * a seed that fails in a worker is skipped with its reason, what it gave
 * taken back), the same sources (merged in seed order). Seeds are files: the
 * workers read them through their open descriptor (FileSeedReader.fd), or
 * open them by name.
 */
export async function scanSeedsThreaded(
  manifest: Manifest,
  seeds: readonly SeedReader[],
  options: ThreadedScanOptions,
): Promise<RebuildSession & { stats: ThreadedScanStats }> {
  const t0 = performance.now();
  const threads = Math.max(1, Math.floor(options.threads));
  const workerUrl = options.workerUrl ?? new URL('./scan-worker.mjs', import.meta.url);
  // Start the workers first: they load while the index is built.
  // A small young generation: a scan allocates little that lives (a digest per block checked).
  const scanHere = options.scanHere ?? true;
  const workers = Array.from({ length: scanHere ? threads - 1 : threads }, (_, i) => new Worker(workerUrl, { name: `scan-${i}`, resourceLimits: { maxYoungGenerationSizeMb: 4 } }));
  const stats: ThreadedScanStats = { threads, readyMs: 0, totalMs: 0, tasks: 0, workerMs: 0, readWaitMs: 0, candidates: 0 };
  try {
    const table = shareTable(manifest.blocks);
    const shared: Manifest = { ...manifest, blocks: table };
    const index = new BlockIndex(table, { shared: true });
    const blockHash = await createBlockHash(table.strongHash);
    const sources = new BlockSources(table.blockCount);
    findZeroBlocks(index, blockHash, sources);
    const skippedSeeds: { seed: string; reason: string }[] = [];
    const emit = options.onEvent ?? (() => {});
    const total = seeds.reduce((s, r) => s + r.size, 0);
    const sliceBytes = options.sliceBytes ?? Math.min(64 << 20, Math.max(8 << 20, Math.ceil(total / (threads * 8))));

    // What an earlier run kept: its lone blocks are looked up here first (see findKeptBlocks), as scanSeeds does.
    const keptFailed = new Set<number>();
    for (let i = 0; i < seeds.length; i++) {
      if (!seeds[i].leftover || index.seqMatches !== 2) continue;
      try {
        await findKeptBlocks(seeds[i], i, index, blockHash, sources, options.signal);
      } catch (error) {
        if (isTesseraError(error, ErrorCode.Aborted)) throw error;
        for (let k = 0; k < sources.blockCount; k++) if (sources.seed[k] === i) sources.clear(k);
        keptFailed.add(i);
        skippedSeeds.push({ seed: seeds[i].name, reason: describeError(error) });
        emit({ type: 'seed-skipped', seed: seeds[i].name, reason: describeError(error) });
      }
    }

    const tasks = planScanTasks(
      seeds.map((s) => s.size),
      sliceBytes,
      (i) => keptFailed.has(i),
    );
    const known = new Uint8Array(new SharedArrayBuffer(Math.max(1, table.blockCount)));
    // Where the threads have found each block so far (FoundBlocks): one found in a slice is not jumped over in another of its seed.
    const claimed = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, table.blockCount)));
    const started = new Set<number>();
    const progress = new Map<number, number>(); // bytes scanned per task
    const seedBytes = new Map<number, number>(); // bytes scanned per seed
    const merger = new TaskMerger(sources, tasks, known, {
      onSeedDone: (seed, blocks) => emit({ type: 'scan-done', seed: seeds[seed].name, seedIndex: seed, blocksFound: blocks }),
      onSeedSkipped: (seed, reason) => {
        skippedSeeds.push({ seed: seeds[seed].name, reason });
        emit({ type: 'seed-skipped', seed: seeds[seed].name, reason });
      },
    });

    // The main thread scans too, between merges (which are short): with N threads, N - 1 workers
    // plus this one, each core busy and one isolate fewer (~10 MB).
    const local = { found: new FoundBlocks(table.blockCount, known, claimed), buffers: new ScanBuffers(table.blockSize, READ_BYTES) };
    const MAIN = workers.length;
    const stopHere = new AbortController();
    let runningHere: Promise<void> | undefined;
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      /** The task each runner (workers, then this thread) is on; undefined: not ready yet. */
      const busy: (ScanTask | null | undefined)[] = [...workers.map(() => undefined), scanHere ? null : undefined];
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        stopHere.abort();
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(new TesseraError(ErrorCode.Aborted, 'cancelled'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });

      const onProgress = (task: ScanTask, bytes: number) => {
        const before = progress.get(task.id) ?? 0;
        progress.set(task.id, bytes);
        const seedDone = (seedBytes.get(task.seed) ?? 0) + bytes - before;
        seedBytes.set(task.seed, seedDone);
        const seed = seeds[task.seed];
        emit({ type: 'scan-progress', seed: seed.name, seedIndex: task.seed, bytesScanned: seedDone, size: seed.size });
      };
      const onResult = (runner: number, task: ScanTask, reply: { blocks: Int32Array; offsets: Float64Array; ms: number; readWaitMs: number; candidates: number }) => {
        busy[runner] = null;
        onProgress(task, task.end - task.start);
        stats.tasks++;
        stats.workerMs += reply.ms;
        stats.readWaitMs += reply.readWaitMs;
        stats.candidates += reply.candidates;
        merger.done(task.id, reply);
        dispatch();
      };
      const onFailed = (runner: number, task: ScanTask, message: string) => {
        busy[runner] = null;
        merger.failed(task.id, message);
        dispatch();
      };
      const runHere = async (task: ScanTask) => {
        const started = performance.now();
        let last = started;
        try {
          local.found.seed = task.seed;
          const result = await scanSeed(seeds[task.seed], task.seed, index, blockHash, local.found, {
            start: task.start,
            end: task.end,
            buffers: local.buffers,
            jumpOverKnown: seeds[task.seed].leftover === true,
            signal: stopHere.signal,
            onProgress: (bytes) => {
              const now = performance.now();
              if (now - last < 100 || settled) return;
              last = now;
              onProgress(task, bytes);
            },
          });
          const found = local.found.take();
          if (!settled) onResult(MAIN, task, { ...found, ms: performance.now() - started, readWaitMs: result.readWaitMs, candidates: result.candidates });
        } catch (error) {
          local.found.take();
          if (!settled) onFailed(MAIN, task, describeError(error));
        }
      };

      const dispatch = () => {
        if (settled) return;
        if (merger.finished || sources.complete) return finish();
        for (let w = 0; w < busy.length; w++) {
          if (busy[w] !== null) continue; // busy, or not ready
          while (next < tasks.length && merger.seedFailed(tasks[next].seed)) next++;
          if (next >= tasks.length) break;
          const task = tasks[next++];
          busy[w] = task;
          const seed = seeds[task.seed];
          if (!started.has(task.seed)) {
            started.add(task.seed);
            emit({ type: 'scan-start', seed: seed.name, seedIndex: task.seed, size: seed.size });
          }
          if (w === MAIN) runningHere = runHere(task);
          else {
            const fd = (seed as { fd?: number }).fd;
            const request: PoolRequest = { type: 'scan', task: task.id, seed: task.seed, path: seed.name, fd, size: seed.size, start: task.start, end: task.end, leftover: seed.leftover === true };
            workers[w].postMessage(request);
          }
        }
        // Tasks of a seed that failed meanwhile are dropped without running: the merger may be done now.
        if (merger.finished) finish();
      };

      let ready = 0;
      workers.forEach((worker, w) => {
        worker.on('error', (error) => finish(new Error(`scan worker failed: ${describeError(error)}`)));
        worker.on('exit', (code) => {
          if (!settled) finish(new Error(`scan worker stopped (exit code ${code})`));
        });
        worker.on('message', (reply: PoolReply) => {
          if (settled) return;
          if (reply.type === 'fatal') return finish(new Error(`scan worker failed: ${reply.message}`));
          if (reply.type === 'ready') {
            busy[w] = null;
            if (++ready === workers.length) stats.readyMs = performance.now() - t0;
            dispatch();
            return;
          }
          const task = busy[w];
          if (!task || task.id !== reply.task) return;
          if (reply.type === 'progress') return onProgress(task, reply.bytes);
          if (reply.type === 'result') onResult(w, task, reply);
          else onFailed(w, task, reply.message);
        });
        const init: PoolRequest = { type: 'init', table, index: index.parts, known, claimed, readSize: READ_BYTES };
        worker.postMessage(init);
      });
      dispatch();
    }).finally(() => runningHere); // a scan on this thread stops at once when told to; its reads end before the seeds are used again

    stats.totalMs = performance.now() - t0;
    const plan = planDownload(table, sources, options.plan);
    emit({ type: 'plan', plan });
    return { manifest: shared, seeds, sources, plan, blockHash, skippedSeeds, stats };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
