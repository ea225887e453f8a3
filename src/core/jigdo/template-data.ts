import { ErrorCode, TesseraError, describeError } from '../errors.ts';
import type { JigdoTemplate } from './decode-template.ts';

/**
 * Decompress a whole stream (template parts: zlib or bzip2; a .jigdo file:
 * gzip); injected by the platform. It fails once the output passes
 * `maxLength` bytes: a few kilobytes of zeros, compressed, can claim to be
 * a small part and hold gigabytes.
 */
export type Decompressor = (kind: 'zlib' | 'gzip' | 'bzip2', data: Uint8Array, maxLength: number) => Promise<Uint8Array>;

/**
 * The template's own bytes (the image's data entries, concatenated), part by
 * part in order, each checked against its declared length.
 */
export async function* templateData(bytes: Uint8Array, template: JigdoTemplate, decompress: Decompressor, source = 'template'): AsyncGenerator<Uint8Array> {
  for (const [i, part] of template.parts.entries()) {
    let data: Uint8Array;
    try {
      data = await decompress(part.compression, bytes.subarray(part.start, part.end), part.uncompressedLength);
    } catch (error) {
      throw new TesseraError(ErrorCode.ManifestCorrupt, `${source}: part ${i + 1} (${part.compression}) could not be decompressed (${describeError(error)}); download the template again`, { source }, { cause: error });
    }
    if (data.length !== part.uncompressedLength) {
      throw new TesseraError(ErrorCode.ManifestCorrupt, `${source}: part ${i + 1} holds ${data.length} bytes, not the ${part.uncompressedLength} it declares; download it again`, { source });
    }
    yield data;
  }
}
