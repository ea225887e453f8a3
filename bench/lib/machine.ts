// The machine and the tools' versions, for the report.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM } from '../../test/helpers/browser.ts';
import { nginxVersion } from '../../test/helpers/nginx.ts';

function firstLine(program: string, args: string[], stream: 'stdout' | 'stderr' = 'stdout'): string {
  const r = spawnSync(program, args, { encoding: 'utf8' });
  if (r.error) return 'not installed';
  return (r[stream] || r.stdout || r.stderr).trim().split('\n')[0];
}

function osName(): string {
  try {
    return /PRETTY_NAME="([^"]*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The machine's CPU time so far, in clock ticks over all its cores, and the
 * part of it its host gave to other virtual machines ("steal", /proc/stat):
 * on a shared host, a run that loses CPU this way takes longer than the
 * machine's own speed would make it.
 */
export function cpuTicks(): { total: number; steal: number } {
  try {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user already)
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 };
  }
}

/** The share of the machine's CPU time stolen by its host between two cpuTicks() readings (0 when unknown). */
export function stealShare(before: { total: number; steal: number }, after: { total: number; steal: number }): number {
  const total = after.total - before.total;
  return total > 0 ? (after.steal - before.steal) / total : 0;
}

/** Did a run lose enough CPU to its host to say so (half a percent of the machine's time or more)? */
export const lostCpu = (steal: number | undefined) => (steal ?? 0) >= 0.005;

/** Found on PATH (not run: some programs, zsyncmake among them, would take --version for options). */
export const onPath = (program: string) => (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, program)));

export const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** The machine; Node.js; Chromium; the other clients and the server (one line each). */
export function describeMachine(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  const sha = /^flags\s*:.*\bsha_ni\b/m.test(cpuinfo) ? 'with' : 'without';
  const chromium = existsSync(CHROMIUM) ? firstLine(CHROMIUM, ['--version']).replace(/^Chromium /, '') : 'not installed';
  return [
    `CPU: ${model}, ${cpus().length} cores (${sha} SHA extensions); memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ${osName()}, Linux ${firstLine('uname', ['-r'])}`,
    `Node.js ${process.version}`,
    `Chromium ${chromium} (headless, profile on disk)`,
    `zsync: ${firstLine('zsync', ['-V'])}; jigdo-file: ${firstLine('jigdo-file', ['--version'])}; server: ${nginxVersion() ?? 'no nginx'} (Debian package nginx-light), on 127.0.0.1`,
  ];
}
