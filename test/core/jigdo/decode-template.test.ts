// jigdo templates made by the real jigdo-file over ISOs built by xorriso: our
// reader's entries, sums and data rebuild the image byte for byte.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.ts';
import { decodeTemplate } from '../../../src/core/jigdo/decode-template.ts';
import { encodeJigdoBase64, decodeJigdoBase64 } from '../../../src/core/jigdo/jigdo-base64.ts';
import { rsync64 } from '../../../src/core/jigdo/rsync64.ts';
import { templateData } from '../../../src/core/jigdo/template-data.ts';
import { platformDecompress } from '../../../src/platform/decompress.ts';
import { expectSameBytes } from '../../helpers/expect-bytes.ts';
import { makeJigdoFixture, readBytes } from '../../helpers/jigdo-file.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tessera-jigdo-');
});
afterAll(() => dir.remove());

describe('decodeTemplate on jigdo-file 0.8 output', () => {
  for (const [checksum, bzip2] of [['md5', false], ['sha256', false], ['md5', true], ['sha256', true]] as const) {
    it(`rebuilds the ISO from the template and the packages (${checksum}${bzip2 ? ', bzip2' : ''})`, async () => {
      const fx = makeJigdoFixture(join(dir.path, `${checksum}-${bzip2}`), { checksum, bzip2, seed: checksum === 'md5' ? 1 : 2 });
      const bytes = readBytes(fx.template);
      const t = decodeTemplate(bytes, 'image.template');
      const iso = readBytes(fx.iso);
      expect([t.algorithm, t.imageLength, t.rsyncBlockLength]).toEqual([checksum, iso.length, 1024]);
      expect(t.parts.every((p) => p.compression === (bzip2 ? 'bzip2' : 'zlib'))).toBe(true);
      expect(Buffer.from(t.imageChecksum).toString('hex')).toBe(createHash(checksum).update(iso).digest('hex'));
      // Every package (all are over 1 KB) is a file entry; its sums are jigdo's.
      const byChecksum = new Map([...fx.packages.values()].map((data) => [Buffer.from(createHash(checksum).update(data).digest()).toString('hex'), data]));
      const files = t.entries.filter((e) => e.kind === 'file');
      expect(files.length).toBe(fx.packages.size);
      // Rebuild: file entries from the packages, data entries from the template's parts.
      const data = [];
      for await (const part of templateData(bytes, t, platformDecompress)) data.push(part);
      const kept = Buffer.concat(data);
      const out = new Uint8Array(t.imageLength);
      let fromTemplate = 0;
      for (const e of t.entries) {
        if (e.kind === 'data') {
          out.set(kept.subarray(fromTemplate, fromTemplate + e.length), e.offset);
          fromTemplate += e.length;
        } else {
          const pkg = byChecksum.get(Buffer.from(e.checksum).toString('hex'));
          expect(pkg, `a package with the entry's ${checksum}`).toBeDefined();
          expect(pkg!.length).toBe(e.length);
          expect(Buffer.from(rsync64(pkg!, t.rsyncBlockLength)).toString('hex')).toBe(Buffer.from(e.rsync64).toString('hex'));
          out.set(pkg!, e.offset);
        }
      }
      expectSameBytes(out, iso);
      // The .jigdo's [Parts] keys are the same checksums in jigdo's base64.
      const jigdo = new TextDecoder().decode(readBytes(fx.jigdo));
      for (const e of files) {
        const key = encodeJigdoBase64(e.kind === 'file' ? e.checksum : new Uint8Array());
        expect(jigdo).toContain(`${key}=`);
        expect(Buffer.from(decodeJigdoBase64(key)!).equals(Buffer.from(e.kind === 'file' ? e.checksum : []))).toBe(true);
      }
    }, 60_000);
  }

  it('refuses damaged and truncated templates with a clear error', async () => {
    const fx = makeJigdoFixture(join(dir.path, 'bad'), { seed: 4 });
    const bytes = readBytes(fx.template);
    expect(() => decodeTemplate(bytes.subarray(0, bytes.length - 3), 't')).toThrowError(expect.objectContaining({ code: expect.stringMatching(/E_MANIFEST_(TRUNCATED|CORRUPT)/) }));
    expect(() => decodeTemplate(new TextEncoder().encode('<html>'), 't')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestNotRecognized }));
    // The image-information entry (MD5 mode: type, u48 length, 16-byte MD5, u32) sits just before the trailing u48.
    const lengthWrong = bytes.slice();
    lengthWrong[lengthWrong.length - 6 - 26] ^= 0x01;
    expect(() => decodeTemplate(lengthWrong, 't')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestCorrupt, message: expect.stringContaining('add up to') }));
    const unknownPart = bytes.slice();
    const firstPart = new TextDecoder().decode(bytes.subarray(0, 300)).indexOf('DATA');
    unknownPart.set(new TextEncoder().encode('ZZZZ'), firstPart);
    expect(() => decodeTemplate(unknownPart, 't')).toThrowError(expect.objectContaining({ code: ErrorCode.ManifestCorrupt, message: expect.stringContaining('unknown kind') }));
  });
});
