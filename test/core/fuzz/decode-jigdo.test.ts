// decodeJigdo (and partUrls, which follows its [Servers] labels) on hostile input.
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { decodeJigdo, partUrls } from '../../../src/core/jigdo/decode-jigdo.ts';
import { makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { FUZZ_SEED, ParserFuzz, ascii, standardCases } from '../../helpers/parser-fuzz.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const fuzz = new ParserFuzz({
  name: 'jigdo file (.jigdo)',
  source: 'fuzz.jigdo',
  codes: [ErrorCode.ManifestCorrupt, ErrorCode.ManifestNotRecognized, ErrorCode.ManifestUnsupportedVersion, ErrorCode.ManifestLimit],
  decode: (bytes) => {
    const jigdo = decodeJigdo(bytes, 'fuzz.jigdo');
    for (const key of jigdo.parts.keys()) partUrls(jigdo, key);
    return jigdo;
  },
});

let dir: Awaited<ReturnType<typeof tempDir>>;
let valid: Uint8Array;
beforeAll(async () => {
  dir = await tempDir('tessera-fuzz-jigdo-');
  const fx = makeJigdoFixture(dir.path, { labels: { Deb: 'http://deb.example/debian/' } });
  valid = readBytes(fx.jigdo);
});
afterAll(() => dir.remove());

const text = () => new TextDecoder().decode(valid);

describe('decodeJigdo under fuzzing', () => {
  standardCases(fuzz, 'decode-jigdo', () => valid, { everyCutBelow: 1 << 20, sampledCuts: 0, mutations: 500, random: 300, magic: ascii('[Jigdo]\nVersion=1.2\n[Image]\n') });

  it('reads or refuses huge values: a megabyte Filename, Template-MD5Sum or part key', async () => {
    const long = 'A'.repeat(1 << 20);
    for (const [what, input] of [
      ['Filename', text().replace(/^Filename=.*$/m, `Filename=${long}`)],
      ['Template-MD5Sum', text().replace(/^Template-MD5Sum=.*$/m, `Template-MD5Sum=${long}`)],
      ['[Parts] key', `${text()}\n${long}=Deb:x.deb\n`],
    ]) {
      await fuzz.check('huge field', ascii(input), `a 1 MB ${what}`);
    }
  });

  it('reads a .jigdo with 20,000 parts in bounded time', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `${String(i).padStart(22, 'A')}=Deb:pool/p${i}.deb`);
    expect(await fuzz.check('huge field', ascii(`${text()}\n${lines.join('\n')}\n`), '20,000 parts')).toBe('parsed');
  });

  it('follows [Servers] labels that point at each other (loops, fan-out) in bounded time', async () => {
    const label = fc.constantFrom('Deb', 'A', 'B', 'C');
    const server = fc.tuple(label, label, fc.constantFrom('', 'x/', 'http://h.example/')).map(([l, to, path]) => `${l}=${path.startsWith('http') ? path : `${to}:${path}`}`);
    await fc.assert(
      fc.asyncProperty(fc.array(server, { minLength: 1, maxLength: 24 }), async (servers) => {
        const input = text().replace('[Servers]\n', `[Servers]\n${servers.join('\n')}\n`);
        await fuzz.check('huge field', ascii(input), `${servers.length} server lines`);
      }),
      { seed: FUZZ_SEED, numRuns: 100 },
    );
  });

  it('refuses a file over its 64 MB limit before decoding it', async () => {
    expect(await fuzz.check('huge field', new Uint8Array((64 << 20) + 1).fill(0x23), '64 MB + 1 of "#"')).toBe(ErrorCode.ManifestLimit);
  });
});
