// The command line's checksum thread (src/node/file-hasher.ts): it reads the
// part file back as it is written. The thread runs the built
// dist/file-hash-worker.mjs (npm test builds it first).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTesseraError, ErrorCode } from '../../src/core/errors.ts';
import { hashFileAsWritten } from '../../src/node/file-hasher.ts';
import { openFileOutput } from '../../src/node/file-output.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const WORKER = new URL('../../dist/file-hash-worker.mjs', import.meta.url);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error('dist/file-hash-worker.mjs is missing: run `npm run build:cli` first (npm test does)');
  dir = await tempDir('tessera-hasher-');
});
afterAll(() => dir.remove());

describe('hashFileAsWritten', () => {
  it('gives the checksum of what the file holds, read back while it grows in pieces of every size', async () => {
    const path = join(dir.path, 'growing.bin');
    const data = randomBytes(5 * (1 << 20) + 12_345, 7); // more than one of the thread's 1 MiB reads
    await writeFile(path, new Uint8Array(0));
    const hasher = hashFileAsWritten(path, 'sha256', { workerUrl: WORKER });
    let at = 0;
    for (const size of [1, 4095, 1 << 20, 3, 2 << 20, 777_777]) {
      await appendFile(path, data.subarray(at, at + size));
      at += size;
      hasher.wrote(at);
      await new Promise((r) => setTimeout(r, 5)); // let the thread catch up and wait for more
    }
    await appendFile(path, data.subarray(at));
    hasher.wrote(data.length);
    expect(await hasher.digest()).toBe(sha256(data));
  });

  it('hashes only the bytes said to be written, and SHA-1 as well', async () => {
    const path = join(dir.path, 'longer.bin');
    const data = randomBytes(300_000, 8);
    await writeFile(path, data);
    const hasher = hashFileAsWritten(path, 'sha1', { workerUrl: WORKER });
    hasher.wrote(200_000);
    expect(await hasher.digest()).toBe(createHash('sha1').update(data.subarray(0, 200_000)).digest('hex'));
  });

  it('gives the SHA-256 beside another checksum from the same reads, when asked to', async () => {
    const path = join(dir.path, 'both.bin');
    const data = randomBytes(2 * (1 << 20) + 99, 13);
    await writeFile(path, data);
    const hasher = hashFileAsWritten(path, 'sha1', { workerUrl: WORKER, alsoSha256: true });
    hasher.wrote(data.length);
    expect(await hasher.digest()).toBe(createHash('sha1').update(data).digest('hex'));
    expect(await hasher.sha256()).toBe(sha256(data));
    const sha1Only = hashFileAsWritten(path, 'sha1', { workerUrl: WORKER });
    expect(sha1Only.sha256()).toBeUndefined();
    await sha1Only.cancel();
  });

  it('gives the checksum of nothing when nothing was written', async () => {
    const path = join(dir.path, 'empty.bin');
    await writeFile(path, new Uint8Array(0));
    expect(await hashFileAsWritten(path, 'sha256', { workerUrl: WORKER }).digest()).toBe(sha256(new Uint8Array(0)));
  });

  it('fails with E_OUTPUT_WRITE, naming the file, when the file holds less than was written', async () => {
    const path = join(dir.path, 'short.bin');
    await writeFile(path, randomBytes(1000, 9));
    const hasher = hashFileAsWritten(path, 'sha256', { workerUrl: WORKER });
    hasher.wrote(5000);
    const error = await hasher.digest().catch((e: unknown) => e);
    expect(isTesseraError(error, ErrorCode.OutputWrite)).toBe(true);
    expect((error as Error).message).toBe(`could not read back ${path} to check it: the file ends at byte 1000, where 5000 bytes were written; run the same command again`);
  });

  it('fails with E_OUTPUT_WRITE when the file is not there', async () => {
    const path = join(dir.path, 'missing.bin');
    const error = await hashFileAsWritten(path, 'sha256', { workerUrl: WORKER })
      .digest()
      .catch((e: unknown) => e);
    expect(isTesseraError(error, ErrorCode.OutputWrite)).toBe(true);
    expect((error as Error).message).toContain(`could not read back ${path} to check it: ENOENT`);
  });

  it('stops when cancelled while it waits for more', async () => {
    const path = join(dir.path, 'cancelled.bin');
    await writeFile(path, randomBytes(4096, 10));
    const hasher = hashFileAsWritten(path, 'sha256', { workerUrl: WORKER });
    hasher.wrote(4096);
    await new Promise((r) => setTimeout(r, 50));
    await hasher.cancel(); // (a thread left waiting would keep this test's process from ending)
    await expect(hasher.digest()).rejects.toThrow(/could not read back/);
  });
});

describe('openFileOutput with a checksum thread', () => {
  it("gives the checksum of the part file as its sink's digest, and the image its name on commit", async () => {
    const out = join(dir.path, 'image.iso');
    const output = await openFileOutput(out, { hash: { algorithm: 'sha256', workerUrl: WORKER } });
    const data = randomBytes(3 * (1 << 20) + 5, 11);
    for (let at = 0; at < data.length; at += 1 << 20) await output.sink.write(data.subarray(at, at + (1 << 20)));
    expect(output.sink.digest).toBeDefined();
    expect(await output.sink.digest!()).toBe(sha256(data));
    await output.commit();
    expect(sha256(await readFile(out))).toBe(sha256(data));
  });
});
