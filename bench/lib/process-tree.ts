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

/** User + system CPU seconds from a process's or thread's stat fields. */
const cpuSeconds = (f: string[]) => (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;

function readProcess(pid: number): ProcessSample | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpu: cpuSeconds(f), peakKb: kb(status, 'VmHWM'), privateKb: kb(status, 'RssAnon') + kb(status, 'RssShmem') };
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

/** CPU seconds of each thread of `pid` (by thread id), with the thread's name. */
function readThreads(pid: number): Map<number, { name: string; cpu: number }> {
  const out = new Map<number, { name: string; cpu: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, cpu: cpuSeconds(f) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The kind of a Chromium process (--type=renderer, gpu-process, utility…), or 'browser'. */
function processKind(pid: number): string {
  try {
    // Chromium rewrites its helpers' command lines into one space-separated string.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const type = /(?:^|[\s\0])--type=([^\s\0]+)/.exec(cmdline)?.[1];
    const sub = /--utility-sub-type=([^\s\0]+)/.exec(cmdline)?.[1].split('.').pop();
    return type ? (sub ? `${type}:${sub}` : type) : 'browser';
  } catch {
    return '?';
  }
}

export interface TreeUsage {
  /** CPU seconds used by the tree between start() and stop(). */
  cpu: number;
  /** Sum of every process's peak resident set (VmHWM), in kB: an upper bound of the tree's peak (shared pages count once per process). */
  peakKb: number;
  /** The largest sum, over the samples, of the processes' RssAnon + RssShmem, in kB (shared memory counts once per process that maps it). */
  privatePeakKb: number;
  processes: number;
  /** CPU seconds per process kind and thread name (threads of the same name summed), largest first. */
  threads: { name: string; cpu: number }[];
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
  /** Per process, per thread: name and CPU seconds at the first and the last sample. */
  private readonly threadCpu = new Map<string, { name: string; first: number; last: number }>();

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
      const kind = processKind(pid);
      for (const [tid, t] of readThreads(pid)) {
        const key = `${pid}/${tid}`;
        const seen = this.threadCpu.get(key);
        // A thread first seen after start() counts from 0 (it was born during the run).
        if (seen) seen.last = t.cpu;
        else this.threadCpu.set(key, { name: `${kind} ${t.name}`, first: this.timer ? 0 : t.cpu, last: t.cpu });
      }
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
    const byName = new Map<string, number>();
    for (const t of this.threadCpu.values()) byName.set(t.name, (byName.get(t.name) ?? 0) + t.last - t.first);
    const threads = [...byName].map(([name, c]) => ({ name, cpu: c })).filter((t) => t.cpu > 0).sort((a, b) => b.cpu - a.cpu);
    return { cpu, peakKb, privatePeakKb: this.privatePeakKb, processes: this.last.size, threads };
  }
}

/** CPU seconds used so far by `root` and the processes descended from it. */
function treeCpuSeconds(root: number): number {
  let cpu = 0;
  for (const pid of [root, ...descendants(root)]) {
    const f = statFields(pid);
    if (f) cpu += cpuSeconds(f);
  }
  return cpu;
}

/**
 * Waits until `root` and its descendants have used less than `share` of a core
 * over the last `windowMs` (or `timeoutMs` has passed), and says how long that
 * took. A browser just started goes on with start-up work for a few seconds
 * (0.4-0.6 s of CPU here), which a page opened at once would share the cores
 * with; a user's browser has long finished it.
 */
export async function waitUntilQuiet(root: number, { windowMs = 500, share = 0.05, timeoutMs = 10_000 } = {}): Promise<number> {
  const start = performance.now();
  let before = treeCpuSeconds(root);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = treeCpuSeconds(root);
    const waited = performance.now() - start;
    if (now - before < (share * windowMs) / 1000 || waited >= timeoutMs) return waited;
    before = now;
  }
}
