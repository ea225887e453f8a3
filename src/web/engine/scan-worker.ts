/// <reference lib="webworker" />
// A scan worker: holds the image's block index and scans the slices of seed
// files it is given, reporting which blocks it found where.
import { BlockIndex } from '../../core/block-index.ts';
import { FoundBlocks } from '../../core/block-sources.ts';
import { describeError } from '../../core/errors.ts';
import { type BlockHashFunction, createBlockHash } from '../../core/hashing.ts';
import { ScanBuffers, findZeroBlocks, scanSeed } from '../../core/scan-seed.ts';
import { explainStorageError } from './explain-error.ts';
import { fileSeedReader } from './file-seed-reader.ts';
import { joinSharedFile } from '../storage/shared-access.ts';
import { DirectBlockWriter } from './direct-block-writer.ts';
import { FoundBlockWriter } from './found-block-writer.ts';
import { ImageFilePort } from './image-file-port.ts';
import type { ScanReply, ScanRequest } from './messages.ts';

/**
 * The scan reads its seed on demand, 1 MiB at a time, and keeps nothing read
 * ahead: the browser's stream of a Blob fills a pipe of its own (2 MiB) while
 * the scan works, so a read finds a large chunk waiting. Reading ahead at once
 * took the pipe's bytes as they came, in small chunks (64-900 KiB), and each
 * chunk has a cost of its own (680 MB read in a worker: 0.84-0.93 s of CPU in
 * such chunks, 0.65-0.77 s in 2 MiB ones). The page: scan 1.42 s against
 * 1.47 s, 4.75 s of CPU against 4.86 s (medians of 8 runs alternating).
 */
const READ_AHEAD_BYTES = 0;
const READ_BYTES = 1 << 20;

declare const self: DedicatedWorkerGlobalScope;

let index: BlockIndex | undefined;
let blockHash: BlockHashFunction | undefined;
/**
 * What one task finds, reused from task to task (a byte per block, and the
 * list of finds), as are the scan's buffers: a task's memory does not grow
 * with the image, and nothing of the image's size is allocated per slice.
 * The image's all-zero blocks are known to it: never looked for in seeds
 * (nor written: the image file starts as zeros).
 */
let found: FoundBlocks | undefined;
let buffers: ScanBuffers | undefined;
let imageFile: ImageFilePort | null = null;
/** The image file's name, when this worker may open a handle of its own on it (shared-access.ts). */
let imageFileName: string | undefined;
let queue = Promise.resolve();

const post = (reply: ScanReply, transfer: Transferable[] = []) => self.postMessage(reply, transfer);

async function handle(request: ScanRequest): Promise<void> {
  if (request.type === 'init') {
    const manifest = request.manifest;
    index = request.index ? new BlockIndex(manifest.blocks, { parts: request.index }) : new BlockIndex(manifest.blocks, { shared: request.shareIndex === true });
    blockHash = await createBlockHash(manifest.blocks.strongHash);
    const blockCount = manifest.blocks.blockCount;
    const zeroFinds = new FoundBlocks(blockCount);
    findZeroBlocks(index, blockHash, zeroFinds);
    const zeroBlocks = zeroFinds.take().blocks;
    const zeros = new Uint8Array(blockCount);
    for (const k of zeroBlocks) zeros[k] = 1;
    found = new FoundBlocks(blockCount, zeros, request.claimed);
    buffers = new ScanBuffers(manifest.blocks.blockSize, READ_BYTES);
    imageFile = request.imageFile ? new ImageFilePort(request.imageFile) : null;
    imageFileName = request.imageFileName;
    // One worker tells the pool (the list can be long).
    const reported = request.findZeros ? zeroBlocks : new Int32Array(0);
    post({ type: 'ready', zeroBlocks: reported, index: request.shareIndex ? index.parts : undefined }, [reported.buffer]);
    return;
  }
  if (!index || !blockHash || !found || !buffers) throw new Error('scan worker used before init');
  const { task } = request;
  // Each slice starts from nothing but what other slices of its file found (claimed,
  // where memory is shared), so it reports every block of the file no other slice
  // reported (not only blocks new to this worker): what is found in a file can then
  // be cached per file.
  // A slice that fails is simply not reported (nor is what a task that stopped part-way left).
  found.take();
  found.seed = request.seed;
  const table = index.table;
  // Straight from the scan's buffer through a handle of this worker's own, where the browser shares the file; else copied to the image file's worker.
  const access = imageFileName ? await joinSharedFile(imageFileName) : null;
  const writer = access
    ? new DirectBlockWriter(access, table.blockSize, table.length)
    : imageFile
      ? new FoundBlockWriter(imageFile, table.blockSize, table.length)
      : null;
  let last = 0;
  const started = performance.now();
  let readWaitMs = 0;
  const reader = fileSeedReader(request.file, request.name, READ_AHEAD_BYTES);
  try {
    const result = await scanSeed(reader, 0, index, blockHash, found, {
      start: request.start,
      end: request.end,
      buffers,
      onBlock: writer ? (k, data) => writer.add(k, data) : undefined,
      afterChunk: writer ? () => writer.catchUp() : undefined,
      onProgress: (bytes) => {
        const now = performance.now();
        if (now - last > 50) {
          last = now;
          post({ type: 'progress', task, bytes });
        }
      },
    });
    readWaitMs = result.readWaitMs;
  } catch (error) {
    // A picked file that changed or vanished fails with a DOMException (NotReadableError…): say what to do.
    const cause = (error as { cause?: unknown }).cause;
    const message = cause && (cause as { name?: string }).name ? explainStorageError(cause, request.name) : describeError(error);
    await writer?.finish();
    access?.close();
    post({ type: 'failed', task, message });
    return;
  } finally {
    reader.close();
  }
  const staged = writer ? await writer.finish() : false;
  access?.close();
  const { blocks, offsets } = found.take();
  post({ type: 'progress', task, bytes: request.end - request.start });
  post({ type: 'result', task, blocks, offsets, staged, ms: performance.now() - started, readWaitMs }, [blocks.buffer as ArrayBuffer, offsets.buffer as ArrayBuffer]);
}

self.onmessage = (e: MessageEvent<ScanRequest>) => {
  queue = queue.then(() => handle(e.data)).catch((error) => post({ type: 'fatal', message: describeError(error) }));
};
