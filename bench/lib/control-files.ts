// The control file each tool downloads first, made once from the new image
// next to it in the mirror's folder: Tessera's manifest, zsync's .zsync, and
// jigdo's .jigdo + .template (from the new image's files, extracted with xorriso).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type TimedRun, runTimed } from './timed-run.ts';

export interface MadeControlFile {
  /** Files in the mirror's folder (names) and their sizes. */
  files: { name: string; bytes: number }[];
  /** All of them together. */
  bytes: number;
  /** The maker's run (one run, default settings). */
  made: TimedRun;
  /** Its settings, e.g. the block size. */
  detail?: string;
}

/** Names the mirror serves them under (the image itself is `new.iso`). */
export const IMAGE = 'new.iso';
export const CONTROL_NAMES = ['new.iso.tessera', 'new.iso.zsync', 'new.jigdo', 'new.template'] as const;
/** The folder of the new image's files, for jigdo's [Servers] line. */
export const JIGDO_FILES = 'files';

function made(www: string, names: string[], run: TimedRun, what: string, detail?: () => string): MadeControlFile {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const files = names.map((name) => ({ name, bytes: statSync(join(www, name)).size }));
  return { files, bytes: files.reduce((s, f) => s + f.bytes, 0), made: run, detail: detail?.() };
}

/** `tessera make`, without --url: the image is expected next to the manifest. */
export async function makeTesseraManifest(www: string): Promise<MadeControlFile> {
  const run = await runTimed(process.execPath, ['bin/tessera.mjs', 'make', join(www, IMAGE), '-o', join(www, 'new.iso.tessera'), '--json']);
  return made(www, ['new.iso.tessera'], run, 'tessera make', () => `${(JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { blockSize: number }).blockSize}-byte blocks`);
}

/** `zsyncmake` with its defaults and a relative URL, which zsync resolves against the .zsync's URL. */
export async function makeZsync(www: string): Promise<MadeControlFile> {
  const run = await runTimed('zsyncmake', ['-u', IMAGE, '-o', join(www, 'new.iso.zsync'), join(www, IMAGE)], { cwd: www });
  return made(www, ['new.iso.zsync'], run, 'zsyncmake', () => {
    const head = readFileSync(join(www, 'new.iso.zsync')).subarray(0, 400).toString('latin1');
    return `${/Blocksize: (\d+)/.exec(head)?.[1]}-byte blocks, Hash-Lengths ${/Hash-Lengths: ([\d,]+)/.exec(head)?.[1]}`;
  });
}

/**
 * `jigdo-file make-template` (defaults: files of 1 KiB and more are referenced,
 * gzip template), with the new image's files under `www/files/` as the
 * [Servers] mirror the missing ones are fetched from. Those files are
 * extracted from the image with xorriso first (not timed): a publisher has them.
 */
export async function makeJigdo(www: string, mirrorUrl: string): Promise<MadeControlFile> {
  const files = join(www, JIGDO_FILES);
  const extract = spawnSync('xorriso', ['-osirrox', 'on', '-indev', join(www, IMAGE), '-extract', '/', files], { encoding: 'utf8' });
  if (extract.status !== 0) throw new Error(`xorriso could not extract the new image's files: ${extract.stderr.trim().split('\n').at(-1)}`);
  if (!existsSync(files) || readdirSync(files).length === 0) throw new Error("xorriso found no files in the new image (jigdo-file needs the image's files: an ISO 9660 image)");
  spawnSync('chmod', ['-R', 'u+w', files]); // extracted read-only; the work folder is deleted at the end
  const run = await runTimed('jigdo-file', [
    'make-template',
    '--force',
    '--report=quiet',
    `--image=${join(www, IMAGE)}`,
    `--jigdo=${join(www, 'new.jigdo')}`,
    `--template=${join(www, 'new.template')}`,
    '--label',
    `Files=${files}`,
    '--uri',
    `Files=${mirrorUrl}${JIGDO_FILES}/`,
    `${files}//`,
  ]);
  return made(www, ['new.jigdo', 'new.template'], run, 'jigdo-file make-template');
}
