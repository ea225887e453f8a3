import { describe, expect, it } from 'vitest';
import type { MirrorValidators } from '../../src/core/file-validators.ts';
import { probeMirrors } from '../../src/core/probe-mirrors.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { createFetchRangeFetcher } from '../../src/platform/fetch-range-fetcher.ts';
import { useFaultServers } from '../helpers/fault-server.ts';

const mirror = useFaultServers();
const image = randomBytes(64 << 10, 41);
const fetcher = createFetchRangeFetcher();

describe('probeMirrors', () => {
  it("gives each good mirror's ETag and Last-Modified, and names what is wrong with the others", async () => {
    const good = await mirror(image);
    const noRange = await mirror(image, () => 'full-200');
    const longer = await mirror(new Uint8Array(image.length + 1));
    const [a, b, c] = await probeMirrors([good.url, noRange.url, longer.url], fetcher, image.length);
    expect(a).toEqual({ url: good.url, ok: true, validators: { [good.url]: { etag: '"v1"', lastModified: expect.any(String) } } });
    expect(b).toMatchObject({ url: noRange.url, ok: false, problem: expect.stringContaining('the server does not support Range requests') });
    expect(b.changed).toBeFalsy();
    expect(c).toMatchObject({ url: longer.url, ok: false, changed: true, problem: `holds a different file: ${image.length + 1} bytes, the manifest says ${image.length}` });
    expect(good.bytesSent).toBe(1);
  });

  it('a mirror whose file has other validators than first seen has changed; the same ones pass', async () => {
    const replaced = await mirror(image, () => 'ok', { changed: { from: 0, data: randomBytes(image.length, 42) } });
    const same = await mirror(image);
    const known: MirrorValidators = { [replaced.url]: { [replaced.url]: { etag: '"v1"' } }, [same.url]: { [same.url]: { etag: '"v1"' } } };
    const [r, s] = await probeMirrors([replaced.url, same.url], fetcher, image.length, known);
    expect(r).toEqual({
      url: replaced.url,
      ok: false,
      changed: true,
      problem: 'the file changed on the mirror since it was first checked (ETag "v1" -> "v2"): it is not the version this manifest describes',
    });
    expect(s).toMatchObject({ url: same.url, ok: true });
    // The known validators are not changed by a check.
    expect(known[replaced.url][replaced.url]).toEqual({ etag: '"v1"' });
  });
});
