// A stand-in for the image file's worker (src/web/engine/image-file-worker.ts) over a real
// MessagePort (Node's), keeping the file in memory (OPFS cannot run here).
import { createHash } from 'node:crypto';
import { ImageFilePort } from '../../src/web/engine/image-file-port.ts';
import type { ImageFileRequest } from '../../src/web/engine/messages.ts';

const channels: MessageChannel[] = [];

/**
 * An image file in memory behind a port: each write lands at its position and
 * is answered, handing the buffer back. `writes` lists them; `told` is every
 * request in order (a write's data left out).
 */
export function memoryImageFile(length: number) {
  const channel = new MessageChannel();
  channels.push(channel);
  const bytes = new Uint8Array(length);
  const writes: { position: number; length: number }[] = [];
  const told: ImageFileRequest[] = [];
  channel.port2.onmessage = (e: MessageEvent<ImageFileRequest>) => {
    const m = e.data;
    if (m.type === 'write') {
      bytes.set(m.data, m.position);
      writes.push({ position: m.position, length: m.data.length });
      channel.port2.postMessage({ type: 'written', id: m.id, data: m.data }, [m.data.buffer]);
    } else if (m.type === 'digest') {
      // The verifier's answer: the SHA-256 of what the file holds.
      const hex = createHash('sha256').update(bytes).digest('hex');
      channel.port2.postMessage({ type: 'digest', id: m.id, hex, hashMs: 0, segments: 1, workers: 1 });
    }
    told.push(m.type === 'write' ? { ...m, data: new Uint8Array(0) } : m);
  };
  return { port: new ImageFilePort(channel.port1 as unknown as globalThis.MessagePort), bytes, writes, told };
}

/** Close the ports of every memoryImageFile made so far (afterEach). */
export function closeMemoryImageFiles(): void {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
}
