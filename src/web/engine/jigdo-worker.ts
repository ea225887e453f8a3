/// <reference lib="webworker" />
// The jigdo worker: everything the page does with a .jigdo, off the main
// thread. It keeps the template and the user's files between the steps:
// open (fetch the template and check it), match (size, rsync64, checksum)
// as files are added, then assemble (fetch the missing files, write, verify).
import { ErrorCode, TesseraError, describeError, isTesseraError } from '../../core/errors.ts';
import { bytesToHex, createWasmHasher } from '../../core/hashing.ts';
import type { SeedReader } from '../../core/io.ts';
import { type FetchedFileStore, type JigdoMatches, assembleJigdo, matchJigdoFiles } from '../../core/jigdo/assemble-jigdo.ts';
import type { JigdoFile } from '../../core/jigdo/decode-jigdo.ts';
import { type JigdoTemplate, decodeTemplate } from '../../core/jigdo/decode-template.ts';
import { fileUrls, planJigdo } from '../../core/jigdo/jigdo-plan.ts';
import { readJigdo, templateUrl, verifyTemplate } from '../../core/jigdo/open-jigdo.ts';
import { platformDecompress } from '../../platform/decompress.ts';
import { createFetchRangeFetcher } from '../../platform/fetch-range-fetcher.ts';
import { keptJigdoFiles, openJigdoFileKeeper, openJigdoFileStore } from '../storage/kept-jigdo-files.ts';
import { explainNetworkError } from './explain-error.ts';
import { type FileSeedReader, fileSeedReader } from './file-seed-reader.ts';
import type { JigdoReply, JigdoRequest } from './jigdo-messages.ts';
import { builtImageMismatch } from '../../core/expected-sha256.ts';
import { openOutput } from './output-client.ts';
import { releaseBuffer } from './release-buffer.ts';

declare const self: DedicatedWorkerGlobalScope;

const post = (reply: JigdoReply, transfer: Transferable[] = []) => self.postMessage(reply, transfer);
/** Progress messages at most this often (ms): the page redraws at most 4 times a second anyway (PROGRESS_RENDER_MS). */
const PROGRESS_EVERY_MS = 50;

interface Opened {
  jigdo: JigdoFile;
  jigdoUrl?: string;
  template: JigdoTemplate;
  templateBytes: Uint8Array;
  /** The user's files, numbered as the page numbers them. */
  seeds: FileSeedReader[];
  /** Files kept from an earlier failed download of this image, read like the user's. */
  kept: FileSeedReader[];
  matches: JigdoMatches;
}
let opened: Opened | null = null;

async function open(request: Extract<JigdoRequest, { type: 'open' }>): Promise<void> {
  const jigdo = await readJigdo(request.jigdo, request.source, platformDecompress);
  const url = templateUrl(jigdo, request.jigdoUrl);
  if (!url) {
    throw new TesseraError(
      ErrorCode.ManifestUnavailable,
      `${request.source} names its template (${jigdo.image.template}) relative to where the .jigdo is published, and a file opened from disk has no such place; give the .jigdo's URL instead`,
    );
  }
  const templateBytes = await fetchTemplate(url);
  await verifyTemplate(jigdo, templateBytes, url, createWasmHasher);
  const template = decodeTemplate(templateBytes, url);
  // Resume: files fetched and verified by an earlier attempt are matched first (checked again, like any file).
  const keptFiles = await keptJigdoFiles(bytesToHex(template.imageChecksum));
  const kept = keptFiles.map((file) => fileSeedReader(file, `kept ${file.name}`));
  const matches = await matchJigdoFiles(template, kept, createWasmHasher);
  for (const reader of kept) reader.close(); // reopened where the assembly reads
  const used = new Set(matches.values());
  const resumed = {
    files: matches.size,
    bytes: [...matches.keys()].reduce((n, i) => n + template.entries[i].length, 0),
    kept: keptFiles.filter((_, i) => used.has(kept[i])),
  };
  opened = { jigdo, jigdoUrl: request.jigdoUrl, template, templateBytes, seeds: [], kept, matches };
  // Shown to the user: the servers' http(s) prefixes (a Label:path prefix shows through its label's own).
  const servers = [...new Set([...jigdo.servers.values()].flat())].flatMap((prefix) => {
    try {
      const url = request.jigdoUrl ? new URL(prefix, request.jigdoUrl) : new URL(prefix);
      return url.protocol === 'http:' || url.protocol === 'https:' ? [url.href] : [];
    } catch {
      return [];
    }
  });
  post({
    type: 'opened',
    image: {
      name: jigdo.image.filename,
      length: template.imageLength,
      algorithm: template.algorithm,
      checksum: bytesToHex(template.imageChecksum),
      templateUrl: url,
      servers,
      files: template.entries.filter((e) => e.kind === 'file').length,
      shortInfo: jigdo.image.shortInfo,
    },
    resumed,
  });
}

