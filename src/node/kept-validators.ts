import { readFile, rm, writeFile } from 'node:fs/promises';
import { type MirrorValidators, mergeValidators } from '../core/file-validators.ts';

/**
 * The mirrors' ETag and Last-Modified, kept beside an interrupted run's part
 * file, so that the next run can tell a mirror whose file was replaced since
 * ("the file changed since the last attempt") from one that sends bad data.
 * Keyed by the image's checksum: another manifest's output ignores them.
 */
export const validatorsPathFor = (out: string) => `${out}.tessera-mirrors`;

interface KeptValidators {
  image: string;
  mirrors: MirrorValidators;
}

/** The validators an earlier run kept for this image, or undefined (none, unreadable, or another image's). */
export async function readKeptValidators(out: string, image: string): Promise<MirrorValidators | undefined> {
  let kept: Partial<KeptValidators>;
  try {
    kept = JSON.parse(await readFile(validatorsPathFor(out), 'utf8'));
  } catch {
    return undefined; // none, or damaged: it only ever improves a message
  }
  return kept?.image === image && kept.mirrors && typeof kept.mirrors === 'object' ? kept.mirrors : undefined;
}

/** Keep this run's validators, over an earlier run's for the same mirror and answering URL. */
export async function writeKeptValidators(out: string, image: string, earlier: MirrorValidators | undefined, seen: MirrorValidators): Promise<void> {
  const mirrors = mergeValidators(earlier, seen);
  if (Object.keys(mirrors).length === 0) return forgetKeptValidators(out);
  const kept: KeptValidators = { image, mirrors };
  await writeFile(validatorsPathFor(out), `${JSON.stringify(kept, null, 1)}\n`);
}

export async function forgetKeptValidators(out: string): Promise<void> {
  await rm(validatorsPathFor(out), { force: true });
}
