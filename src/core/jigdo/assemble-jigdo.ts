import { ErrorCode, TesseraError, describeError, isTesseraError, outputWriteError } from '../errors.ts';
import type { StreamHasherFactory } from '../hashing.ts';
import { bytesToHex } from '../hashing.ts';
import type { OutputSink, RangeFetcher, RangeResponse, SeedReader } from '../io.ts';
import { readFully } from '../read-fully.ts';
import type { JigdoTemplate, TemplateEntry } from './decode-template.ts';
import { rsync64 } from './rsync64.ts';
import { type Decompressor, templateData } from './template-data.ts';

type FileEntry = Extract<TemplateEntry, { kind: 'file' }>;

/** Which template file entries the user's files hold: entry index -> the seed that has it. */
export type JigdoMatches = Map<number, SeedReader>;

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Match the user's files to the template's file entries: by size first, then
 * the rsync64 of the file's head (one small read), and only then the whole
 * file's checksum. A file that cannot be read is skipped (onSkip).
 */
export async function matchJigdoFiles(
  template: JigdoTemplate,
  seeds: readonly SeedReader[],
  createHasher: StreamHasherFactory,
  options: {
    /** Matches found earlier (files added before): their entries are not looked for again, and the result keeps them. */
    matched?: JigdoMatches;
    onSkip?: (seed: string, reason: string, seedIndex: number) => void;
    onProgress?: (seedsDone: number) => void;
  } = {},
): Promise<JigdoMatches> {
  const bySize = new Map<number, number[]>();
  template.entries.forEach((e, i) => {
    if (e.kind === 'file') bySize.set(e.length, [...(bySize.get(e.length) ?? []), i]);
  });
  const matches: JigdoMatches = new Map(options.matched ?? []);
  const head = new Uint8Array(template.rsyncBlockLength);
  const buffer = new Uint8Array(4 << 20);
  for (const [n, seed] of seeds.entries()) {
    options.onProgress?.(n);
    const candidates = (bySize.get(seed.size) ?? []).filter((i) => !matches.has(i));
    if (candidates.length === 0) continue;
    try {
      const got = await readFully(seed, 0, head.subarray(0, Math.min(head.length, seed.size)));
      const sum = rsync64(head.subarray(0, got), template.rsyncBlockLength);
      const left = candidates.filter((i) => sameBytes((template.entries[i] as FileEntry).rsync64, sum));
      if (left.length === 0) continue;
      const hasher = await createHasher(template.algorithm);
      for (let at = 0; at < seed.size; ) {
        const n = await readFully(seed, at, buffer.subarray(0, Math.min(buffer.length, seed.size - at)));
        if (n === 0) throw new Error('the file became shorter while it was read');
        hasher.update(buffer.subarray(0, n));
        at += n;
      }
      const digest = await hasher.digest();
      for (const i of left) if (bytesToHex((template.entries[i] as FileEntry).checksum) === digest) matches.set(i, seed);
    } catch (error) {
      options.onSkip?.(seed.name, describeError(error), n);
    }
  }
  options.onProgress?.(seeds.length);
  return matches;
}

export interface AssembleJigdoInput {
  template: JigdoTemplate;
  templateBytes: Uint8Array;
  matches: JigdoMatches;
  /** URLs to fetch a file entry from, in the order to try them (absolute). */
  urlsFor: (entryIndex: number) => readonly string[];
  fetcher: RangeFetcher;
  sink: OutputSink;
  decompress: Decompressor;
  createHasher: StreamHasherFactory;
  /** Missing files fetched ahead of the writer (at most this many, and at most 64 MB). */
  filesInFlight?: number;
  signal?: AbortSignal;
  onProgress?: (bytesWritten: number, bytesFetched: number) => void;
  /** A missing file was fetched and verified (it is written when the writer reaches it). */
  onFileFetched?: (entryIndex: number) => void;
  /**
   * Keep a fetched file once it is verified (a folder beside the output, the
   * browser's storage), so that a run that fails later does not fetch it
   * again. Awaited before the file is used; must not reject (a file that
   * could not be kept is the caller's to report). When given, a file that
   * cannot be fetched does not stop the fetching: the other missing files are
   * still fetched and kept, so that the next run needs only those that failed.
   */
  keepFetched?: (entryIndex: number, data: Uint8Array) => Promise<void>;
  /** A file could not be fetched from any of its URLs (the run will fail; with keepFetched, once the others are fetched). */
  onFileFailed?: (entryIndex: number, error: TesseraError) => void;
  /**
   * Where files of `minBytes` or more go as they are fetched, in range
   * requests of `pieceBytes`, instead of memory: a package can be hundreds of
   * MB. The store keeps the file (as keepFetched would) and the writer reads
   * it back when it reaches it. A server that ignores ranges sends the whole
   * file to the first request, which goes into the store a piece at a time
   * as well. Without a store, a file is fetched whole into memory.
   */
  largeFiles?: { store: FetchedFileStore; minBytes?: number; pieceBytes?: number };
  /**
   * The large-file store failed (a full disk, a folder that cannot be made):
   * not the mirror's fault, so the file is fetched again from the same URL
   * into memory, as small files are, and so are the large files after it.
   * Must not throw (the caller says it once).
   */
  onStoreFailed?: (entryIndex: number, reason: unknown) => void;
}

