// decodeDescription (which sniffs a manifest from a .zsync by content) on hostile input.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDescription } from '../../../src/core/decode-description.ts';
import { ErrorCode } from '../../../src/core/errors.ts';
import { makeManifest } from '../../../src/core/make-manifest.ts';
import { encodeManifest } from '../../../src/core/manifest/encode-manifest.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { memorySeed } from '../../helpers/memory-seed.ts';
import { FUZZ_SEED, ParserFuzz, ascii, mutate, standardCases } from '../../helpers/parser-fuzz.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { zsyncmake } from '../../helpers/zsyncmake.ts';

const fuzz = new ParserFuzz({
  name: 'manifest or .zsync, by content',
  source: 'fuzz-download',
  codes: [ErrorCode.ManifestTruncated, ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestUnsupportedVersion, ErrorCode.ManifestLimit, ErrorCode.FormatUnsupported],
  decode: (bytes) => decodeDescription(bytes, 'fuzz-download'),
});

let dir: Awaited<ReturnType<typeof tempDir>>;
let manifest: Uint8Array;
let zsync: Uint8Array;
beforeAll(async () => {
  dir = await tempDir('tessera-fuzz-description-');
  const image = randomBytes(30_000, 3);
  manifest = await encodeManifest(await makeManifest(memorySeed('disc.iso', image), { mirrors: ['disc.iso'] }));
  writeFileSync(join(dir.path, 'disc.iso'), image);
  zsync = zsyncmake(join(dir.path, 'disc.iso'), join(dir.path, 'disc.iso.zsync'), ['-b', '2048']);
});
afterAll(() => dir.remove());

describe('decodeDescription under fuzzing', () => {
  standardCases(fuzz, 'decode-description', () => manifest, { everyCutBelow: 4096, sampledCuts: 0, mutations: 200, random: 300, magic: ascii('zsync: ') });

  it('reads the .zsync too, and refuses it cut at every position', async () => {
    expect(await fuzz.check('valid', zsync)).toBe('parsed');
    for (let n = 0; n < zsync.length; n++) await fuzz.check('truncated', zsync.subarray(0, n), `.zsync cut at ${n}`);
  });

  it('sends a .zsync with a changed first line to a clear answer (the manifest reader names both formats)', async () => {
    const edit = fc.record({ at: fc.nat({ max: 12 }), value: fc.integer({ min: 0, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        const outcome = await fuzz.check('mutated', mutate(zsync, edits));
        if (outcome === ErrorCode.ManifestNotRecognized) {
          await expect(decodeDescription(mutate(zsync, edits), 'fuzz-download')).rejects.toThrow(/neither a Tessera manifest nor a .zsync control file/);
        }
      }),
      { seed: FUZZ_SEED, numRuns: 200 },
    );
  });
});
