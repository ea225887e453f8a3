import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { threadedHasher } from '../../src/node/threaded-hasher.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';

describe('threadedHasher', () => {
  it('hashes exactly the bytes handed over when the hashing thread falls a whole ring of slots behind', async () => {
    const data = randomBytes(40 << 20, 77);
    const expected = createHash('sha256').update(data).digest('hex');
    const slow = threadedHasher({ workerUrl: new URL('./fixtures/slow-hash-worker.mjs', import.meta.url) });
    for (let round = 0; round < 4; round++) {
      const hasher = await slow('sha256');
      // Chunks of the sizes the assembly hands over: whole slots, more, and less.
      const sizes = [1 << 20, 3 << 20, 700_000, 2 << 20, 5 << 20, 123_457];
      for (let at = 0, i = round; at < data.length; i++) {
        const n = Math.min(sizes[i % sizes.length], data.length - at);
        await hasher.update(data.subarray(at, at + n));
        at += n;
        // The caller's own work between chunks (block checks, writes): the thread catches up meanwhile.
        const until = performance.now() + (i % 4);
        while (performance.now() < until);
      }
      expect(await hasher.digest(), `round ${round}`).toBe(expected);
    }
  });
});