/** Storage for large fetched files (see AssembleJigdoInput.largeFiles). */
export interface FetchedFileStore {
  /** Start writing a file, named by its checksum (hex): its bytes are appended in order. */
  begin(checksumHex: string, length: number): Promise<FetchedFileWriter>;
}

export interface FetchedFileWriter {
  append(data: Uint8Array): Promise<void>;
  /** Every byte was appended and the file's checksum matched: keep it, and read it back through the reader returned. */
  finish(): Promise<StoredFile>;
  /** The file is not to be kept (it failed its checksum, or its fetch failed): remove what was written. */
  discard(): Promise<void>;
}

/** Files from this size on go through AssembleJigdoInput.largeFiles' store. */
const LARGE_FILE_BYTES = 16 << 20;
/**
 * The range requests such a file is fetched in, one after another (one
 * buffer of this size per file in flight): large enough that a round trip
 * per piece costs little against a far server.
 */
const FILE_PIECE_BYTES = 16 << 20;

/** A failure of the large-file store, told apart from the mirror's. */
class StoreFailure extends Error {
  constructor(readonly reason: unknown) {
    super(describeError(reason));
  }
}
const inStore = async <T>(step: Promise<T>): Promise<T> => {
  try {
    return await step;
  } catch (error) {
    throw new StoreFailure(error);
  }
};

/** A large file in the store, read back through it. */
type StoredFile = SeedReader & { close?(): unknown };
/** A fetched file: in memory, or in the large-file store. */
type Fetched = Uint8Array | StoredFile;

export interface AssembleJigdoResult {
  /** Hex checksum of the image (MD5 or SHA-256, as the template). */
  digest: string;
  bytesFromTemplate: number;
  bytesLocal: number;
  bytesFetched: number;
  filesFetched: number;
}

/**
 * Write the image in order: template data, the user's matching files, and
 * the other files fetched whole from the .jigdo's servers (several ahead of
 * the writer, each checked against its checksum before it is used, trying the
 * next URL when one fails). The image's checksum is computed as it is
 * written (here, or by the sink: sink.digest) and must equal the template's.
 */
