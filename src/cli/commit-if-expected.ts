import { builtImageMismatch } from '../core/expected-sha256.ts';
import type { FileOutput } from '../node/file-output.ts';

/**
 * Give the verified image its name. `expectedSha256` is set when its
 * description (a .zsync, an MD5 jigdo template) could not confirm the user's
 * --sha256 in advance: the written file's SHA-256 (computed while it was
 * written, where its output was opened with alsoSha256) is checked first, and
 * on a mismatch the file is deleted, not kept.
 */
export async function commitIfExpected(out: FileOutput, expectedSha256: string | undefined, name: string): Promise<void> {
  if (expectedSha256 !== undefined) {
    const actual = await out.sha256();
    if (actual !== expectedSha256) {
      await out.discard();
      throw builtImageMismatch(expectedSha256, actual, name);
    }
  }
  await out.commit();
}
