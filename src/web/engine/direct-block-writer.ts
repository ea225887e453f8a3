/// <reference lib="webworker" />
import { type PositionalWriter, writeFullyAt } from '../storage/sync-write.ts';

/**
 * Writes the blocks a scan finds into the image file through the scan
 * worker's own sync access handle on it (mode 'readwrite-unsafe', which lets
 * several workers hold one), straight from the scan's buffer: no copy, no
 * message to the image file's worker. Blocks next to each other in the image
 * and in the buffer become one write; what add() was given is written by the
 * next catchUp() at the latest, while the scan's buffer still holds it
 * (scanSeed's afterChunk). After a failed write (the disk is full, say)
 * nothing more is written and finish() says so: the blocks are then taken
 * from the seed as before. The other writer, over a port, is
 * found-block-writer.ts (browsers without that mode).
 */
export class DirectBlockWriter {
  private runFirst = -1;
  private runBlocks = 0;
  /** The run's first block's bytes (a view into the scan's buffer). */
  private runData: Uint8Array | null = null;
  private failed: unknown = null;

  constructor(
    private readonly file: PositionalWriter,
    private readonly blockSize: number,
    private readonly imageLength: number,
  ) {}

  /** Block `block` holds `data` (a whole block, the last one zero-padded: clipped to the image here). */
  add(block: number, data: Uint8Array): void {
    if (this.failed) return;
    const run = this.runData;
    const next = run !== null && block === this.runFirst + this.runBlocks && data.buffer === run.buffer && data.byteOffset === run.byteOffset + this.runBlocks * this.blockSize;
    if (!next) {
      this.flush();
      this.runFirst = block;
      this.runData = data;
    }
    this.runBlocks++;
  }

  /** Write the gathered run now (the scan's buffer is about to change). */
  async catchUp(): Promise<void> {
    this.flush();
  }

  /** After the scan: true if every block given was written. */
  async finish(): Promise<boolean> {
    this.flush();
    return !this.failed;
  }

  private flush(): void {
    const run = this.runData;
    const blocks = this.runBlocks;
    this.runData = null;
    this.runBlocks = 0;
    if (run === null || this.failed) return;
    const start = this.runFirst * this.blockSize;
    const end = Math.min(this.imageLength, (this.runFirst + blocks) * this.blockSize);
    try {
      writeFullyAt(this.file, new Uint8Array(run.buffer, run.byteOffset, end - start), start);
    } catch (error) {
      this.failed = error;
    }
  }
}
