import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * One row of docs/reliability.md's faulty-mirror table: a fault a test
 * injected, where (command line, page or engine), how many cases it tried and
 * what the user got. Tests record a row only after their assertions passed,
 * so the table lists only outcomes that were checked.
 */
export interface FaultOutcome {
  surface: 'command line' | 'page' | 'engine';
  /** The fault, as a user would name it: "mirror resets the connection mid-body". */
  fault: string;
  cases: number;
  /** What the user got: "image verified; 2 ranges retried, bytes within plan + retries". */
  outcome: string;
}

const written = new Map<string, FaultOutcome[]>();

/**
 * Adds `row` to test/results/faults/<test file>.json (the file is rewritten
 * from this process's rows, so a rerun replaces the previous run's rows).
 * `testFile` is the test's `import.meta.url` or path.
 */
export function recordFaultOutcome(testFile: string, row: FaultOutcome): void {
  const name = basename(testFile.replace(/^file:\/\//, '')).replace(/\.test\.ts$/, '');
  const rows = written.get(name) ?? [];
  rows.push(row);
  written.set(name, rows);
  const dir = join('test', 'results', 'faults');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ testFile: name, rows }, null, 2)}\n`);
}
