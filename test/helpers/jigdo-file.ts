import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';

/** Run a program of the real toolchain (xorriso, jigdo-file: Debian packages, installed by .ci/run). */
function run(program: string, args: string[], cwd: string): void {
  const r = spawnSync(program, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${program} could not be run (.ci/run installs it): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${r.stderr}`);
}

export interface JigdoFixture {
  /** Folder of the "packages" the ISO was built from (the user's files). */
  files: string;
  /** name -> bytes of each package. */
  packages: Map<string, Uint8Array>;
  iso: string;
  jigdo: string;
  template: string;
}

/**
 * An ISO built by xorriso from a folder of random "packages", and its .jigdo
 * and .template made by the real `jigdo-file make-template`.
 */
export function makeJigdoFixture(dir: string, options: { checksum?: 'md5' | 'sha256'; bzip2?: boolean; seed?: number; labels?: Record<string, string>; largePackageBytes?: number } = {}): JigdoFixture {
  const files = join(dir, 'files');
  mkdirSync(join(files, 'pool', 'main'), { recursive: true });
  const packages = new Map<string, Uint8Array>();
  const seed = options.seed ?? 1;
  for (let i = 0; i < 9; i++) {
    const name = i < 5 ? `pool/main/pkg${i}.deb` : `pkg${i}.deb`;
    const data = randomBytes(2_000 + ((i * 104_729 + seed * 7) % 250_000), seed * 100 + i);
    writeFileSync(join(files, name), data);
    packages.set(name, data);
  }
  // One large package, as a DVD's biggest ones (fetched in pieces, through storage).
  if (options.largePackageBytes) {
    const data = randomBytes(options.largePackageBytes, seed * 100 + 99);
    writeFileSync(join(files, 'pool', 'main', 'big.deb'), data);
    packages.set('pool/main/big.deb', data);
  }
  // Small files (below jigdo-file's 1024-byte minimum) stay in the template.
  writeFileSync(join(files, 'README.txt'), 'a small file that stays in the template\n');
  const iso = join(dir, 'image.iso');
  run('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'TESSERA_TEST', '-o', iso, files], dir);
  const args = ['make-template', '--force', '--report=quiet', `--image=${iso}`, `--jigdo=${join(dir, 'image.jigdo')}`, `--template=${join(dir, 'image.template')}`];
  if (options.checksum === 'sha256') args.push('--checksum-algorithm=sha256');
  if (options.bzip2) args.push('--bzip2');
  // A label names the packages' folder in [Parts]; its --uri becomes the [Servers] line.
  for (const [label, uri] of Object.entries(options.labels ?? {})) args.push('--label', `${label}=${files}`, '--uri', `${label}=${uri}`);
  run('jigdo-file', [...args, `${files}//`], dir);
  return { files, packages, iso, jigdo: join(dir, 'image.jigdo'), template: join(dir, 'image.template') };
}

export const readBytes = (path: string) => new Uint8Array(readFileSync(path));
