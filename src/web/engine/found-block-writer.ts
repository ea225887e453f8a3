import type { ImageFilePort } from './image-file-port.ts';

/** Blocks that follow one another in the image are gathered into writes of up to this size. */
const RUN_BYTES = 4 << 20;
/** Writes handed to the image file but not yet done; the scan waits beyond this (memory bound). */
const IN_FLIGHT_BYTES = 16 << 20;

/**
 * Writes the blocks a scan finds into the image file, at their place in the
 * image, while the scan still has them in memory (so the assembly need not
 * read the seed again). add() is called from inside the scan's loop and only
 * copies; consecutive blocks become one write. After a failed write (the disk
 * is full, say) nothing more is written and ok() says so: the blocks are then
 * taken from the seed as before.
 */
export class FoundBlockWriter {
  /** The run being gathered; handed over whole when flushed, and replaced by a spare one. */
  private run: Uint8Array<ArrayBuffer>;
  /** Buffers handed back by the image file once written, for the next runs. */
  private readonly spare: Uint8Array<ArrayBuffer>[] = [];
  private runFirst = -1;
  private runBlocks = 0;
  private inFlight = 0;
  private failed: unknown = null;
  private readonly writes = new Set<Promise<void>>();
  private wake: (() => void) | null = null;

  constructor(
    private readonly file: ImageFilePort,
    private readonly blockSize: number,
    private readonly imageLength: number,
  ) {
    this.run = new Uint8Array(Math.max(blockSize, RUN_BYTES - (RUN_BYTES % blockSize)));
  }

  /** Block `block` holds `data` (a whole block, the last one zero-padded); copied at once. */
  add(block: number, data: Uint8Array): void {
    if (this.failed) return;
    const bs = this.blockSize;
    if (this.runBlocks > 0 && (block !== this.runFirst + this.runBlocks || (this.runBlocks + 1) * bs > this.run.length)) this.flush();
    if (this.runBlocks === 0) this.runFirst = block;
    this.run.set(data.subarray(0, bs), this.runBlocks * bs);
    this.runBlocks++;
  }

  /** Hand the gathered run to the image file. */
  flush(): void {
    if (this.runBlocks === 0 || this.failed) return;
    const start = this.runFirst * this.blockSize;
    const end = Math.min(this.imageLength, (this.runFirst + this.runBlocks) * this.blockSize);
    this.runBlocks = 0;
    const data = this.run.subarray(0, end - start);
    this.run = this.spare.pop() ?? new Uint8Array(this.run.length);
    this.inFlight += data.length;
    const write: Promise<void> = this.file
      .write(start, data)
      .then((back) => {
        if (back.buffer.byteLength === this.run.length) this.spare.push(new Uint8Array(back.buffer));
      })
      .catch((error: unknown) => {
        this.failed ??= error;
      })
      .finally(() => {
        this.inFlight -= end - start;
        this.writes.delete(write);
        this.wake?.();
      });
    this.writes.add(write);
  }

  /** Wait while too much is waiting to be written. */
  async catchUp(): Promise<void> {
    this.flush();
    while (this.inFlight > IN_FLIGHT_BYTES && !this.failed) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** After the scan: write what is gathered and wait for every write; true if all were written. */
  async finish(): Promise<boolean> {
    this.flush();
    while (this.writes.size > 0) await Promise.all([...this.writes]);
    return !this.failed;
  }
}
