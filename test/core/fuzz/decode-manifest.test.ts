// decodeManifest on hostile input: every case parses or ends in a clear error, quickly.
import fc from 'fast-check';
import { createSHA256 } from 'hash-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { makeManifest } from '../../../src/core/make-manifest.ts';
import { decodeManifest } from '../../../src/core/manifest/decode-manifest.ts';
import { encodeManifest } from '../../../src/core/manifest/encode-manifest.ts';
import { randomBytes } from '../../../src/node/pseudo-random-bytes.ts';
import { memorySeed } from '../../helpers/memory-seed.ts';
import { FUZZ_SEED, ParserFuzz, ascii, concat, standardCases } from '../../helpers/parser-fuzz.ts';

const fuzz = new ParserFuzz({
  name: 'manifest (.tessera)',
  source: 'fuzz.tessera',
  codes: [ErrorCode.ManifestTruncated, ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestUnsupportedVersion, ErrorCode.ManifestLimit],
  decode: (bytes) => decodeManifest(bytes, 'fuzz.tessera'),
});

let valid: Uint8Array;
/** The same image in a version 1 manifest (what `tessera make` wrote before version 2). */
let validV1: Uint8Array;
let header: Record<string, unknown>;
let table: Uint8Array;
beforeAll(async () => {
  // What `tessera make` writes, for a 41 KB image.
  const image = randomBytes(2048 * 20 + 333, 21);
  const manifest = await makeManifest(memorySeed('disc.iso', image), { mirrors: ['https://a.example/disc.iso', 'disc.iso'] });
  valid = await encodeManifest(manifest);
  const headerLength = new DataView(valid.buffer, valid.byteOffset).getUint32(8, true);
  header = JSON.parse(new TextDecoder().decode(valid.subarray(12, 12 + headerLength)));
  table = valid.slice(12 + headerLength, valid.length - 32);
  const v1 = await makeManifest(memorySeed('disc.iso', image), { mirrors: ['disc.iso'], sums: { weakBytes: 4, strongBytes: 5, seqMatches: 1 } });
  validV1 = await encodeManifest(v1, { version: 1 });
});

/** A manifest with this header and table and a correct checksum, so only the fields are wrong. */
async function craft(fields: Record<string, unknown>, blockTable = table, version = 2): Promise<Uint8Array> {
  const json = ascii(JSON.stringify(fields));
  const lengthField = new Uint8Array(4);
  new DataView(lengthField.buffer).setUint32(0, json.length, true);
  const body = concat(ascii('TESSERA'), new Uint8Array([version]), lengthField, json, blockTable);
  const sha = await createSHA256();
  sha.init();
  sha.update(body);
  return concat(body, sha.digest('binary'));
}

/** Values a hostile manifest might put in a numeric field. */
const hugeNumber = fc.oneof(
  fc.constantFrom(2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 42, 2 ** 42 + 1, 2 ** 48, 2 ** 53 - 1, 2 ** 53, 2 ** 64, 1e308, -1, -(2 ** 53), 0.5),
  fc.integer({ min: 2 ** 20, max: Number.MAX_SAFE_INTEGER }),
);

describe('decodeManifest under fuzzing', () => {
  standardCases(fuzz, 'decode-manifest', () => valid, { everyCutBelow: valid?.length ?? 4096, sampledCuts: 0, mutations: 400, random: 300, magic: ascii('TESSERA\u0002') });

  it('reads a version 1 manifest, and refuses it cut anywhere or with bytes changed', async () => {
    expect(await fuzz.check('valid', validV1)).toBe('parsed');
    for (let n = 0; n < validV1.length; n++) expect(await fuzz.check('truncated', validV1.subarray(0, n), `v1 cut at ${n}`)).not.toBe('parsed');
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: validV1.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const bytes = validV1.slice();
        bytes[at] ^= flip;
        // Every byte is covered by the trailing SHA-256, or is the magic, version or length before the header.
        expect(await fuzz.check('mutated', bytes, `v1 byte ${at} ^ ${flip}`)).not.toBe('parsed');
      }),
      { seed: FUZZ_SEED, numRuns: 200 },
    );
  });

  it('refuses seqMatches other than 1 or 2, and a version 2 header without it', async () => {
    for (const value of [0, 3, -1, 1.5, '2', null, 2 ** 32]) {
      expect(await fuzz.check('huge field', await craft({ ...header, seqMatches: value }), `seqMatches ${value}`)).toBe(ErrorCode.ManifestCorrupt);
    }
    const { seqMatches: _, ...without } = header;
    expect(await fuzz.check('huge field', await craft(without), 'no seqMatches')).toBe(ErrorCode.ManifestCorrupt);
  });

  it('refuses a header length field from 0 to 0xffffffff without reading past the file', async () => {
    const cases = [0, 1, 2, 0xfffff, 1 << 20, (1 << 20) + 1, 0x7fffffff, 0xffffffff];
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom(...cases), fc.nat({ max: 0xffffffff })), async (claimed) => {
        const bytes = valid.slice();
        new DataView(bytes.buffer).setUint32(8, claimed, true);
        const outcome = await fuzz.check('huge field', bytes, `header length ${claimed}`);
        if (claimed !== new DataView(valid.buffer, valid.byteOffset).getUint32(8, true)) expect(outcome).not.toBe('parsed');
      }),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
  });

  it('refuses huge length, block size and hash-size fields (claims of terabytes) without allocating them', async () => {
    const field = fc.constantFrom('length', 'blockSize', 'weakBytes', 'strongBytes', 'seqMatches', 'chainSegmentBytes', 'chainStates');
    await fc.assert(
      fc.asyncProperty(field, hugeNumber, async (name, value) => {
        const fields = { ...header };
        if (name === 'chainSegmentBytes') fields.sha256Chain = { segmentBytes: value, states: [] };
        else if (name === 'chainStates') fields.sha256Chain = { segmentBytes: 1 << 24, states: Array.from({ length: Math.max(1, Math.min(Math.floor(value), 5000)) }, () => '0'.repeat(64)) };
        else fields[name] = value;
        const outcome = await fuzz.check('huge field', await craft(fields), `${name} = ${value}`);
        // Any power of two from 16 MiB to 1 TiB is a valid checkpoint spacing.
        const acceptable = name === 'chainSegmentBytes' && value >= 2 ** 24 && value <= 2 ** 40 && Number.isInteger(Math.log2(value));
        if (!acceptable) expect(outcome).not.toBe('parsed');
      }),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
  });

  it('refuses a 4 TiB image in 512-byte blocks (2^33 blocks claimed) by its size, before any table is allocated', async () => {
    const outcome = await fuzz.check('huge field', await craft({ ...header, length: 2 ** 42, blockSize: 512, sha256Chain: undefined }), 'length 2^42, blockSize 512');
    expect(outcome).toBe(ErrorCode.ManifestTruncated);
  });
});
