/** How commands talk to the user: info and progress on stderr when --json owns stdout. */
export interface CliIo {
  readonly version: string;
  /** A line for the user. */
  info(text: string): void;
  warn(text: string): void;
  /** A transient status line (redrawn on a terminal, dropped otherwise). */
  progress(text: string): void;
  progressDone(): void;
  /** The machine-readable result: one JSON object on the last line of stdout. */
  json(value: unknown): void;
  readonly stderr: { write(text: string): void; readonly isTTY?: boolean; readonly columns?: number };
}

export function createCliIo(version: string, json: boolean): CliIo {
  const stderr = process.stderr;
  const human = json ? stderr : process.stdout;
  let shown = false;
  let last = 0;
  const clear = () => {
    if (shown) stderr.write('\r\x1b[2K');
    shown = false;
  };
  return {
    version,
    info(text) {
      clear();
      human.write(text + '\n');
    },
    warn(text) {
      clear();
      stderr.write(`warning: ${text}\n`);
    },
    progress(text) {
      if (!stderr.isTTY) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      stderr.write('\r\x1b[2K' + text.slice(0, (stderr.columns ?? 80) - 1));
      shown = true;
    },
    progressDone: clear,
    json(value) {
      clear();
      process.stdout.write(JSON.stringify(value) + '\n');
    },
    stderr,
  };
}
