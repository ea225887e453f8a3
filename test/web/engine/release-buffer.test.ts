// releaseBuffer detaches what it is given (its bytes are freed with the dropped message),
// and leaves alone what other views or threads may still use. Run on Node's MessageChannel,
// which follows the same postMessage rules as the browser's.
import { describe, expect, it } from 'vitest';
import { releaseBuffer } from '../../../src/web/engine/release-buffer.ts';

describe('releaseBuffer', () => {
  it('detaches a view over its whole buffer', () => {
    const chunk = new Uint8Array(1 << 20).fill(7);
    releaseBuffer(chunk);
    expect(chunk.buffer.byteLength).toBe(0);
    expect(chunk.length).toBe(0);
    const offsets = new Float64Array(1000);
    releaseBuffer(offsets);
    expect(offsets.buffer.byteLength).toBe(0);
  });

  it('leaves a part of a larger buffer, and shared memory, as they are', () => {
    const whole = new Uint8Array(4096).fill(1);
    const part = whole.subarray(0, 1024);
    releaseBuffer(part);
    expect(whole.buffer.byteLength).toBe(4096);
    expect(part[0]).toBe(1);
    const shared = new Int32Array(new SharedArrayBuffer(4096));
    shared[0] = 5;
    releaseBuffer(shared);
    expect(shared.buffer.byteLength).toBe(4096);
    expect(shared[0]).toBe(5);
  });
});
