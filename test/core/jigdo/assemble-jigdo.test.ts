// assembleJigdo with a large-file store that fails part-way (as on a full disk): the
// package is fetched again from the same server into memory, the image is still right,
// and the failure is said once, not taken for the mirror's. Real jigdo-file output, a
// real HTTP server (with and without Range support); the store is the injected part.
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../../../src/core/hashing.ts';
import type { FetchedFileStore } from '../../../src/core/jigdo/assemble-jigdo.ts';
import { assembleJigdo } from '../../../src/core/jigdo/assemble-jigdo.ts';
import { decodeTemplate } from '../../../src/core/jigdo/decode-template.ts';
import { fileUrls } from '../../../src/core/jigdo/jigdo-plan.ts';
import { readJigdo } from '../../../src/core/jigdo/open-jigdo.ts';
import { createNativeHasher } from '../../../src/node/native-hasher.ts';
import { type RunningServer, startStaticServer } from '../../../src/node/static-server.ts';
import { startFaultServer } from '../../helpers/fault-server.ts';
import { platformDecompress } from '../../../src/platform/decompress.ts';
import { createFetchRangeFetcher } from '../../../src/platform/fetch-range-fetcher.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';
import { type JigdoFixture, makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const MiB = 1 << 20;

/** A store that takes `appendsBeforeFailing` pieces, then fails as a full disk does; what it was told, listed. */
function failingStore(appendsBeforeFailing: number) {
  const calls: string[] = [];
  const store: FetchedFileStore = {
    async begin(checksumHex, length) {
      calls.push(`begin ${checksumHex.slice(0, 8)} ${length}`);
      let appends = 0;
      return {
        async append(data) {
          if (appends++ >= appendsBeforeFailing) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          calls.push(`append ${data.length}`);
        },
        async finish() {
          throw new Error('not reached: the store failed');
        },
        async discard() {
          calls.push('discard');
        },
      };
    },
  };
  return { store, calls };
}

describe('assembleJigdo with a large-file store that fails', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fx: JigdoFixture;
  beforeAll(async () => {
    dir = await tempDir('tessera-jigdo-store-');
    fx = makeJigdoFixture(join(dir.path, 'fx'), { seed: 21, largePackageBytes: 37 * MiB, labels: { Debian: 'http://placeholder.invalid/' } });
    await mkdir(join(dir.path, 'www'));
    await symlink(fx.files, join(dir.path, 'www', 'debian'));
  }, 60_000);
  afterAll(() => dir?.remove());

  /** The fixture's .jigdo with its files at `base` (a server's URL), built with `store` for large files: the image, the result, and each store failure said ("length: message"). */
  async function assembleWith(base: string, store: FetchedFileStore) {
    const raw = new TextEncoder().encode(new TextDecoder().decode(readBytes(fx.jigdo)).replace('http://placeholder.invalid/', `${base}debian/`));
    const jigdo = await readJigdo(raw, 'image.jigdo', platformDecompress);
    const templateBytes = readBytes(fx.template);
    const template = decodeTemplate(templateBytes);
    const chunks: Uint8Array[] = [];
    const failed: string[] = [];
    const result = await assembleJigdo({
      template,
      templateBytes,
      matches: new Map(),
      urlsFor: fileUrls(jigdo, template, `${base}image.jigdo`),
      fetcher: createFetchRangeFetcher(),
      sink: { write: async (chunk) => void chunks.push(chunk.slice()) },
      decompress: platformDecompress,
      createHasher: createNativeHasher,
      largeFiles: { store },
      onStoreFailed: (i, reason) => failed.push(`${template.entries[i].length}: ${(reason as Error).message}`),
    });
    const image = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (image.set(c, at), at + c.length), 0);
    return { image, result, failed, template };
  }

  it('a server that answers a later piece with the whole file, and a store that cannot remove the first piece: the package is fetched whole into memory, the store failure said, the mirror not blamed', async () => {
    const big = fx.packages.get('pool/main/big.deb')!;
    // The large package is the fault server's "image": its first range answered, every later request with the whole file.
    const others = Object.fromEntries([...fx.packages].filter(([name]) => !name.endsWith('big.deb')).map(([name, data]) => [`/debian/${name}`, data]));
    const server = await startFaultServer(big, (n) => (n === 0 ? 'ok' : 'full-200'), { files: others });
    try {
      const calls: string[] = [];
      const store: FetchedFileStore = {
        async begin(_checksum, length) {
          calls.push(`begin ${length}`);
          return {
            append: async (data) => void calls.push(`append ${data.length}`),
            finish: async () => {
              throw new Error('not reached');
            },
            discard: async () => {
              calls.push('discard');
              throw new Error('the kept piece could not be removed');
            },
          };
        },
      };
      const { image, result, failed, template } = await assembleWith(server.origin, store);
      expectSameBytes(image, readBytes(fx.iso));
      expect(result.digest).toBe(bytesToHex(template.imageChecksum));
      expect(calls.slice(0, 3)).toEqual([`begin ${37 * MiB}`, `append ${16 * MiB}`, 'discard']);
      expect(failed).toEqual([`${37 * MiB}: the kept piece could not be removed`]);
      // The first piece, the second answered whole (let go), then the whole file in one answer.
      expect(server.requests.map((r) => r.behaviour)).toEqual(['ok', 'full-200', 'full-200']);
      expect(server.requests[2].bytesSent).toBe(37 * MiB);
    } finally {
      await server.close();
    }
  }, 60_000);

  for (const ranges of [true, false]) {
    it(`fetches the package again into memory and builds the image (${ranges ? 'a Range server' : 'a server that ignores Range'})`, async () => {
      const answers: { path: string; status: number; bytes: number }[] = [];
      const server: RunningServer = await startStaticServer({ root: join(dir.path, 'www'), ranges, onRequest: (r) => answers.push({ path: r.path, status: r.status, bytes: r.bytesSent }) });
      try {
        const { store, calls } = failingStore(1);
        const { image, result, failed, template } = await assembleWith(server.url, store);
        expectSameBytes(image, readBytes(fx.iso));
        expect(result.digest).toBe(bytesToHex(template.imageChecksum));
        // Said once, for the large package; its first 16 MiB taken, then the failure, and what was written removed.
        expect(failed).toEqual([`${37 * MiB}: no space left on device`]);
        expect(calls).toEqual([expect.stringMatching(/^begin [0-9a-f]{8} 38797312$/), `append ${16 * MiB}`, 'discard']);
        // Then the whole package again, from the same server, in one answer.
        const big = answers.filter((a) => a.path.endsWith('/big.deb'));
        expect(big.at(-1)).toEqual({ path: '/debian/pool/main/big.deb', status: ranges ? 206 : 200, bytes: 37 * MiB });
        expect(result.filesFetched).toBe(fx.packages.size);
      } finally {
        await server.close();
      }
    }, 60_000);
  }
});
