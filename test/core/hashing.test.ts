import { createXXHash128 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { createBlockHash } from '../../src/core/hashing.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';

describe('block hash (XXH3-128 without allocating)', () => {
  it("gives hash-wasm's xxhash128 digest for blocks of every size class", async () => {
    const blockHash = await createBlockHash('xxh128');
    const reference = await createXXHash128();
    for (const size of [0, 1, 15, 16, 17, 128, 129, 240, 241, 2048, 4096, 16384, 16385, 65536, 100_000, 1 << 20]) {
      const data = randomBytes(size, size + 7);
      reference.init();
      reference.update(data);
      expect(Array.from(blockHash(data)), `${size} bytes`).toEqual(Array.from(reference.digest('binary')));
    }
  });

  it('hashes each block on its own (nothing carried over from the call before)', async () => {
    const blockHash = await createBlockHash('xxh128');
    const a = randomBytes(4096, 1);
    const first = blockHash(a).slice();
    blockHash(randomBytes(50_000, 2));
    expect(Array.from(blockHash(a))).toEqual(Array.from(first));
  });
});
