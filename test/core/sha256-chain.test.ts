import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SegmentHasher, chainProblem, chainSegmentBytes, chainSegments, createChainRecorder } from '../../src/core/sha256-chain.ts';
import { makeManifest } from '../../src/core/make-manifest.ts';
import { decodeManifest } from '../../src/core/manifest/decode-manifest.ts';
import { encodeManifest } from '../../src/core/manifest/encode-manifest.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { memorySeed } from '../helpers/memory-seed.ts';

const MiB = 1 << 20;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Verify every segment on its own, from its checkpoint, as the page's hash workers do (here in reverse order). */
async function verifySegments(image: Uint8Array, segmentBytes: number, states: readonly string[]): Promise<{ bad: number[]; digest: string }> {
  const hasher = await SegmentHasher.create();
  const count = chainSegments(image.length, segmentBytes);
  const bad: number[] = [];
  let digest = '';
  for (let s = count - 1; s >= 0; s--) {
    hasher.begin(s * segmentBytes, s === 0 ? null : states[s - 1]);
    // in uneven pieces, as batches arrive
    const segment = image.subarray(s * segmentBytes, Math.min(image.length, (s + 1) * segmentBytes));
    for (let p = 0; p < segment.length; p += 5_000_017) hasher.update(segment.subarray(p, p + 5_000_017));
    if (s === count - 1) digest = hasher.digest();
    else if (hasher.midstate() !== states[s]) bad.push(s);
  }
  return { bad, digest };
}

describe('SHA-256 checkpoints', () => {
  const segmentBytes = 16 * MiB;

  it('segments hashed separately from their checkpoints give the SHA-256 of the whole image', async () => {
    for (const length of [5 * segmentBytes + 12_345, 3 * segmentBytes, 100]) {
      const image = randomBytes(length, length);
      const recorder = await createChainRecorder(segmentBytes);
      for (let p = 0; p < image.length; p += 7 * MiB + 3) recorder.update(image.subarray(p, p + 7 * MiB + 3));
      const { digest, chain } = recorder.finish();
      expect(digest).toBe(sha256(image));
      expect(chain.states).toHaveLength(chainSegments(length, segmentBytes) - 1);
      expect(chainProblem(chain, length)).toBeNull();
      const verified = await verifySegments(image, segmentBytes, chain.states);
      expect(verified.bad).toEqual([]);
      expect(verified.digest).toBe(sha256(image));
    }
  });

  it('a changed byte fails exactly its own segment, and a forged checkpoint fails the segments on both sides of it', async () => {
    const image = randomBytes(4 * segmentBytes + 999, 7);
    const recorder = await createChainRecorder(segmentBytes);
    recorder.update(image);
    const { chain } = recorder.finish();
    const damaged = image.slice();
    damaged[2 * segmentBytes + 5] ^= 1;
    expect((await verifySegments(damaged, segmentBytes, chain.states)).bad).toEqual([2]);

    // A manifest whose checkpoint after segment 1 is made up: segment 1 does not end there, segment 2 does not start from it.
    const forged = [...chain.states];
    forged[1] = 'ab'.repeat(32);
    expect((await verifySegments(image, segmentBytes, forged)).bad.sort()).toEqual([1, 2]);
  });

  it('tessera make writes checkpoints into the manifest, and they survive encoding', async () => {
    const image = randomBytes(40 * MiB + 77, 3);
    const manifest = await makeManifest(memorySeed('disc.iso', image));
    expect(manifest.checksum.hex).toBe(sha256(image));
    expect(manifest.sha256Chain?.segmentBytes).toBe(16 * MiB);
    expect(manifest.sha256Chain?.states).toHaveLength(2);
    const decoded = await decodeManifest(await encodeManifest(manifest));
    expect(decoded.sha256Chain).toEqual(manifest.sha256Chain);
    expect((await verifySegments(image, 16 * MiB, decoded.sha256Chain!.states)).digest).toBe(sha256(image));
  });

  it('segment sizes keep the checkpoint list short, and malformed chains are named', () => {
    expect(chainSegmentBytes(700e6)).toBe(16 * MiB);
    expect(chainSegments(2 ** 42, chainSegmentBytes(2 ** 42)) - 1).toBeLessThanOrEqual(4096);
    expect(chainProblem({ segmentBytes: 3 * MiB, states: [] }, 10)).toMatch(/power of two/);
    expect(chainProblem({ segmentBytes: 16 * MiB, states: [] }, 40 * MiB)).toMatch(/2 checkpoints/);
    expect(chainProblem({ segmentBytes: 16 * MiB, states: ['x'] }, 20 * MiB)).toMatch(/64 hex/);
    expect(chainProblem('no', 1)).toMatch(/not an object/);
  });
});