async function fetchTemplate(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch {
    throw new TesseraError(ErrorCode.ManifestUnavailable, `The template ${url} ${explainNetworkError(url, self.location.origin)}`);
  }
  if (!response.ok) throw new TesseraError(ErrorCode.ManifestUnavailable, `The template ${url} could not be loaded: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function match(request: Extract<JigdoRequest, { type: 'match' }>): Promise<void> {
  const o = need();
  const fresh = request.seeds.map((s) => fileSeedReader(s.file, s.name));
  fresh.forEach((reader, i) => (o.seeds[request.first + i] = reader));
  // Readers that say how far each file has been read, for its progress bar.
  let lastProgress = 0;
  const counted = fresh.map(
    (reader, i): SeedReader => ({
      name: reader.name,
      size: reader.size,
      async readInto(position, target) {
        const n = await reader.readInto(position, target);
        const now = performance.now();
        if (now - lastProgress > PROGRESS_EVERY_MS) {
          lastProgress = now;
          post({ type: 'seed-progress', seed: request.first + i, bytes: position + n });
        }
        return n;
      },
    }),
  );
  const skipped = new Set<number>();
  try {
    const matches = await matchJigdoFiles(o.template, counted, createWasmHasher, {
      matched: o.matches,
      onSkip: (_name, reason, i) => {
        skipped.add(i);
        post({ type: 'seed-skipped', seed: request.first + i, reason });
      },
      onProgress: (done) => {
        if (done > 0 && !skipped.has(done - 1)) post({ type: 'seed-done', seed: request.first + done - 1 });
      },
    });
    // The assembly reads the plain readers: no progress messages from it.
    const plain = new Map<SeedReader, SeedReader>(counted.map((c, i) => [c, fresh[i]]));
    o.matches = new Map([...matches].map(([entry, reader]) => [entry, plain.get(reader) ?? reader]));
  } finally {
    for (const reader of fresh) reader.close(); // reopened where the assembly reads
  }
  const missing: number[] = [];
  o.template.entries.forEach((e, i) => {
    if (e.kind === 'file' && !o.matches.has(i)) missing.push(e.offset, e.length);
  });
  const spans = Float64Array.from(missing);
  post({ type: 'matched', plan: planJigdo(o.template, o.matches), missing: spans }, [spans.buffer]);
}

async function assemble(request: Extract<JigdoRequest, { type: 'assemble' }>): Promise<void> {
  const started = performance.now();
  const o = need();
  const { template } = o;
  const output = await openOutput(request.output, template.algorithm, { alsoSha256: request.expectedSha256 !== undefined });
  const origin = self.location.origin;
  let lastProgress = 0;
  // Each fetched file is kept as soon as it is verified, so that a failed download resumes.
  const imageChecksum = bytesToHex(template.imageChecksum);
  let keep: ((fileChecksum: string, data: Uint8Array) => Promise<void>) | null = null;
  let keptNow = 0;
  let keepProblem = '';
  // Large files go there as they arrive (in range requests), instead of memory.
  let largeFiles: { store: FetchedFileStore } | undefined;
  try {
    keep = await openJigdoFileKeeper(imageChecksum, o.jigdo.image.filename);
    largeFiles = { store: await openJigdoFileStore(imageChecksum, () => keptNow++) };
  } catch (error) {
    keepProblem = describeError(error);
  }
  try {
    const result = await assembleJigdo({
      template,
      templateBytes: o.templateBytes,
      matches: o.matches,
      urlsFor: fileUrls(o.jigdo, template, o.jigdoUrl),
      // Each chunk of a body freed once copied out (release-buffer.ts), not left to the collector.
      fetcher: createFetchRangeFetcher({ explainNetworkError: (url) => explainNetworkError(url, origin), releaseChunk: releaseBuffer }),
      sink: output.sink,
      decompress: platformDecompress,
      createHasher: createWasmHasher,
      onProgress: (bytesWritten, bytesFetched) => {
        const now = performance.now();
        if (now - lastProgress < PROGRESS_EVERY_MS && bytesWritten < template.imageLength) return;
        lastProgress = now;
        post({ type: 'event', event: { type: 'progress', bytesWritten, bytesFetched, imageLength: template.imageLength } });
      },
      onFileFetched: (i) => {
        const e = template.entries[i];
        post({ type: 'event', event: { type: 'range-fetched', start: e.offset, end: e.offset + e.length } });
      },
      largeFiles,
      // (The file is then fetched into memory: the run goes on, and a failure says what could not be kept.)
      onStoreFailed: (_i, reason) => {
        keepProblem ||= describeError(reason);
      },
      keepFetched: async (i, data) => {
        const e = template.entries[i];
        if (!keep || e.kind !== 'file') return;
        try {
          await keep(bytesToHex(e.checksum), data);
          keptNow++;
        } catch (error) {
          keepProblem ||= describeError(error);
        }
      },
    });
    // A SHA-256 template was compared with the expected SHA-256 when the .jigdo was opened; an MD5 one only now.
    if (request.expectedSha256 !== undefined && template.algorithm !== 'sha256') {
      const actual = await output.sha256();
      if (actual !== request.expectedSha256) throw builtImageMismatch(request.expectedSha256, actual, o.jigdo.image.filename);
    }
    await output.commit();
    post({
      type: 'done',
      summary: {
        digest: result.digest,
        algorithm: template.algorithm,
        bytesLocal: result.bytesLocal,
        bytesFetched: result.bytesFetched,
        requests: result.filesFetched,
        blocksRepaired: 0,
        fromScan: 0,
        seconds: (performance.now() - started) / 1000,
        hashing: output.hashing,
        expectedSha256Confirmed: request.expectedSha256 !== undefined,
        timings: { outputHash: output.busy.hash, outputWrite: output.busy.write, waitHash: output.busy.idle },
      },
    });
  } catch (error) {
    // Nothing unverified is left behind: the chosen file keeps its old content, an OPFS file is removed.
    await output.discard();
    throw withKeptFilesNote(error, keptNow + o.kept.length > 0, keepProblem);
  } finally {
    for (const seed of [...o.seeds, ...o.kept]) seed?.close();
  }
}

/** A failed download's error, saying what is kept in this browser and how to resume. */
function withKeptFilesNote(error: unknown, anyKept: boolean, keepProblem: string): unknown {
  if (!isTesseraError(error) || (!anyKept && !keepProblem)) return error;
  const note = anyKept
    ? '\n\nThe files fetched and verified so far are kept in this browser: Try again (or opening this .jigdo again) fetches only the rest.'
    : '';
  const problem = keepProblem ? `\n(Some fetched files could not be kept in this browser's storage: ${keepProblem}.)` : '';
  return new TesseraError(error.code, error.message + note + problem, error.details, { cause: error });
}

function need(): Opened {
  if (!opened) throw new Error('the jigdo worker was used before open');
  return opened;
}

/** Without a TesseraError's own code, a failure is put down to the step it happened in. */
const DEFAULT_CODE: Record<JigdoRequest['type'], ErrorCode> = { open: ErrorCode.ManifestUnavailable, match: ErrorCode.SeedRead, assemble: ErrorCode.OutputWrite };

let queue = Promise.resolve();
self.onmessage = (e: MessageEvent<JigdoRequest>) => {
  const request = e.data;
  queue = queue
    .then(() => (request.type === 'open' ? open(request) : request.type === 'match' ? match(request) : assemble(request)))
    .catch((error: unknown) => {
      post({
        type: 'error',
        code: isTesseraError(error) ? error.code : DEFAULT_CODE[request.type],
        message: error instanceof Error ? error.message : String(error),
      });
    });
};
