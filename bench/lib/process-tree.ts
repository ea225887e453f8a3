// CPU time and peak memory of a tree of processes (a browser and its helpers),
// sampled from /proc, for programs that cannot be run under /usr/bin/time.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcessSample {
  /** utime + stime of the process itself, in seconds. */
  cpu: number;
  /** VmHWM: the process's peak resident set, in kB. */
  peakKb: number;
  /** RssAnon + RssShmem now, in kB: its resident memory without the mapped files (the program's code, shared by all). */
  privateKb: number;
}

const kb = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);

/** /proc/PID/stat's fields after the command name (which is in parentheses and may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

function readProcess(pid: number): ProcessSample | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpu: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND, peakKb: kb(status, 'VmHWM'), privateKb: kb(status, 'RssAnon') + kb(status, 'RssShmem') };
  } catch {
    return undefined;
  }
}

/** Processes descended from `root` (not `root` itself). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface TreeUsage {
  /** CPU seconds used by the tree between start() and stop(). */
  cpu: number;
  /** Sum of every process's peak resident set (VmHWM), in kB: an upper bound of the tree's peak (shared pages count once per process). */
  peakKb: number;
  /** The largest sum, over the samples, of the processes' RssAnon + RssShmem, in kB (shared memory counts once per process that maps it). */
  privatePeakKb: number;
  processes: number;
}

/**
 * Samples, every `intervalMs`, every process descended from this one except
 * those that already existed when it was made (e.g. a server started earlier).
 * A process that ends between two samples loses the CPU time of its last interval.
 */
export class ProcessTreeSampler {
  private readonly ignored: Set<number>;
  private readonly baseline = new Map<number, number>();
  private readonly last = new Map<number, ProcessSample>();
  private timer: NodeJS.Timeout | undefined;
  private privatePeakKb = 0;

  constructor(private readonly intervalMs = 100) {
    this.ignored = new Set(descendants(process.pid));
  }

  private sample(): void {
    let privateKb = 0;
    for (const pid of descendants(process.pid)) {
      if (this.ignored.has(pid)) continue;
      const p = readProcess(pid);
      if (!p) continue;
      this.last.set(pid, p);
      privateKb += p.privateKb;
    }
    this.privatePeakKb = Math.max(this.privatePeakKb, privateKb);
  }

  /** Start counting CPU from now (processes already running count from their current CPU time). */
  start(): void {
    this.sample();
    for (const [pid, p] of this.last) this.baseline.set(pid, p.cpu);
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): TreeUsage {
    clearInterval(this.timer);
    this.sample();
    let cpu = 0;
    let peakKb = 0;
    for (const [pid, p] of this.last) {
      cpu += p.cpu - (this.baseline.get(pid) ?? 0);
      peakKb += p.peakKb;
    }
    return { cpu, peakKb, privatePeakKb: this.privatePeakKb, processes: this.last.size };
  }
}