export async function assembleJigdo(input: AssembleJigdoInput): Promise<AssembleJigdoResult> {
  const { template, sink } = input;
  // A sink that hashes what it writes (on another thread) gives the digest itself.
  const hasher = sink.digest ? null : await input.createHasher(template.algorithm);
  const data = templateData(input.templateBytes, template, input.decompress);
  let pending: Uint8Array = new Uint8Array(0);
  let written = 0;
  let fetched = 0;
  let fromTemplate = 0;
  let local = 0;
  let filesFetched = 0;
  const write = async (chunk: Uint8Array) => {
    hasher?.update(chunk);
    try {
      await sink.write(chunk);
    } catch (error) {
      throw outputWriteError(error, written);
    }
    written += chunk.length;
    input.onProgress?.(written, fetched);
  };

  // Missing files, fetched in order, a few ahead of the writer.
  const missing = template.entries.map((e, i) => (e.kind === 'file' && !input.matches.has(i) ? i : -1)).filter((i) => i >= 0);
  const inFlight = new Map<number, Promise<Fetched>>();
  const maxFiles = input.filesInFlight ?? 4;
  const large = input.largeFiles;
  const largeFrom = large?.minBytes ?? LARGE_FILE_BYTES;
  const pieceBytes = large?.pieceBytes ?? FILE_PIECE_BYTES;
  /** The large-file store has failed: large files then go into memory too. */
  let storeFailed = false;
  const intoStore = (i: number) => large !== undefined && !storeFailed && template.entries[i].length >= largeFrom;
  /** The memory a file in flight takes: a large one only its piece buffer. */
  const memoryOf = (i: number) => {
    const length = template.entries[i].length;
    return intoStore(i) ? pieceBytes : length;
  };
  let nextMissing = 0;
  /** Files that could not be fetched from any of their URLs. */
  const failedFiles = new Set<number>();
  const topUp = () => {
    let bytes = 0;
    for (const p of inFlight.keys()) bytes += memoryOf(p);
    while (nextMissing < missing.length && inFlight.size < maxFiles && (inFlight.size === 0 || bytes < 64 << 20)) {
      const i = missing[nextMissing++];
      bytes += memoryOf(i);
      const p = fetchFile(i);
      p.catch(() => {}); // awaited in order below
      inFlight.set(i, p);
    }
  };
  const notMatching = () => new Error(`the file there is not the one the template names (its ${template.algorithm} differs)`);
  /** The whole file in one request, into memory. */
  const fetchWhole = async (i: number, url: string): Promise<Uint8Array> => {
    const entry = template.entries[i] as FileEntry;
    const response = await input.fetcher.fetchRange(url, 0, entry.length, input.signal);
    if (response.status !== 200 && response.status !== 206) {
      response.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const { data, length, overflow } = await response.readAll(new Uint8Array(entry.length), () => {});
    if (overflow || length !== entry.length) throw new Error(`sent ${overflow ? 'more' : length} bytes, the template says ${entry.length}`);
    const h = await input.createHasher(template.algorithm);
    h.update(data);
    if ((await h.digest()) !== bytesToHex(entry.checksum)) throw notMatching();
    await input.keepFetched?.(i, data);
    return data;
  };
  /**
   * A large file in range requests, each hashed and appended to the store as
   * it arrives. A server that ignores ranges sends the whole file to the
   * first: it goes into the store a piece at a time all the same (null, to
   * fetch it whole into memory, only where the platform cannot read a body
   * in pieces).
   */
  const fetchIntoStore = async (i: number, url: string, store: FetchedFileStore): Promise<Fetched | null> => {
    const entry = template.entries[i] as FileEntry;
    const checksum = bytesToHex(entry.checksum);
    const h = await input.createHasher(template.algorithm);
    const piece = new Uint8Array(Math.min(pieceBytes, entry.length));
    const writer = await inStore(store.begin(checksum, entry.length));
    /** The answer being read: let go if anything fails (the rest of its body is not wanted). */
    let response: RangeResponse | undefined;
    try {
      for (let at = 0; at < entry.length; ) {
        const n = Math.min(piece.length, entry.length - at);
        response = await input.fetcher.fetchRange(url, at, at + n, input.signal);
        if (response.status === 200 && n < entry.length) {
          // (After the first piece, a whole file cannot follow what was stored: fetched whole instead.)
          if (!response.readPieces || at > 0) {
            response.cancel();
            await inStore(writer.discard()); // (a store that fails here fails as a store, not as the mirror)
            return null;
          }
          const whole = await response.readPieces(piece, entry.length, async (data) => {
            h.update(data);
            await inStore(writer.append(data));
          });
          if (whole.overflow || whole.length !== entry.length) throw new Error(`sent ${whole.overflow ? 'more' : whole.length} bytes, the template says ${entry.length}`);
          break;
        }
        if (response.status !== 200 && response.status !== 206) throw new Error(`HTTP ${response.status}`);
        const { length, overflow } = await response.readAll(piece.subarray(0, n), () => {});
        if (overflow || length !== n) throw new Error(`sent ${overflow ? 'more' : length} bytes for bytes ${at}-${at + n - 1}, which the template says it has`);
        h.update(piece.subarray(0, n));
        await inStore(writer.append(piece.subarray(0, n)));
        at += n;
      }
      if ((await h.digest()) !== checksum) throw notMatching();
    } catch (error) {
      response?.cancel();
      await writer.discard().catch(() => {});
      throw error;
    }
    return inStore(writer.finish());
  };
  /** One file from one URL: a large one into the store, unless it failed; the others (and a large one the store could not take) into memory. */
  const fetchFrom = async (i: number, url: string): Promise<Fetched> => {
    if (intoStore(i)) {
      try {
        const stored = await fetchIntoStore(i, url, large!.store);
        if (stored) return stored;
      } catch (error) {
        if (!(error instanceof StoreFailure)) throw error;
        storeFailed = true;
        input.onStoreFailed?.(i, error.reason);
      }
    }
    return fetchWhole(i, url);
  };
  const fetchFile = async (i: number): Promise<Fetched> => {
    const entry = template.entries[i] as FileEntry;
    const urls = input.urlsFor(i);
    const problems: string[] = [];
    for (const url of urls) {
      try {
        const data = await fetchFrom(i, url);
        fetched += entry.length;
        filesFetched++;
        input.onFileFetched?.(i);
        return data;
      } catch (error) {
        if (input.signal?.aborted) throw error;
        problems.push(`${url}: ${describeError(error)}`);
      }
    }
    const failure = new TesseraError(
      ErrorCode.MirrorsFailed,
      urls.length === 0
        ? `the file at byte ${entry.offset} of the image (${entry.length} bytes) is not in your files, and the .jigdo names no server for it`
        : `could not fetch the file at byte ${entry.offset} of the image (${entry.length} bytes):\n  ${problems.join('\n  ')}`,
      { offset: entry.offset },
    );
    failedFiles.add(i);
    input.onFileFailed?.(i, failure);
    throw failure;
  };

  /**
   * The image cannot be finished. What is being fetched is let finish (and so
   * kept); when fetched files are kept and the failure was a file that could
   * not be fetched, the files not yet started are fetched too, a few at a
   * time, so that the next run needs only those that failed.
   */
  const fetchTheRestForLater = async (failure: unknown): Promise<void> => {
    const settle = (p: Promise<unknown>) => p.then(() => {}, () => {});
    /** A large file fetched into the store stays kept there; its reader is let go. */
    const release = (f: Fetched) => (f instanceof Uint8Array ? undefined : f.close?.());
    const running = [...inFlight.values()].map((p) => settle(p.then(release)));
    inFlight.clear();
    const keepGoing = !!input.keepFetched && isTesseraError(failure, ErrorCode.MirrorsFailed);
    const worker = async () => {
      while (keepGoing && nextMissing < missing.length && !input.signal?.aborted) {
        await settle(fetchFile(missing[nextMissing++]).then(release));
        input.onProgress?.(written, fetched);
      }
    };
    await Promise.all([...running, ...Array.from({ length: maxFiles }, worker)]);
  };

  const copyBuffer = new Uint8Array(4 << 20);
  /** Write `length` bytes of `from` (one of the user's files, or a large file in the store); `shorter` says why it ended early. */
  const copyFrom = async (from: SeedReader, length: number, shorter: string) => {
    for (let at = 0; at < length; ) {
      const n = await readFully(from, at, copyBuffer.subarray(0, Math.min(copyBuffer.length, length - at)));
      if (n === 0) throw new TesseraError(ErrorCode.SeedRead, `${from.name}: ${shorter}`, { seed: from.name });
      await write(copyBuffer.subarray(0, n));
      at += n;
    }
  };
  const writeInOrder = async () => {
    for (const [i, entry] of template.entries.entries()) {
      if (input.signal?.aborted) throw new TesseraError(ErrorCode.Aborted, 'cancelled');
      topUp();
      if (entry.kind === 'data') {
        let need = entry.length;
        while (need > 0) {
          if (pending.length === 0) {
            const next = await data.next();
            if (next.done) throw new TesseraError(ErrorCode.ManifestCorrupt, 'the template ends before its data entries do');
            pending = next.value;
          }
          const n = Math.min(need, pending.length);
          await write(pending.subarray(0, n));
          pending = pending.subarray(n);
          need -= n;
          fromTemplate += n;
        }
        continue;
      }
      const seed = input.matches.get(i);
      if (seed) {
        await copyFrom(seed, entry.length, 'the file became shorter while it was read; was it changed?');
        local += entry.length;
        continue;
      }
      const file = await inFlight.get(i)!;
      inFlight.delete(i);
      if (file instanceof Uint8Array) await write(file);
      else {
        // A large file, from the store it was fetched into.
        try {
          await copyFrom(file, entry.length, 'the file fetched for the image became shorter; was it changed?');
        } finally {
          await file.close?.();
        }
      }
    }
  };

  try {
    await writeInOrder();
  } catch (caught) {
    // A fetch stopped by the signal throws the platform's AbortError: said as ours.
    const error = input.signal?.aborted && !isTesseraError(caught) ? new TesseraError(ErrorCode.Aborted, 'cancelled', {}, { cause: caught }) : caught;
    await fetchTheRestForLater(error);
    if (failedFiles.size > 1 && isTesseraError(error, ErrorCode.MirrorsFailed)) {
      throw new TesseraError(ErrorCode.MirrorsFailed, `${error.message}\n(and ${failedFiles.size - 1} more of the image's files could not be fetched)`, { ...error.details, filesFailed: failedFiles.size }, { cause: error });
    }
    throw error;
  }
  const digest = hasher ? await hasher.digest() : await sink.digest!();
  const expected = bytesToHex(template.imageChecksum);
  if (digest !== expected) {
    throw new TesseraError(
      ErrorCode.ChecksumMismatch,
      `the rebuilt image's ${template.algorithm.toUpperCase()} is ${digest}, but the template says ${expected}; the output is not the published image and must not be used`,
      { expected, actual: digest },
    );
  }
  return { digest, bytesFromTemplate: fromTemplate, bytesLocal: local, bytesFetched: fetched, filesFetched };
}
