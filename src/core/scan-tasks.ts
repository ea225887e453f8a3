import type { BlockSources } from './block-sources.ts';

/** Bytes [start, end) of seed `seed` to scan, as one piece of work for a scan worker. */
export interface ScanTask {
  readonly id: number;
  readonly seed: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Cut the seeds into tasks, in order: a seed up to `sliceBytes` is one task,
 * a larger one is cut into equal slices of at most that, so that every worker
 * has work even with one large seed.
 */
export function planScanTasks(sizes: readonly number[], sliceBytes: number, skip: (seed: number) => boolean = () => false): ScanTask[] {
  const tasks: ScanTask[] = [];
  sizes.forEach((size, seed) => {
    if (skip(seed)) return;
    const slices = Math.max(1, Math.ceil(size / sliceBytes));
    for (let k = 0; k < slices; k++) {
      tasks.push({ id: tasks.length, seed, start: Math.floor((k * size) / slices), end: Math.floor(((k + 1) * size) / slices) });
    }
  });
  return tasks;
}

export interface MergeEvents {
  /** Every task of this seed is merged; `blocks` of the image came from it. */
  onSeedDone?(seed: number, blocks: number): void;
  /** A task of this seed failed: what it had given is taken back, its other tasks are dropped. */
  onSeedSkipped?(seed: number, reason: string): void;
}

type Outcome = { found: { blocks: Int32Array; offsets: Float64Array } } | { failed: string };

/**
 * Merges what scan tasks found into the rebuild's sources in the order of the
 * tasks (seed by seed, slice by slice), whatever order they finish in; that
 * gives the sources a scan of the seeds one after another gives (a block goes
 * to the first seed, and the first place in it, that has it). A seed whose
 * task fails is skipped: what its other tasks gave is taken back, as the
 * one-thread scan does.
 *
 * `known` (1 per block; a SharedArrayBuffer the workers read) marks blocks
 * whose source is final (zeros, and seeds merged whole): workers need not
 * report them again. Blocks of a seed still being merged are marked once the
 * seed is done, since a failure could still take them back.
 */
export class TaskMerger {
  private readonly outcomes = new Map<number, Outcome>();
  private nextToMerge = 0;
  private readonly failedSeeds = new Set<number>();
  /** The finds of the seed being merged so far (typed arrays: a large seed's list would otherwise grow the JavaScript heap), and how many were new. */
  private current: { seed: number; lists: Int32Array[]; added: number } = { seed: -1, lists: [], added: 0 };

  constructor(
    private readonly sources: BlockSources,
    private readonly tasks: readonly ScanTask[],
    readonly known: Uint8Array,
    private readonly events: MergeEvents = {},
  ) {
    for (let k = 0; k < sources.blockCount; k++) if (sources.has(k)) known[k] = 1;
  }

  /** All tasks are merged (or dropped with their seed). */
  get finished(): boolean {
    return this.nextToMerge >= this.tasks.length;
  }

  seedFailed(seed: number): boolean {
    return this.failedSeeds.has(seed);
  }

  done(taskId: number, found: { blocks: Int32Array; offsets: Float64Array }): void {
    this.outcomes.set(taskId, { found });
    this.mergeReady();
  }

  failed(taskId: number, reason: string): void {
    this.outcomes.set(taskId, { failed: reason });
    this.mergeReady();
  }

  private mergeReady(): void {
    while (this.nextToMerge < this.tasks.length) {
      const task = this.tasks[this.nextToMerge];
      if (this.failedSeeds.has(task.seed)) {
        this.outcomes.delete(task.id);
        this.nextToMerge++;
        continue;
      }
      const outcome = this.outcomes.get(task.id);
      if (!outcome) return;
      this.outcomes.delete(task.id);
      this.nextToMerge++;
      if (this.current.seed !== task.seed) this.current = { seed: task.seed, lists: [], added: 0 };
      const current = this.current;
      if ('failed' in outcome) {
        this.failedSeeds.add(task.seed);
        // Blocks found in a seed that failed half-way are not trusted: take them back
        // (sources.set never overwrites, so exactly the blocks naming it came from it).
        for (let k = 0; k < this.sources.blockCount; k++) {
          if (this.sources.seed[k] !== task.seed) continue;
          this.sources.clear(k);
          this.known[k] = 0;
        }
        current.lists = [];
        this.events.onSeedSkipped?.(task.seed, outcome.failed);
        continue;
      }
      const { blocks, offsets } = outcome.found;
      for (let i = 0; i < blocks.length; i++) if (this.sources.set(blocks[i], task.seed, offsets[i])) current.added++;
      current.lists.push(blocks);
      const last = this.nextToMerge >= this.tasks.length || this.tasks[this.nextToMerge].seed !== task.seed;
      if (last) {
        // The blocks this seed gave are final now.
        for (const list of current.lists) for (let i = 0; i < list.length; i++) if (this.sources.seed[list[i]] === task.seed) this.known[list[i]] = 1;
        this.events.onSeedDone?.(task.seed, current.added);
        current.lists = [];
      }
    }
  }
}
