import type { ImageFileControl, ImageFileStatus, StorageErrorInfo } from './messages.ts';

/**
 * The page's handle on the image file built in place in the site's storage
 * (see image-file-worker.ts): opens it at the image's length, hands out ports
 * to the workers that read and write it, and keeps or deletes it at the end.
 */
export class ImageFile {
  private waiting: ((s: ImageFileStatus) => void) | null = null;
  /** Other workers may open handles of their own on the file (the scan workers write into it directly): see shared-access.ts. */
  shared = false;
  /** The file was an interrupted visit's, kept as it was (its verified ranges are in its range logs). */
  adopted = false;

  private constructor(
    private readonly worker: Worker,
    /** The file's name in the site's storage. */
    readonly name: string,
    readonly length: number,
  ) {
    worker.onmessage = (e: MessageEvent<ImageFileStatus>) => this.waiting?.(e.data);
  }

  /**
   * Open (create or empty) `name` at `length` bytes. Resolves to null, with
   * the reason, when the site's storage cannot hold it (no OPFS, the quota,
   * a file locked by another tab): the page then works without it.
   */
  static async open(name: string, length: number, { adopt = false } = {}): Promise<{ file: ImageFile } | { file: null; problem: StorageErrorInfo }> {
    const worker = new Worker(new URL('./image-file-worker.ts', import.meta.url), { type: 'module', name: 'image-file' });
    const file = new ImageFile(worker, name, length);
    // (Tests stand in for a browser whose workers cannot share a file: test/helpers/browser.ts, EXCLUSIVE_STORAGE.)
    const share = !(globalThis as { __tesseraExclusiveStorage?: boolean }).__tesseraExclusiveStorage;
    const s = await file.send({ type: 'open', name, length, share, adopt });
    if (s.type === 'opened') {
      file.shared = s.shared;
      file.adopted = s.adopted;
      return { file };
    }
    // (An interrupted visit's file is left as it was: another tab may be working on it.)
    await file.send({ type: adopt ? 'release' : 'discard' });
    worker.terminate();
    return { file: null, problem: s.type === 'failed' ? s.error : { name: 'Error', message: `unexpected ${s.type}` } };
  }

  /**
   * Hash the file as it becomes final (the image will be built in place):
   * with SHA-256 checkpoints, much of it before the download ends (outside
   * the scans: see holdHashing). Sent again with other checksums, it starts over.
   */
  verify(how: Omit<Extract<ImageFileControl, { type: 'verify' }>, 'type'>): void {
    this.verifying = `${how.algorithm}:${how.alsoSha256}`;
    this.worker.postMessage({ type: 'verify', ...how } satisfies ImageFileControl);
  }

  /**
   * Hold the hashing while seeds are scanned, and go on with it after. The
   * scan already has a worker on every core: hashing beside it made the plan
   * later, while the cores are not all busy during the download.
   */
  holdHashing(hold: boolean): void {
    this.worker.postMessage({ type: 'hold-hashing', hold } satisfies ImageFileControl);
  }

  /** What verify() was last asked for ("algorithm:alsoSha256"), if anything. */
  verifying: string | null = null;

  /** These blocks are final in the file: written by the scan (writes answered), or zero blocks. */
  markFinal(blocks: Int32Array): void {
    this.worker.postMessage({ type: 'final-blocks', blocks } satisfies ImageFileControl);
  }

  /** A port for one worker to read and write the file (ImageFilePort on its side). */
  connect(): MessagePort {
    const channel = new MessageChannel();
    const request: ImageFileControl = { type: 'connect', port: channel.port1 };
    this.worker.postMessage(request, [channel.port1]);
    return channel.port2;
  }

  /**
   * Write what the file holds so far (the blocks the scan found) to the disk
   * now, while the download waits on the network; keep() then has only what
   * came after to write (measured: its flush took ~155 ms for a 686 MB image).
   */
  flushSoFar(): void {
    this.worker.postMessage({ type: 'flush' } satisfies ImageFileControl);
  }

  /** The image is built and verified: close the file and keep it as `name` if the browser can rename it; resolves to its name. */
  async keep(name: string): Promise<string> {
    const s = await this.send({ type: 'keep', name });
    this.worker.terminate();
    if (s.type !== 'kept') throw new Error(s.type === 'failed' ? s.error.message : `unexpected ${s.type}`);
    return s.name;
  }

  /** Close the file and leave it in the site's storage, for its range logs (partial-store.ts): a later visit adopts it. */
  async release(): Promise<void> {
    await this.send({ type: 'release' });
    this.worker.terminate();
  }

  /** Close the file and delete it. */
  async discard(): Promise<void> {
    await this.send({ type: 'discard' });
    this.worker.terminate();
  }

  private send(m: ImageFileControl): Promise<ImageFileStatus> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.worker.onerror = (e) => resolve({ type: 'failed', error: { name: 'Error', message: e.message || 'the image file worker could not start' } });
      this.worker.postMessage(m);
    });
  }
}
