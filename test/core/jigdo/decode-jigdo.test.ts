// .jigdo files as jigdo-file writes them (plain and gzipped), and the
// label/alternative rules of [Servers] and [Parts].
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { decodeJigdo, isGzip, partUrls, splitWords } from '../../../src/core/jigdo/decode-jigdo.ts';
import { encodeJigdoBase64 } from '../../../src/core/jigdo/jigdo-base64.ts';
import { platformDecompress } from '../../../src/platform/decompress.ts';
import { makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tessera-jigdo-file-');
});
afterAll(() => dir.remove());

describe('decodeJigdo', () => {
  it('reads what jigdo-file make-template writes, plain and gzipped, and maps every part to its server URL', async () => {
    const fx = makeJigdoFixture(join(dir.path, 'a'), { labels: { Debian: 'http://mirror.example/debian/' } });
    const plain = readBytes(fx.jigdo);
    const gz = new Uint8Array(gzipSync(plain));
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(plain)).toBe(false);
    for (const bytes of [plain, await platformDecompress('gzip', gz, 1 << 20)]) {
      const j = decodeJigdo(bytes, 'image.jigdo');
      expect(j.version).toBe('1.2');
      expect(j.image.filename).toBe('image.iso');
      expect(j.image.template).toBe('image.template');
      expect(Buffer.from(j.image.templateMd5!).toString('hex')).toBe(createHash('md5').update(readBytes(fx.template)).digest('hex'));
      expect(j.parts.size).toBe(fx.packages.size);
      for (const [name, data] of fx.packages) {
        const key = encodeJigdoBase64(createHash('md5').update(data).digest());
        expect(partUrls(j, key)).toEqual([`http://mirror.example/debian/${name}`]);
      }
    }
  });

  it('expands labels through other labels, keeps alternatives in order and puts --try-last servers last', () => {
    const key = 'A'.repeat(22);
    const j = decodeJigdo(
      new TextEncoder().encode(
        [
          '# comment',
          '[Jigdo]',
          'Version=1.1',
          '[Image]',
          'Filename=disc.iso',
          'Template="disc 1.template"',
          'ShortInfo=Debian GNU/Linux (first disc)',
          '[Image]',
          'Filename=ignored.iso',
          'Template=ignored.template',
          '[Parts]',
          `${key}=Debian:pool/main/a.deb`,
          `${key}=http://elsewhere.example/a.deb`,
          '[Servers]',
          'Debian=Mirror:debian/',
          'Mirror=http://slow.example/ --try-last',
          'Mirror=http://fast.example/',
          'Mirror=http://second.example/',
        ].join('\n'),
      ),
    );
    expect(j.image).toMatchObject({ filename: 'disc.iso', template: 'disc 1.template', shortInfo: 'Debian GNU/Linux (first disc)' });
    expect(partUrls(j, key)).toEqual([
      'http://fast.example/debian/pool/main/a.deb',
      'http://second.example/debian/pool/main/a.deb',
      'http://slow.example/debian/pool/main/a.deb',
      'http://elsewhere.example/a.deb',
    ]);
  });

  it('splits values as jigdo does (quotes, backslashes)', () => {
    expect(splitWords(`a 'b c' "d \\" e" f\\ g`)).toEqual(['a', 'b c', 'd " e', 'f g']);
  });

  it('refuses what is not a .jigdo, a newer format, and damaged lines, with codes', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => decodeJigdo(enc('<html>404</html>'))).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestCorrupt }));
    expect(() => decodeJigdo(enc('just text\n'))).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestCorrupt }));
    expect(() => decodeJigdo(enc('[Other]\nx=1\n'))).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestNotRecognized }));
    expect(() => decodeJigdo(enc('[Jigdo]\nVersion=3.0\n[Image]\nFilename=a\nTemplate=b\n'))).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestUnsupportedVersion }));
    expect(() => decodeJigdo(enc('[Jigdo]\nVersion=1.2\n[Image]\nFilename=a\n'))).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestCorrupt, message: expect.stringContaining('Template=') }));
  });
});
