import type { RangeResponse } from './io.ts';
import type { FetchRange } from './plan.ts';

/** What is wrong with a mirror's answer to a range request; `permanent` problems will not go away on retry. */
export interface ResponseProblem {
  message: string;
  permanent: boolean;
  /** The mirror holds another file than the manifest describes (another size). */
  changed?: boolean;
}

/**
 * Check a response's status and headers against the range asked for and the
 * image's length. Returns null when the body can be read.
 */
export function rangeResponseProblem(response: RangeResponse, range: FetchRange, imageLength: number): ResponseProblem | null {
  const status = response.status;
  if (status === 200) {
    return { message: 'answered 200 with the whole file instead of 206: the server does not support Range requests', permanent: true };
  }
  if (status !== 206) {
    const permanent = status === 404 || status === 410 || status === 401 || status === 403 || status === 416;
    const hint = status === 416 ? ' (the file there is shorter than the manifest says)' : status === 404 ? ' (not found)' : '';
    return { message: `HTTP ${status}${hint}`, permanent, changed: status === 416 };
  }
  const encoding = response.header('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') {
    return { message: `sent the range compressed (Content-Encoding: ${encoding}); turn compression off for this file`, permanent: true };
  }
  const contentRange = response.header('content-range');
  const m = contentRange ? /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(contentRange) : null;
  if (!m) {
    return contentRange
      ? { message: `sent an unreadable Content-Range "${contentRange}"`, permanent: false }
      : {
          message: 'sent 206 without a readable Content-Range (a mirror on another site must expose it to pages: Access-Control-Expose-Headers: Content-Range)',
          permanent: false,
        };
  }
  if (m[3] !== '*' && Number(m[3]) !== imageLength) {
    return { message: `holds a different file: ${m[3]} bytes, the manifest says ${imageLength}`, permanent: true, changed: true };
  }
  if (Number(m[1]) !== range.start || Number(m[2]) !== range.end - 1) {
    return { message: `sent bytes ${m[1]}-${m[2]} when asked for ${range.start}-${range.end - 1}`, permanent: false };
  }
  return null;
}
