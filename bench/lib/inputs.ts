// What the bench rebuilds: the cached Debian corpus of bench/debian-corpus.sh
// (built on first use), or a pair given with --old/--new [--seeds].
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { sha256OfFile } from '../../src/node/native-hasher.ts';

export interface BenchInputs {
  /** The old image: the seed of the "old ISO" case. */
  old: string;
  /** The image to rebuild. */
  new: string;
  newSha256: string;
  /** A folder of loose old files (the seed of the "loose files" case), if any. */
  seeds?: string;
  /** Every file under `seeds`, sorted (zsync takes them one by one). */
  seedFiles: string[];
  /** How to name the pair in the report. */
  description: string;
}

export const CORPUS_DIR = process.env.TESSERA_CORPUS_DIR ?? join(homedir(), '.cache/tessera/corpus');

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** The SHA-256 of `image`, from IMAGE.sha256 (as debian-corpus.sh writes it) when that is newer than the image. */
async function sha256Of(image: string): Promise<string> {
  const recorded = `${image}.sha256`;
  if (existsSync(recorded) && statSync(recorded).mtimeMs >= statSync(image).mtimeMs) return readFileSync(recorded, 'utf8').split(/\s/)[0];
  return sha256OfFile(image);
}

export async function resolveInputs(options: { old?: string; new?: string; seeds?: string }): Promise<BenchInputs> {
  let old = options.old;
  let image = options.new;
  let seeds = options.seeds;
  let description: string;
  if (old === undefined && image === undefined) {
    // Up to date: it only checks its stamp and prints a summary (to stderr here, with its log).
    const built = spawnSync('bash', [resolve('bench/debian-corpus.sh')], { stdio: ['ignore', process.stderr, 'inherit'] });
    if (built.status !== 0) throw new Error('bench/debian-corpus.sh failed (see above)');
    old = join(CORPUS_DIR, 'old.iso');
    image = join(CORPUS_DIR, 'new.iso');
    seeds ??= join(CORPUS_DIR, 'seeds-loose');
    description = `the Debian corpus of bench/debian-corpus.sh (${CORPUS_DIR})`;
  } else if (old === undefined || image === undefined) {
    throw new Error('--old and --new go together');
  } else {
    description = 'the pair given with --old/--new';
  }
  for (const f of [old, image]) if (!existsSync(f) || !statSync(f).isFile()) throw new Error(`no such file: ${f}`);
  if (seeds !== undefined && (!existsSync(seeds) || !statSync(seeds).isDirectory())) throw new Error(`no such folder: ${seeds}`);
  const seedFiles = seeds === undefined ? [] : filesUnder(resolve(seeds));
  if (seeds !== undefined && seedFiles.length === 0) throw new Error(`no files in ${seeds}`);
  return { old: resolve(old), new: resolve(image), newSha256: await sha256Of(resolve(image)), seeds: seeds && resolve(seeds), seedFiles, description };
}
