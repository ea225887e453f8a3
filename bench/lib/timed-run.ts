// Run a program under GNU time (/usr/bin/time -v): wall seconds, CPU seconds
// (user + sys of the program and every child it waited for) and peak RSS.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface TimedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall seconds, measured around the process. */
  wall: number;
  /** User + system CPU seconds (GNU time's rusage: the process and the children it waited for). */
  cpu: number;
  /** Peak resident set size in kB (of the largest single process, as rusage reports it). */
  maxRssKb: number;
}

export function checkGnuTime(): void {
  if (!existsSync(GNU_TIME)) throw new Error(`no GNU time at ${GNU_TIME} (it measures CPU and peak memory): apt-get install time`);
}

export async function runTimed(program: string, args: readonly string[], options: { cwd?: string; timeoutSeconds?: number } = {}): Promise<TimedRun> {
  checkGnuTime();
  const dir = await mkdtemp(join(tmpdir(), 'tessera-time-'));
  const report = join(dir, 'time.txt');
  try {
    const started = performance.now();
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(GNU_TIME, ['-v', '-o', report, program, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGTERM'), (options.timeoutSeconds ?? 1800) * 1000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
      });
    });
    const wall = (performance.now() - started) / 1000;
    const text = await readFile(report, 'utf8').catch(() => '');
    const field = (name: string) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(text)?.[1] ?? NaN);
    return {
      code,
      stdout,
      stderr,
      wall,
      cpu: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
      maxRssKb: field('Maximum resident set size \\(kbytes\\)'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
