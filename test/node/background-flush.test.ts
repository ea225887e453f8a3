import { describe, expect, it } from 'vitest';
import { backgroundFlush } from '../../src/node/background-flush.ts';

/** A handle whose datasync() calls are counted and finished by the test. */
function heldHandle() {
  const calls: { resolve(): void; reject(error: Error): void }[] = [];
  return {
    calls,
    datasync: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
  };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('backgroundFlush', () => {
  it('flushes once per `every` bytes written, one flush at a time', async () => {
    const handle = heldHandle();
    const flush = backgroundFlush(handle, 100);
    flush.wrote(99);
    expect(handle.calls).toHaveLength(0);
    flush.wrote(100);
    expect(handle.calls).toHaveLength(1);
    flush.wrote(250); // the first is still running: no second one beside it
    expect(handle.calls).toHaveLength(1);
    handle.calls[0].resolve();
    await turn();
    flush.wrote(260); // 160 since the last flush started
    expect(handle.calls).toHaveLength(2);
    const settled = flush.settled();
    handle.calls[1].resolve();
    await expect(settled).resolves.toBeUndefined();
  });

  it('keeps a failed flush for settled(): a write-back error is reported to one sync only', async () => {
    const handle = heldHandle();
    const flush = backgroundFlush(handle, 10);
    flush.wrote(10);
    handle.calls[0].reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await turn();
    flush.wrote(30); // later flushes go on
    handle.calls[1].resolve();
    await expect(flush.settled()).rejects.toThrow('EIO');
  });
});
