/**
 * The checks every parser fuzz test makes on every input: the parser either
 * returns, or throws a clear error (a TesseraError with one of the parser's
 * codes, naming the file and saying what to do), within a time bound and
 * without allocating more than the input warrants. Each case is counted by
 * kind and outcome; the counts are written to test/results/parser-fuzz/ for
 * scripts/reliability-table.mjs (docs/reliability.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { type ErrorCode, TesseraError } from '../../src/core/errors.ts';
import { AllocationRefused, withAllocationLimit } from './allocation-guard.ts';
import { concat as concatParts } from '../../src/node/pseudo-random-bytes.ts';

export type CaseKind = 'valid' | 'truncated' | 'mutated' | 'random' | 'huge field';

/** The fixed fast-check seed of every fuzz property: runs are reproducible. */
export const FUZZ_SEED = 20_240_606;

/**
 * A case slower than this (CPU time) is a bug (a loop driven by a length field,
 * a giant allocation being zeroed): 200 ms, plus 1 ms per 2 KiB for the few
 * inputs of megabytes, so the bound is linear in the input, whatever it claims.
 */
export const caseTimeLimitMs = (bytes: Uint8Array) => 200 + bytes.length / 2048;

/** Words a message uses to say what the user can do. */
const REMEDY = /\b(download|give|use|update|check|ask|pick|choose|open)\b/i;

export interface FuzzTarget {
  /** The row name in docs/reliability.md. */
  name: string;
  /** The file name passed to the parser; every error message must name it. */
  source: string;
  /** The error codes that are a clear answer from this parser. */
  codes: readonly ErrorCode[];
  decode(bytes: Uint8Array): unknown;
  /** The most a case may allocate at once (default: 16 bytes per input byte, plus 4 MiB). */
  allocationLimit?(bytes: Uint8Array): number;
  /** For an internal decoder whose errors are wrapped by its caller: the outcome name of a clear error, or null. */
  clearError?(error: unknown): string | null;
  /** The outcome name of a return (default "parsed"). */
  returned?(value: unknown): string;
}

interface KindTally {
  cases: number;
  outcomes: Record<string, number>;
  slowestMs: number;
  largestAllocation: number;
}

const defaultLimit = (bytes: Uint8Array) => 16 * bytes.length + (4 << 20);

const describeInput = (bytes: Uint8Array) =>
  `${bytes.length} bytes, starting ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 40)))}`;

export class ParserFuzz {
  private readonly tally = new Map<CaseKind, KindTally>();

  constructor(readonly target: FuzzTarget) {}

  /** The outcome name of a thrown value if it is a clear error, else null. */
  private clearOutcome(error: unknown): string | null {
    if (this.target.clearError) return this.target.clearError(error);
    if (!(error instanceof TesseraError) || !this.target.codes.includes(error.code)) return null;
    if (!error.message.includes(this.target.source) || !REMEDY.test(error.message)) return null;
    return error.code;
  }

  /**
   * Decode one input; fails the test (or the fast-check property, which then
   * shrinks it and prints its seed) unless the answer is a return or a clear
   * error, in time and memory. Returns the outcome name.
   */
  async check(kind: CaseKind, bytes: Uint8Array, note = '', timeLimitMs = caseTimeLimitMs(bytes)): Promise<string> {
    const limit = (this.target.allocationLimit ?? defaultLimit)(bytes);
    // CPU time of this test process, not wall time: other processes loading the machine must not fail a case.
    const started = process.cpuUsage();
    const run = await withAllocationLimit(limit, () => this.target.decode(bytes));
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    const what = `${this.target.name}, ${kind}${note ? ` (${note})` : ''}, ${describeInput(bytes)}`;
    let outcome: string;
    if ('value' in run) {
      outcome = (this.target.returned ?? (() => 'parsed'))(run.value);
    } else {
      if (run.error instanceof AllocationRefused) expect.fail(`${what}: ${run.error.message}`);
      const clear = this.clearOutcome(run.error);
      if (clear === null) {
        const e = run.error as { name?: string; code?: string; message?: string };
        expect.fail(`${what}: not a clear error: ${e?.name} ${e?.code ?? ''} ${JSON.stringify(e?.message ?? String(run.error))}`);
      }
      outcome = clear!;
    }
    if (ms > timeLimitMs) expect.fail(`${what}: took ${ms.toFixed(0)} ms of CPU (limit ${timeLimitMs.toFixed(0)})`);
    const t = this.tally.get(kind) ?? { cases: 0, outcomes: {}, slowestMs: 0, largestAllocation: 0 };
    t.cases++;
    t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
    t.slowestMs = Math.max(t.slowestMs, ms);
    t.largestAllocation = Math.max(t.largestAllocation, run.largest);
    this.tally.set(kind, t);
    return outcome;
  }

