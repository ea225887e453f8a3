// The hashing thread of `tessera get` (node:worker_threads; file-hasher.ts
// starts it): it reads the image's part file back as the main thread writes
// it, from the page cache, and hashes it with OpenSSL. The checksum then runs
// on another core than the download and the writes, and it checks the bytes
// the file holds, not the ones handed to the writes.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { HASH_STATE, type HashWorkerData, type HashWorkerReply, WRITING, CANCELLED, READ_BYTES } from './file-hasher.ts';

const port = parentPort;
if (!port) throw new Error('file-hash-worker.mjs runs as a worker thread of tessera');
const { path, algorithms, state: shared } = workerData as HashWorkerData;
const state = new BigInt64Array(shared);

const reply = (message: HashWorkerReply) => port.postMessage(message);

let fd: number | undefined;
try {
  fd = openSync(path, 'r');
  const hashes = algorithms.map((a) => createHash(a));
  const buffer = Buffer.allocUnsafe(READ_BYTES);
  let hashed = 0;
  for (;;) {
    // Read the generation first: a change after it wakes the wait below at once.
    const generation = Atomics.load(state, HASH_STATE.generation);
    const phase = Atomics.load(state, HASH_STATE.phase);
    if (phase === CANCELLED) break;
    const written = Number(Atomics.load(state, HASH_STATE.written));
    if (hashed < written) {
      const n = readSync(fd, buffer, 0, Math.min(READ_BYTES, written - hashed), hashed);
      if (n === 0) throw new Error(`the file ends at byte ${hashed}, where ${written} bytes were written`);
      for (const hash of hashes) hash.update(buffer.subarray(0, n));
      hashed += n;
      continue;
    }
    if (phase !== WRITING) {
      reply({ digests: hashes.map((hash) => hash.digest('hex')) });
      break;
    }
    Atomics.wait(state, HASH_STATE.generation, generation);
  }
} catch (error) {
  reply({ error: error instanceof Error ? error.message : String(error) });
} finally {
  if (fd !== undefined) closeSync(fd);
}
