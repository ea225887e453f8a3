import type { StreamHasherFactory } from '../../core/hashing.ts';

/**
 * SHA-256 computed in a worker of its own (hash-wasm runs ~400 MB/s, which
 * would otherwise add seconds to the assembly). Each update posts a copy of
 * the chunk: the caller reuses its buffers.
 */
export const createWorkerSha256: StreamHasherFactory = async () => {
  const worker = new Worker(new URL('./sha256-worker.ts', import.meta.url), { type: 'module', name: 'sha256' });
  return {
    update(data) {
      const copy = data.slice();
      worker.postMessage({ type: 'update', data: copy }, [copy.buffer]);
    },
    digest: () =>
      new Promise<string>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<string>) => {
          resolve(e.data);
          worker.terminate();
        };
        worker.onerror = (e) => reject(new Error(`SHA-256 worker failed: ${e.message}`));
        worker.postMessage({ type: 'digest' });
      }),
  };
};