  /** The counts so far, by kind. */
  counts(): Record<string, KindTally> {
    return Object.fromEntries(this.tally);
  }

  /** Write the counts to test/results/parser-fuzz/<file>.json. */
  save(file: string): void {
    const dir = join('test', 'results', 'parser-fuzz');
    mkdirSync(dir, { recursive: true });
    const kinds = Object.fromEntries(
      [...this.tally].map(([kind, t]) => [kind, { ...t, slowestMs: Math.round(t.slowestMs * 10) / 10 }]),
    );
    writeFileSync(join(dir, `${file}.json`), `${JSON.stringify({ parser: this.target.name, codes: this.target.codes, seed: FUZZ_SEED, kinds }, null, 2)}\n`);
  }
}

// Input transformations shared by the fuzz tests.

/** `bytes` with each { at, value } written over it (positions wrap). */
export function mutate(bytes: Uint8Array, edits: readonly { at: number; value: number }[]): Uint8Array {
  const out = bytes.slice();
  for (const { at, value } of edits) out[at % out.length] = value;
  return out;
}

export const ascii = (text: string) => new TextEncoder().encode(text);

/** The project's concat, taking the parts as arguments (as the fuzz tests write them). */
export const concat = (...parts: Uint8Array[]): Uint8Array => concatParts(parts);

export interface StandardCases {
  /** Cut at every position below this; fast-check samples the rest. */
  everyCutBelow: number;
  /** Sampled cuts past everyCutBelow. */
  sampledCuts: number;
  /** fast-check runs of byte mutations. */
  mutations: number;
  /** fast-check runs of random bytes (half of them after `magic`, to get past the first check). */
  random: number;
  /** The bytes a file of this kind starts with. */
  magic: Uint8Array;
}

/**
 * Register the cases every parser gets, on `valid()` (made by the real
 * tool in beforeAll): the valid file, truncation, byte mutations, random
 * bytes; and save the counts after the file's tests.
 */
export function standardCases(fuzz: ParserFuzz, resultFile: string, valid: () => Uint8Array, o: StandardCases): void {
  afterAll(() => fuzz.save(resultFile));
  const options = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns });

  it('reads the valid file made by the real tool', async () => {
    expect(await fuzz.check('valid', valid())).toBe('parsed');
  });

  it('refuses the file cut at every position of its header and at sampled positions after', async () => {
    const bytes = valid();
    for (let n = 0; n < Math.min(bytes.length, o.everyCutBelow); n++) await fuzz.check('truncated', bytes.subarray(0, n), `cut at ${n}`);
    if (bytes.length > o.everyCutBelow) {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: o.everyCutBelow, max: bytes.length - 1 }), async (n) => {
          await fuzz.check('truncated', bytes.subarray(0, n), `cut at ${n}`);
        }),
        options(o.sampledCuts),
      );
    }
    expect(fuzz.counts().truncated.cases).toBeGreaterThanOrEqual(Math.min(bytes.length, o.everyCutBelow));
  });

  it('parses or clearly refuses the file with bytes changed', async () => {
    const bytes = valid();
    const edit = fc.record({ at: fc.nat({ max: bytes.length - 1 }), value: fc.integer({ min: 0, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 8 }), async (edits) => {
        await fuzz.check('mutated', mutate(bytes, edits));
      }),
      options(o.mutations),
    );
    expect(fuzz.counts().mutated.cases).toBe(o.mutations);
  });

  it('clearly refuses random bytes, with and without the right first bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 4096 }), async (withMagic, tail) => {
        await fuzz.check('random', withMagic ? concat(o.magic, tail) : tail);
      }),
      options(o.random),
    );
    expect(fuzz.counts().random.cases).toBe(o.random);
  });
}
