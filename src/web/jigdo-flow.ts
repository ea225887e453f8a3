import { ErrorCode, TesseraError, describeError, isTesseraError } from '../core/errors.ts';
import type { JigdoPlan } from '../core/jigdo/jigdo-plan.ts';
import type { RebuildEvent } from '../core/rebuild.ts';
import type { JigdoImageInfo, JigdoReply, JigdoRequest, JigdoResumed } from './engine/jigdo-messages.ts';
import type { AssembleSummary, OutputTarget, SeedFile } from './engine/messages.ts';

/** The block map draws a jigdo image in cells of this many bytes (an ISO sector: files start on one). */
export const JIGDO_MAP_UNIT = 2048;

export interface MatchCallbacks {
  /** Bytes of seed `seed` read so far. */
  onProgress?: (seed: number, bytes: number) => void;
  /** Seed `seed` is looked at (it holds some of the image's files, or none). */
  onSeedDone?: (seed: number, fromCache: boolean) => void;
  onSeedSkipped?: (seed: number, reason: string) => void;
}

/**
 * The page's side of a .jigdo: one worker (src/web/engine/jigdo-worker.ts)
 * fetches and checks the template, matches the user's files and builds the
 * image; this class asks it, one step at a time, and hands back its answers.
 */
export class JigdoFlow {
  private readonly worker = new Worker(new URL('./engine/jigdo-worker.ts', import.meta.url), { type: 'module', name: 'jigdo' });
  /** The request under way: its replies, and how it fails. */
  private onReply: ((reply: JigdoReply) => void) | null = null;
  private onFailure: ((error: Error) => void) | null = null;
  private info: JigdoImageInfo | null = null;
  private kept: JigdoResumed | null = null;

  private constructor() {
    this.worker.onmessage = (e: MessageEvent<JigdoReply>) => this.onReply?.(e.data);
    this.worker.onerror = (e) => this.onFailure?.(new Error(`the jigdo worker stopped: ${e.message}`));
  }

  /**
   * Read the .jigdo and fetch its template (relative to `jigdoUrl`), checked,
   * and match the files kept from an earlier attempt; rejects with what went wrong.
   */
  static async open(bytes: Uint8Array, source: string, jigdoUrl: string | undefined): Promise<JigdoFlow> {
    const flow = new JigdoFlow();
    try {
      const opened = await flow.ask({ type: 'open', jigdo: bytes, source, jigdoUrl }, (r) => (r.type === 'opened' ? r : undefined));
      flow.info = opened.image;
      flow.kept = opened.resumed;
      return flow;
    } catch (error) {
      flow.terminate();
      throw error;
    }
  }

  get image(): JigdoImageInfo {
    return this.info!;
  }

  /** What files kept from an earlier, failed download of this image provide (already matched). */
  get resumed(): JigdoResumed {
    return this.kept!;
  }

  /** Match more of the user's files (numbered from `first`); resolves with the plan and the ranges still missing. */
  match(seeds: readonly SeedFile[], first: number, callbacks: MatchCallbacks): Promise<{ plan: JigdoPlan; missing: Float64Array }> {
    return this.ask({ type: 'match', seeds: [...seeds], first }, (r) => {
      if (r.type === 'seed-progress') callbacks.onProgress?.(r.seed, r.bytes);
      else if (r.type === 'seed-done') callbacks.onSeedDone?.(r.seed, false);
      else if (r.type === 'seed-skipped') callbacks.onSeedSkipped?.(r.seed, r.reason);
      else if (r.type === 'matched') return { plan: r.plan, missing: r.missing };
      return undefined;
    });
  }

  /** Fetch the missing files and write the image to `output`; resolves once it is verified and kept. */
  assemble(output: OutputTarget, expectedSha256: string | undefined, onEvent: (event: RebuildEvent) => void): Promise<AssembleSummary> {
    return this.ask({ type: 'assemble', output, expectedSha256 }, (r) => {
      if (r.type === 'event') onEvent(r.event);
      else if (r.type === 'done') return r.summary;
      return undefined;
    });
  }

  terminate(): void {
    this.worker.terminate();
  }

  /** Send one request; its replies go to `answer` until it returns the result, or the worker reports an error. */
  private ask<T>(request: JigdoRequest, answer: (reply: JigdoReply) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.onFailure = reject;
      this.onReply = (reply) => {
        if (reply.type === 'error') {
          reject(new TesseraError(reply.code as ErrorCode, reply.message));
          return;
        }
        const result = answer(reply);
        if (result !== undefined) resolve(result);
      };
      this.worker.postMessage(request);
    });
  }
}

/** Mark the block map's cells: the ranges still missing, and all else already here (your files, or the template). */
export function markJigdoBlocks(states: Uint8Array, missing: Float64Array, here: number, absent: number): void {
  states.fill(here);
  for (let i = 0; i < missing.length; i += 2) states.fill(absent, Math.floor(missing[i] / JIGDO_MAP_UNIT), Math.ceil((missing[i] + missing[i + 1]) / JIGDO_MAP_UNIT));
}

/** A failed jigdo download, in words a user can act on. */
export function explainJigdoFailure(error: unknown): string {
  const advice = isTesseraError(error, ErrorCode.MirrorsFailed)
    ? '\n\nTry again later, or use a .jigdo whose servers still have these files and allow this site to read them (CORS, see docs/mirrors.md).'
    : '';
  return describeError(error) + advice;
}
