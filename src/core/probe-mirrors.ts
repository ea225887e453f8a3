import { describeError } from './errors.ts';
import { type FileValidators, type MirrorValidators, changedWhere, validatorChange } from './file-validators.ts';
import type { RangeFetcher } from './io.ts';
import { rangeResponseProblem } from './range-response.ts';

export interface MirrorProbe {
  readonly url: string;
  readonly ok: boolean;
  /** What is wrong, in words a user can act on. */
  readonly problem?: string;
  /** It holds another file than the one seen before (or than the manifest describes): not worth asking for ranges. */
  readonly changed?: boolean;
  /** The file's ETag and Last-Modified, per URL that answered (the mirror's own, or where it redirected to). */
  readonly validators?: Record<string, FileValidators>;
}

/**
 * Ask each mirror for the image's first byte, before anything is downloaded,
 * so that a mirror that is unreachable, blocks this site (CORS), ignores Range
 * or holds another file is reported up front. `known`: the validators seen by
 * earlier checks or downloads of the same image; a mirror whose file has
 * other ones now has changed.
 */
export async function probeMirrors(mirrors: readonly string[], fetcher: RangeFetcher, imageLength: number, known: MirrorValidators = {}): Promise<MirrorProbe[]> {
  return Promise.all(
    mirrors.map(async (url): Promise<MirrorProbe> => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('no answer within 15 s')), 15_000);
      try {
        const response = await fetcher.fetchRange(url, 0, 1, controller.signal);
        const problem = rangeResponseProblem(response, { start: 0, end: 1 }, imageLength);
        response.cancel();
        if (problem) return { url, ok: false, problem: problem.message, changed: problem.changed };
        const answered = response.url ?? url;
        const seen: FileValidators = { ...known[url]?.[answered] };
        const change = validatorChange(seen, (name) => response.header(name));
        if (change) {
          return { url, ok: false, changed: true, problem: `the file changed ${changedWhere(url, answered)} since it was first checked (${change}): it is not the version this manifest describes` };
        }
        return { url, ok: true, validators: { [answered]: seen } };
      } catch (error) {
        return { url, ok: false, problem: describeError(error) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
