// The image's SHA-256 (or SHA-1, MD5) on its own thread, for `tessera get`
// (threaded-hasher.ts) when no scan worker is left to do it: the chunks arrive
// in order through shared memory and are hashed with Node's native hash while
// the main thread reads, verifies and writes the next ones.
import { parentPort } from 'node:worker_threads';
import { type HashRequest, hashServer } from './hash-thread.ts';

const port = parentPort;
if (!port) throw new Error('hash-worker.mjs runs as a worker thread of tessera');
const serve = hashServer(port);
port.on('message', (message: HashRequest) => serve(message));
