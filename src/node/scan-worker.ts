// A scan worker (node:worker_threads) of `tessera get`: uses the block index
// the main thread built (shared memory, not copied) to scan the seed slices it
// is given, and reports which blocks it found where (scan-pool.ts).
import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { BlockIndex } from '../core/block-index.ts';
import { FoundBlocks } from '../core/block-sources.ts';
import { describeError } from '../core/errors.ts';
import { type BlockHashFunction, createBlockHash } from '../core/hashing.ts';
import type { SeedReader } from '../core/io.ts';
import { ScanBuffers, scanSeed } from '../core/scan-seed.ts';
import type { PoolReply, PoolRequest } from './scan-pool.ts';

const port = parentPort;
if (!port) throw new Error('scan-worker.mjs runs as a worker thread of tessera');

let index: BlockIndex | undefined;
let blockHash: BlockHashFunction | undefined;
let found: FoundBlocks | undefined;
let buffers: ScanBuffers | undefined;
let queue = Promise.resolve();

const post = (reply: PoolReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

/**
 * A seed file read with positional reads, through the main thread's open
 * descriptor if given (threads share them), else opened by path; `size` is
 * what the main thread saw, so a file that shrank since fails its reads as in
 * a one-thread scan.
 */
async function openSeed(path: string, size: number, fd?: number): Promise<SeedReader & { close(): Promise<void> }> {
  if (fd !== undefined) {
    return {
      name: path,
      size,
      readInto: (position, target) =>
        new Promise((resolve, reject) => read(fd, target, 0, target.length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)))),
      close: async () => {}, // the main thread's
    };
  }
  const handle = await open(path, 'r');
  return {
    name: path,
    size,
    async readInto(position, target) {
      const { bytesRead } = await handle.read(target, 0, target.length, position);
      return bytesRead;
    },
    close: () => handle.close(),
  };
}

async function handle(request: PoolRequest): Promise<void> {
  if (request.type === 'init') {
    const table = request.table;
    index = new BlockIndex(table, { parts: request.index });
    blockHash = await createBlockHash(table.strongHash);
    found = new FoundBlocks(table.blockCount, request.known, request.claimed);
    buffers = new ScanBuffers(table.blockSize, request.readSize);
    post({ type: 'ready' });
    return;
  }
  if (!index || !blockHash || !found || !buffers) throw new Error('scan worker used before init');
  const { task } = request;
  const started = performance.now();
  let last = started;
  let reader: Awaited<ReturnType<typeof openSeed>> | undefined;
  try {
    reader = await openSeed(request.path, request.size, request.fd);
    found.seed = request.seed;
    const result = await scanSeed(reader, request.seed, index, blockHash, found, {
      start: request.start,
      end: request.end,
      buffers,
      jumpOverKnown: request.leftover,
      onProgress: (bytes) => {
        const now = performance.now();
        if (now - last < 100) return;
        last = now;
        post({ type: 'progress', task, bytes });
      },
    });
    const { blocks, offsets } = found.take();
    post(
      { type: 'result', task, blocks, offsets, ms: performance.now() - started, readWaitMs: result.readWaitMs, candidates: result.candidates },
      [blocks.buffer as ArrayBuffer, offsets.buffer as ArrayBuffer],
    );
  } catch (error) {
    found.take(); // what this task found is dropped with its seed
    post({ type: 'failed', task, message: describeError(error) });
  } finally {
    await reader?.close().catch(() => {});
  }
}

port.on('message', (request: PoolRequest) => {
  queue = queue.then(() => handle(request)).catch((error) => post({ type: 'fatal', message: describeError(error) }));
});
