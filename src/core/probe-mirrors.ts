import { describeError } from './errors.ts';
import type { RangeFetcher } from './io.ts';
import { rangeResponseProblem } from './range-response.ts';

export interface MirrorProbe {
  readonly url: string;
  readonly ok: boolean;
  /** What is wrong, in words a user can act on. */
  readonly problem?: string;
}

/**
 * Ask each mirror for the image's first byte, before anything is downloaded,
 * so that a mirror that is unreachable, blocks this site (CORS), ignores Range
 * or holds another file is reported up front.
 */
export async function probeMirrors(mirrors: readonly string[], fetcher: RangeFetcher, imageLength: number): Promise<MirrorProbe[]> {
  return Promise.all(
    mirrors.map(async (url): Promise<MirrorProbe> => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('no answer within 15 s')), 15_000);
      try {
        const response = await fetcher.fetchRange(url, 0, 1, controller.signal);
        const problem = rangeResponseProblem(response, { start: 0, end: 1 }, imageLength);
        response.cancel();
        return problem ? { url, ok: false, problem: problem.message } : { url, ok: true };
      } catch (error) {
        return { url, ok: false, problem: describeError(error) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
