import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Run the real zsyncmake (Debian package `zsync`, installed by .ci/run) on
 * `file` and return the control file it wrote. `args` are extra options
 * (e.g. ['-b', '4096']).
 */
export function zsyncmake(file: string, out: string, args: string[] = []): Uint8Array {
  const run = spawnSync('zsyncmake', [...args, '-o', out, file], { encoding: 'utf8' });
  if (run.error) throw new Error(`zsyncmake could not be run (apt-get install zsync; .ci/run does): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`zsyncmake failed: ${run.stderr}`);
  return new Uint8Array(readFileSync(out));
}
