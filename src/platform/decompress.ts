/**
 * Decompression the engine asks for (injected, so src/core keeps to plain
 * JavaScript): zlib streams through the platform's DecompressionStream, which
 * Node (>= 18) and every current browser have.
 */
export type Decompress = (kind: 'zlib' | 'bzip2', data: Uint8Array) => Promise<Uint8Array>;

export const platformDecompress: Decompress = async (kind, data) => {
  if (kind !== 'zlib') throw new Error(`${kind} is not supported yet`);
  const stream = new Blob([data.slice()]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};
