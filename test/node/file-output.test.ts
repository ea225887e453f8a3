import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFileOutput } from '../../src/node/file-output.ts';

describe('openFileOutput with background flushes', () => {
  it('writes the image in order across several flushes and gives it its name on commit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-flush-'));
    try {
      const out = join(dir, 'image.iso');
      const output = await openFileOutput(out);
      const chunks = [0, 1, 2, 3, 4].map((n) => new Uint8Array(40 << 20).fill(n + 1)); // 200 MiB: flushed in the background as it goes (a flush each 64 MiB or more)
      for (const chunk of chunks) await output.sink.write(chunk);
      await output.commit();
      const written = await readFile(out);
      expect(written.length).toBe(200 << 20);
      for (let n = 0; n < 5; n++) expect([written[n * (40 << 20)], written[(n + 1) * (40 << 20) - 1]]).toEqual([n + 1, n + 1]);
      await expect(readFile(`${out}.tessera-part`)).rejects.toThrow('ENOENT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
