import type { ImageFileReply, ImageFileRequest, StorageErrorInfo } from './messages.ts';

/** A storage error from the image file's worker, with the DOMException's name kept for explainStorageError. */
export class ImageFileError extends Error {
  constructor(readonly info: StorageErrorInfo) {
    super(info.message);
    this.name = info.name;
  }
}

/**
 * A worker's side of a port to the image file (image-file-worker.ts): writes
 * at positions, answered in order.
 */
export class ImageFilePort {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: ImageFileReply) => void }>();

  constructor(private readonly port: MessagePort) {
    port.onmessage = (e: MessageEvent<ImageFileReply>) => {
      const waiter = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      waiter?.resolve(e.data);
    };
  }

  /**
   * Write `data` at `position`. Its buffer is transferred, and handed back
   * once written (the resolved value, a view of the same bytes) for reuse.
   */
  async write(position: number, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const reply = await this.request({ type: 'write', id: this.nextId++, position, data }, [data.buffer]);
    return (reply as Extract<ImageFileReply, { type: 'written' }>).data;
  }

  /** Everything before `upTo` is final: sent after the writes it covers, on the same port, so it is served after them. */
  finalUpTo(upTo: number): void {
    this.port.postMessage({ type: 'final', upTo } satisfies ImageFileRequest);
  }

  /** Bytes [start, end) are final (written straight into the file before this was sent). */
  finalRange(start: number, end: number): void {
    this.port.postMessage({ type: 'final-range', start, end } satisfies ImageFileRequest);
  }

  /** The checksum of the file once all of it is final (the file's verifier, image-verifier.ts). */
  async digest(): Promise<Extract<ImageFileReply, { type: 'digest' | 'mismatch' }>> {
    return (await this.request({ type: 'digest', id: this.nextId++ })) as Extract<ImageFileReply, { type: 'digest' | 'mismatch' }>;
  }

  close(): void {
    this.port.close();
  }

  private async request(m: Exclude<ImageFileRequest, { type: 'final' | 'final-range' }>, transfer: Transferable[] = []): Promise<ImageFileReply> {
    const reply = await new Promise<ImageFileReply>((resolve) => {
      this.pending.set(m.id, { resolve });
      this.port.postMessage(m, transfer);
    });
    if (reply.type === 'failed') throw new ImageFileError(reply.error);
    return reply;
  }
}
