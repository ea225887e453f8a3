import { imageKey } from '../core/manifest/manifest.ts';
import { type BlockSources, FROM_NETWORK, FROM_OUTPUT } from '../core/block-sources.ts';
import { ErrorCode, describeError } from '../core/errors.ts';
import { checkDescribedImage, parseExpectedSha256 } from '../core/expected-sha256.ts';
import { decodeDescription } from '../core/decode-description.ts';
import type { JigdoPlan } from '../core/jigdo/jigdo-plan.ts';
import { looksLikeJigdo } from '../core/jigdo/open-jigdo.ts';
import type { Manifest } from '../core/manifest/manifest.ts';
import { type DownloadPlan, planDownload } from '../core/plan.ts';
import type { MirrorValidators } from '../core/file-validators.ts';
import { type MirrorProbe, probeMirrors } from '../core/probe-mirrors.ts';
import type { RebuildEvent } from '../core/rebuild.ts';
import { resolveMirrors } from '../core/rebuild.ts';
import { createFetchRangeFetcher } from '../platform/fetch-range-fetcher.ts';
import { formatBytes } from '../shared/format.ts';
import { explainAssemblyFailure, explainCopyError, explainNetworkError, explainStorageError } from './engine/explain-error.ts';
import type { AssembleReply, AssembleRequest, AssembleSummary, OutputTarget, SeedFile } from './engine/messages.ts';
import { ImageFile } from './engine/image-file.ts';
import { ScanPool } from './engine/scan-pool.ts';
import { type SavedManifestInfo, listSavedManifests, loadSavedManifest, saveManifest } from './storage/saved-manifests.ts';
import { getScanFindings, putScanFindings, scanCacheKey } from './storage/scan-cache.ts';
import { type PartialSpan, deletePartialWork, forgetRangeLogs, listPartialWork, partialLogFiles, rangeLogs, readPartialSpans } from './storage/partial-store.ts';
import { deleteKeptJigdoFiles, listKeptJigdoFiles } from './storage/kept-jigdo-files.ts';
import { type BuiltImage, deleteBuiltImage, listBuiltImages, recordUnrenamed, unrenamedFiles } from './storage/built-images.ts';
import { forgetValidators, keepValidators, readKeptValidators } from './storage/kept-validators.ts';
import { type RememberedSeed, ensureReadPermission, forgetSeed, listRememberedSeeds, rememberSeeds } from './storage/remembered-seeds.ts';
import { filesFromHandles } from './engine/pick-files.ts';
import { mixedContentProblem } from './engine/mixed-content.ts';
import type { JigdoImageInfo } from './engine/jigdo-messages.ts';
import { JIGDO_MAP_UNIT, JigdoFlow, type MatchCallbacks, explainJigdoFailure, markJigdoBlocks } from './jigdo-flow.ts';

export type ImageState =
  | { status: 'none' }
  | { status: 'loading'; from: string }
  | {
      status: 'ready';
      manifest: Manifest;
      source: string;
      /** Every mirror, as shown. */
      mirrors: string[];
      /** Mirrors this page cannot use (mixed content), with why; the download uses the others. */
      refused: MirrorProbe[];
      note?: string;
    }
  /** A Debian .jigdo (its template fetched and checked): handled by a JigdoFlow. */
  | { status: 'jigdo'; image: JigdoImageInfo; bytes: Uint8Array; source: string }
  | { status: 'error'; message: string };

export interface SeedEntry {
  name: string;
  size: number;
  file: File;
  state: 'queued' | 'scanning' | 'done' | 'skipped';
  scanned: number;
  /** Known from an earlier scan of the same, unchanged file: not read again. */
  fromCache?: boolean;
  /** Verified data kept from an interrupted download of this image (resume). */
  partial?: boolean;
  /** That data is in the image file itself (listed by range logs): a line of the list, not a file to read. */
  inImageFile?: boolean;
  note?: string;
}

export type Phase = 'setup' | 'scanning' | 'ready' | 'downloading' | 'done' | 'failed';

export interface Progress {
  written: number;
  fetched: number;
  startedAt: number;
  retries: string[];
  /** "Save as": the verified image is being copied into this file. */
  saving?: string;
  /** "Save as": the image is built and verified, and the save dialog is still open. */
  choosing?: boolean;
}

export interface AppState {
  image: ImageState;
  seeds: SeedEntry[];
  phase: Phase;
  plan: DownloadPlan | JigdoPlan | null;
  probes: MirrorProbe[] | null;
  progress: Progress | null;
  result: (AssembleSummary & { output: string; downloadUrl?: string }) | null;
  error: string | null;
  /** A new version of the page is installed and waiting: calling this activates it and reloads. */
  update: (() => void) | null;
  /** Manifests used before (kept in IndexedDB), newest first. */
  saved: SavedManifestInfo[];
  /** Files and folders picked before through File System Access, for one-click reuse. */
  remembered: RememberedSeed[];
  /** Some files were given in a way the browser cannot remember (file input, drop). */
  unrememberable: boolean;
  /** Verified data kept from interrupted downloads, per image. */
  partialWork: KeptWork[];
  /** Images built in the site's storage (no "Save as"), kept there until deleted. */
  builtImages: BuiltImage[];
  /**
   * The image was built and verified, but copying it into the chosen file
   * failed: it is kept in the site's storage until it is saved again or
   * deleted. `name` is the image's, `url` downloads the kept file.
   */
  unsaved: { name: string; url: string } | null;
  /** The SHA-256 the user expects (?sha256= or pasted), lowercase hex; a description of another image is refused. */
  expectedSha256: string | null;
  /** What the user pasted as expected SHA-256 holds none. */
  expectedProblem: string | null;
}

/** Verified data kept in this browser for one image: `image` is its checksum (the manifest's SHA-256, or a jigdo template's MD5 or SHA-256). */
export interface KeptWork {
  image: string;
  bytes: number;
  /** The image's name, when it was kept with the data. */
  name?: string;
}

/** The verified data kept for every image: downloaded blocks (manifests, .zsync) and fetched files (.jigdo). */
async function listKeptWork(): Promise<KeptWork[]> {
  const blocks = (await listPartialWork()).map((p) => ({ image: p.imageSha256, bytes: p.bytes }));
  const files = (await listKeptJigdoFiles()).map((k) => ({ image: k.imageChecksum, bytes: k.bytes, name: k.name }));
  return [...blocks, ...files];
}

/** For a storage shortage: what images built here earlier take (deleting them in "Kept in this browser" frees it). */
function builtHere(images: BuiltImage[]): string {
  if (images.length === 0) return '';
  const bytes = images.reduce((sum, i) => sum + i.bytes, 0);
  return `Images built here earlier take ${formatBytes(bytes)} of it (${images.map((i) => i.name).join(', ')}): delete those you have saved, under "Kept in this browser". `;
}

/** A verified image in the site's storage (`kept`: its file there) that could not be copied into the chosen file. */
interface UnsavedImage {
  kept: string;
  name: string;
  summary: AssembleSummary;
}

/**
 * The blocks a download verified into the image file (whole blocks within
 * `spans`, from range logs): already in the output, and final for its
 * verifier. Returns the bytes taken that had no source yet.
 */
function adoptSpans(manifest: Manifest, pool: ScanPool, file: ImageFile, spans: PartialSpan[]): number {
  const table = manifest.blocks;
  const bs = table.blockSize;
  const blocks: number[] = [];
  let kept = 0;
  for (const span of spans) {
    const end = span.start + span.length;
    for (let k = Math.ceil(span.start / bs); k * bs < end; k++) {
      if (Math.min(table.length, (k + 1) * bs) > end) break; // only whole blocks
      if (!pool.sources.set(k, FROM_OUTPUT, 0)) continue;
      blocks.push(k);
      kept += Math.min(bs, table.length - k * bs);
    }
  }
  if (blocks.length > 0) file.markFinal(Int32Array.from(blocks));
  return kept;
}

/** `seeds` with `bytes` more in the image file: added to its line, or a line of its own at the end (seed numbers stay). */
function withInImageFile(seeds: SeedEntry[], bytes: number): SeedEntry[] {
  const at = seeds.findIndex((s) => s.inImageFile);
  if (at < 0) return [...seeds, inImageFileEntry(bytes)];
  return seeds.map((s, i) => (i === at ? inImageFileEntry(s.size + bytes) : s));
}

/** The seed list's line for what is already in the image file from an earlier download (never read). */
function inImageFileEntry(bytes: number): SeedEntry {
  return { name: `verified earlier: ${formatBytes(bytes)} of this image (resuming)`, size: bytes, file: new File([], 'verified earlier'), state: 'done', scanned: bytes, partial: true, inImageFile: true };
}

/** A log's spans up to the first that does not fit in the image (a damaged record ends a log). */
function spansWithin(spans: PartialSpan[], length: number): PartialSpan[] {
  const bad = spans.findIndex((span) => span.start + span.length > length);
  return bad < 0 ? spans : spans.slice(0, bad);
}

/** Failures after which the image file is not worth keeping: it was built, and is not the image wanted. */
const BUILT_BUT_WRONG: readonly string[] = [ErrorCode.ChecksumMismatch, ErrorCode.ExpectedChecksumMismatch];

/** After a failed download: an image file whose downloaded ranges a range log lists is left for the next attempt, unless it was built and is wrong. */
async function leaveOrDelete(file: ImageFile | null, code?: string): Promise<void> {
  if (file?.shared && !BUILT_BUT_WRONG.includes(code ?? '')) await file.release();
  else await file?.discard();
}

/** A file of the site's storage (OPFS root), as a File to read. */
async function siteStorageFile(name: string): Promise<File> {
  return (await (await navigator.storage.getDirectory()).getFileHandle(name)).getFile();
}

/** Copy a file of the site's storage into a file the user chose; null, or what went wrong (the chosen file is then left as it was). */
async function copyKeptImage(kept: string, handle: FileSystemFileHandle): Promise<string | null> {
  let writable: FileSystemWritableFileStream | null = null;
  let built: File | null = null;
  try {
    built = await siteStorageFile(kept);
    writable = await handle.createWritable();
    await writable.write(built);
    await writable.close();
    return null;
  } catch (error) {
    await writable?.abort().catch(() => {});
    const readable = built ? await built.slice(0, 1).arrayBuffer().then(() => true, () => false) : false;
    return explainCopyError(error, `writing ${handle.name}`, readable);
  }
}

/**
 * The image built in place was kept as `file`: its own name `name`, or its
 * working name where the browser could not rename it. That one is recorded,
 * so that later visits list it and do not take it for a file left unfinished
 * (without IndexedDB they would: the image is then only offered in this tab).
 */
async function keptInPlace(file: string, name: string): Promise<OutputTarget> {
  if (file !== name) await recordUnrenamed(file, name).catch(() => {});
  return { kind: 'opfs', name: file };
}

/** The browser's "Save as" dialog (File System Access), where it has one. */
function savePicker(): ((options: { suggestedName: string }) => Promise<FileSystemFileHandle>) | undefined {
  const picker = (window as { showSaveFilePicker?: (options: { suggestedName: string }) => Promise<FileSystemFileHandle> }).showSaveFilePicker;
  return picker?.bind(window);
}

/** A URL that downloads a file of the site's storage; null if it cannot be read. */
async function keptFileUrl(name: string): Promise<string | null> {
  try {
    return URL.createObjectURL(await siteStorageFile(name));
  } catch {
    return null;
  }
}

async function removeFromSiteStorage(name: string): Promise<void> {
  await (await navigator.storage.getDirectory()).removeEntry(name).catch(() => {});
}

/** Names of the image files being built in the site's storage (see Controller.openImageFile). */
const IMAGE_FILE_PREFIX = '.tessera-building-';

/**
 * A request that receives nothing for this long is abandoned and retried:
 * the engine's default (30 s, as tessera get's --stall-timeout), unless the
 * page's `tesseraStallTimeoutMs` global says otherwise (tests set it in an
 * init script, to stall a mirror for seconds rather than a minute).
 */
function stallTimeoutMs(): number | undefined {
  const ms = (globalThis as { tesseraStallTimeoutMs?: unknown }).tesseraStallTimeoutMs;
  return typeof ms === 'number' && ms > 0 ? ms : undefined;
}

/**
 * Progress is drawn at most this often (state changes, such as the plan or
 * the result, at once). Every core is busy while the page scans and
 * downloads, and each render costs the page's main thread and the browser's
 * compositor: at 4 renders a second instead of 10 the whole run took 3.08 s
 * against 3.17 s (medians of 5 runs alternating, the Debian pair; faster in
 * 4), the browser's CPU 5.65 s against 5.71 s.
 */
const PROGRESS_RENDER_MS = 250;

/** The worker that downloads the missing ranges and completes the image (assemble-worker.ts). */
const assembleWorker = () => new Worker(new URL('./engine/assemble-worker.ts', import.meta.url), { type: 'module', name: 'assemble' });

/** Per-block states drawn by the block map. */
export const BlockState = { Missing: 0, Local: 1, Downloaded: 2, Written: 3 } as const;

/**
 * Everything the page does, apart from drawing it: load the manifest, scan
 * the user's files in workers, plan, and run the assembly worker. The UI
 * subscribes and re-renders on change.
 */
export class Controller {
  state: AppState = { image: { status: 'none' }, seeds: [], phase: 'setup', plan: null, probes: null, progress: null, result: null, error: null, update: null, saved: [], remembered: [], unrememberable: false, partialWork: [], builtImages: [], unsaved: null, expectedSha256: null, expectedProblem: null };
  /** One byte per block (BlockState), for the block map; `blockVersion` changes when it does. */
  blockStates = new Uint8Array(0);
  blockVersion = 0;
  private pool: ScanPool | null = null;
  /** The assembly worker for the next Start, started with the scan pool. */
  private assembler: Worker | null = null;
  /** Where the scan writes the blocks it finds (the site's storage), when there is room: see image-file-worker.ts. */
  private imageFile: ImageFile | null = null;
  /** The verified image kept in the site's storage because the copy into the chosen file failed. */
  private unsaved: UnsavedImage | null = null;
  private jigdo: JigdoFlow | null = null;
  /** Per image (imageKey), the ETag and Last-Modified each mirror's file had when first checked: a file replaced since is said to have changed. */
  private readonly firstSeen = new Map<string, MirrorValidators>();
  private listeners = new Set<() => void>();
  private scanning: Promise<void> = Promise.resolve();
  /** The image file of a failed download being left or deleted: "Try again" takes it up once it is closed. */
  private leaving: Promise<void> = Promise.resolve();
  private lastNotify = 0;
  private pendingNotify = false;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    this.notify(true);
  }

  /** Progress updates are frequent; coalesce them to a render every PROGRESS_RENDER_MS. */
  private notify(now = false): void {
    const t = performance.now();
    if (!now && t - this.lastNotify < PROGRESS_RENDER_MS) {
      if (!this.pendingNotify) {
        this.pendingNotify = true;
        setTimeout(() => {
          this.pendingNotify = false;
          this.notify(true);
        }, PROGRESS_RENDER_MS);
      }
      return;
    }
    this.lastNotify = t;
    for (const l of this.listeners) l();
  }

  constructor() {
    void this.refreshSaved();
  }

  private async refreshSaved(): Promise<void> {
    await this.refreshBuiltImages();
    try {
      this.set({ saved: await listSavedManifests(), remembered: await listRememberedSeeds(), partialWork: await listKeptWork() });
    } catch {
      // No IndexedDB (private mode in some browsers): nothing is remembered.
    }
  }

  /** The images built in the site's storage, listed again (none where the storage cannot be listed). */
  private async refreshBuiltImages(): Promise<void> {
    this.set({ builtImages: await listBuiltImages().catch(() => []) });
  }

  /** Download an image built here earlier (from "Kept in this browser"). */
  async downloadBuiltImage({ name, file }: BuiltImage): Promise<void> {
    try {
      const url = URL.createObjectURL(await siteStorageFile(file));
      const link = Object.assign(document.createElement('a'), { href: url, download: name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000); // (the download has its own reference by then)
    } catch (error) {
      this.set({ error: explainStorageError(error, `Reading ${name} from the browser storage`) });
    }
  }

  /** Delete an image built here earlier: it frees its room in the site's storage. */
  async deleteBuiltImage(image: BuiltImage): Promise<void> {
    const result = this.state.result;
    if (result?.output === image.name && result.downloadUrl) {
      URL.revokeObjectURL(result.downloadUrl);
      this.set({ result: { ...result, downloadUrl: undefined } });
    }
    await deleteBuiltImage(image).catch((error: unknown) => this.set({ error: explainStorageError(error, `Deleting ${image.name} from the browser storage`) }));
    await this.refreshBuiltImages();
  }

  /** Files picked through File System Access: used now, and remembered for the next visit. */
  addPickedSeeds(files: SeedFile[], handles: (FileSystemFileHandle | FileSystemDirectoryHandle)[]): void {
    this.addSeeds(files);
    void rememberSeeds(handles).then((remembered) => this.set({ remembered }), () => {});
  }

  /** Files given through an input element or a drop: the browser cannot keep them for next time. */
  addUnrememberedSeeds(files: SeedFile[]): void {
    this.addSeeds(files);
    if (files.length > 0) this.set({ unrememberable: true });
  }

  /** Use a remembered file or folder again (call from a click: the browser may ask for permission). */
  async useRemembered(index: number): Promise<void> {
    const entry = this.state.remembered[index];
    if (!entry) return;
    try {
      if (!(await ensureReadPermission(entry.handle))) {
        this.set({ error: `Permission to read ${entry.handle.name} was not given.` });
        return;
      }
      this.addSeeds(await filesFromHandles([entry.handle]));
    } catch (error) {
      this.set({ error: explainStorageError(error, `Reading ${entry.handle.name}`) });
    }
  }

  async forgetRemembered(index: number): Promise<void> {
    this.set({ remembered: await forgetSeed(index) });
  }

  /** The service worker has a new version; the page offers it (never during a download). */
  offerUpdate(activate: () => void): void {
    this.set({ update: activate });
  }

  /**
   * The SHA-256 the user expects, as pasted (a digest or a SHA256SUMS line);
   * empty clears it. An image already loaded is checked against it at once.
   */
  setExpectedSha256(text: string): void {
    if (!text.trim()) {
      this.set({ expectedSha256: null, expectedProblem: null });
      return;
    }
    try {
      this.set({ expectedSha256: parseExpectedSha256(text), expectedProblem: null });
    } catch (error) {
      this.set({ expectedSha256: null, expectedProblem: describeError(error) });
      return;
    }
    const image = this.state.image;
    if (image.status !== 'ready') return;
    try {
      checkDescribedImage(this.state.expectedSha256 ?? undefined, image.manifest.checksum, image.source);
    } catch (error) {
      this.dropWorkers();
      void this.dropImageFile();
      this.set({ image: { status: 'error', message: describeError(error) }, phase: 'setup', plan: null });
    }
  }

  async loadManifestFromUrl(url: string): Promise<void> {
    let absolute: string;
    try {
      absolute = new URL(url, location.href).href;
    } catch {
      this.set({ image: { status: 'error', message: `"${url}" is not a valid address` } });
      return;
    }
    this.set({ image: { status: 'loading', from: absolute } });
    let response: Response | undefined;
    let problem = '';
    try {
      response = await fetch(absolute, { cache: 'no-cache' });
      if (!response.ok) problem = `could not be loaded: HTTP ${response.status}`;
    } catch {
      problem = explainNetworkError(absolute, location.origin);
    }
    if (response && !problem) {
      await this.useManifest(new Uint8Array(await response.arrayBuffer()), response.url || absolute, true);
      return;
    }
    // No network (or the server is gone): a copy kept from an earlier visit will do.
    const saved = await loadSavedManifest(absolute).catch(() => undefined);
    if (saved) {
      const note = `The manifest could not be fetched now; using the copy kept from ${new Date(saved.info.savedAt).toLocaleString()}.`;
      await this.useManifest(saved.bytes, absolute, true, note);
      return;
    }
    this.set({ image: { status: 'error', message: `The manifest ${absolute} ${problem}.` } });
  }

  async loadManifestFromFile(file: File): Promise<void> {
    this.set({ image: { status: 'loading', from: file.name } });
    await this.useManifest(new Uint8Array(await file.arrayBuffer()), file.name, false);
  }

  private async useManifest(bytes: Uint8Array, source: string, isUrl: boolean, note?: string): Promise<void> {
    if (looksLikeJigdo(bytes)) return this.useJigdo(bytes, source, isUrl);
    let manifest: Manifest;
    try {
      // Cross-origin isolated, the block table goes into shared memory: one copy for every worker that gets the manifest.
      manifest = await decodeDescription(bytes, source, { shared: globalThis.crossOriginIsolated === true });
    } catch (error) {
      this.set({ image: { status: 'error', message: describeError(error) } });
      return;
    }
    // Fetched: a copy is kept for offline visits (the page holds the decoded manifest only).
    const save = isUrl && !note ? bytes : undefined;
    await this.openImage(manifest, source, isUrl, note, save);
  }

  /** Open a decoded manifest's image (again, for a retry): its image file, the scan of the seeds, the mirrors' check. */
  private async openImage(manifest: Manifest, source: string, isUrl: boolean, note: string | undefined, save?: Uint8Array): Promise<void> {
    let mirrors: string[];
    try {
      // Another image than the one the user asked for: refused before anything is scanned or fetched.
      checkDescribedImage(this.state.expectedSha256 ?? undefined, manifest.checksum, source);
      mirrors = resolveMirrors(manifest.mirrors, isUrl ? source : undefined);
    } catch (error) {
      this.set({ image: { status: 'error', message: describeError(error) } });
      return;
    }
    this.dropWorkers();
    this.jigdo?.terminate();
    this.jigdo = null;
    await this.dropImageFile();
    const opened = await this.openImageFile(manifest);
    this.imageFile = opened?.file ?? null;
    const refused = mirrors.flatMap((url): MirrorProbe[] => {
      const problem = mixedContentProblem(url, location.href);
      return problem ? [{ url, ok: false, problem }] : [];
    });
    const pool = new ScanPool(
      manifest,
      {
        key: (file, name) => scanCacheKey(imageKey(manifest.checksum), { name, size: file.size, lastModified: file.lastModified }, manifest.blocks.blockSize),
        get: getScanFindings,
        put: putScanFindings,
      },
      this.imageFile ?? undefined,
    );
    this.pool = pool;
    // Its script loads while the seeds are scanned, not after the click on Start.
    this.assembler = assembleWorker();
    this.blockStates = new Uint8Array(manifest.blocks.blockCount);
    // Resume: what an interrupted download of this image verified is used first: in the image file
    // taken up as it was (its range logs), or as a seed (data logs).
    const adopted = opened ? adoptSpans(manifest, pool, opened.file, opened.adoptedSpans) : 0;
    const inImageFile = adopted > 0 ? [inImageFileEntry(adopted)] : [];
    const resumed = [...inImageFile, ...(await this.partialSeeds(manifest, pool, inImageFile.length))];
    const others = this.state.seeds.filter((s) => !s.partial).map((s): SeedEntry => ({ ...s, state: 'queued', scanned: 0, fromCache: false }));
    this.set({
      image: { status: 'ready', manifest, source, mirrors, refused, note },
      seeds: [...resumed, ...others],
      phase: 'scanning',
      plan: null,
      probes: null,
      result: null,
      error: null,
      progress: null,
    });
    if (save) {
      const info = { url: source, name: manifest.name, length: manifest.blocks.length, sha256: imageKey(manifest.checksum), savedAt: Date.now() };
      void saveManifest(info, save).then(() => this.refreshSaved(), () => {});
    }
    // Check the mirrors while the user picks files: CORS and Range problems show before any download.
    const fetcher = createFetchRangeFetcher({ explainNetworkError: (url) => explainNetworkError(url, location.origin) });
    const usable = mirrors.filter((m) => !refused.some((r) => r.url === m));
    const seen = this.firstSeen.get(imageKey(manifest.checksum)) ?? {};
    this.firstSeen.set(imageKey(manifest.checksum), seen);
    probeMirrors(usable, fetcher, manifest.blocks.length, seen).then((probes) => {
      for (const p of probes) if (p.validators) seen[p.url] = { ...p.validators, ...seen[p.url] };
      this.set({ probes: [...refused, ...probes] });
    });
    // Scanning with no seed yet still finds the zero blocks, and gives a plan;
    // files given for another image are scanned again for this one.
    await this.rescan(others.map((s) => ({ file: s.file, name: s.name })));
  }

  /** A .jigdo: its worker fetches and checks the template, then matches the user's files as they are added. */
  private async useJigdo(bytes: Uint8Array, source: string, isUrl: boolean): Promise<void> {
    this.dropWorkers();
    await this.dropImageFile();
    this.jigdo?.terminate();
    this.jigdo = null;
    let flow: JigdoFlow;
    try {
      flow = await JigdoFlow.open(bytes, source, isUrl ? source : undefined);
      // Another image than the one the user asked for: refused before any file is read or fetched.
      try {
        checkDescribedImage(this.state.expectedSha256 ?? undefined, { algorithm: flow.image.algorithm, hex: flow.image.checksum }, source);
      } catch (error) {
        flow.terminate();
        throw error;
      }
    } catch (error) {
      this.set({ image: { status: 'error', message: describeError(error) } });
      return;
    }
    this.jigdo = flow;
    this.blockStates = new Uint8Array(Math.ceil(flow.image.length / JIGDO_MAP_UNIT));
    // Resume: files fetched by an earlier attempt at this image (matched by the worker) come first, as a seed.
    const { files, bytes: keptBytes, kept } = flow.resumed;
    const resumed: SeedEntry[] =
      files > 0
        ? [{ name: `verified earlier: ${files} file${files === 1 ? '' : 's'}, ${formatBytes(keptBytes)} of this image (resuming)`, size: keptBytes, file: new File(kept, 'kept'), state: 'done', scanned: keptBytes, partial: true }]
        : [];
    const others = this.state.seeds.filter((s) => !s.partial).map((s): SeedEntry => ({ ...s, state: 'queued', scanned: 0, fromCache: false }));
    this.set({ image: { status: 'jigdo', image: flow.image, bytes, source }, seeds: [...resumed, ...others], phase: 'scanning', plan: null, probes: null, result: null, error: null, progress: null });
    await this.rescan(others.map((s) => ({ file: s.file, name: s.name })));
  }

  /**
   * The file the scan writes the blocks it finds into, so they are not read
   * from the user's files a second time: in the site's storage, at the
   * image's size, and hashed as it becomes final. The image is completed in
   * it, then kept there (no "Save as") or copied into the file the user
   * chose. None when the storage has no room (or no OPFS): the page then
   * reads the files again and streams the image to its output.
   */
  private async openImageFile(manifest: Manifest): Promise<{ file: ImageFile; adoptedSpans: PartialSpan[] } | null> {
    if (!navigator.storage?.getDirectory) return null;
    await this.leaving.catch(() => {});
    const length = manifest.blocks.length;
    const root = await navigator.storage.getDirectory().catch(() => null);
    if (!root) return null;
    // Files left by a closed tab go first, unless a range log names them or they are built images the browser could
    // not rename (built-images.ts); one in use by another tab stays: it cannot be removed.
    const allLogs = await rangeLogs().catch(() => []);
    const named = new Set([...allLogs.map((l) => l.imageFileName), ...(await unrenamedFiles())]);
    for await (const name of (root as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> }).keys()) {
      if (name.startsWith(IMAGE_FILE_PREFIX) && !named.has(name)) await root.removeEntry(name).catch(() => {});
    }
    const sha = imageKey(manifest.checksum);
    let opened: { file: ImageFile | null } | null = null;
    let adoptedSpans: PartialSpan[] = [];
    // An interrupted visit's image file, with the downloaded ranges its range logs list, is taken up as it is (not in another tab).
    const logs = allLogs
      .filter((l) => l.imageSha256 === sha)
      .map((l) => ({ ...l, spans: spansWithin(l.spans, length) }));
    for (const name of new Set(logs.map((l) => l.imageFileName))) {
      const tried = await ImageFile.open(name, length, { adopt: true }).catch(() => ({ file: null }));
      if (!tried.file) continue;
      opened = tried;
      if (tried.file.adopted) adoptedSpans = logs.filter((l) => l.imageFileName === name).flatMap((l) => l.spans);
      else await forgetRangeLogs(sha, name); // (not of the image's length: emptied, and used as a new file)
      break;
    }
    if (!opened) {
      const estimate = await navigator.storage.estimate?.().catch(() => undefined);
      if (estimate?.quota !== undefined && estimate.quota - (estimate.usage ?? 0) < length) return null;
      // A name of its own: where workers share the file (shared-access.ts), a second tab on the same image must not open this one.
      const name = `${IMAGE_FILE_PREFIX}${sha.slice(0, 16)}-${crypto.randomUUID().slice(0, 8)}`;
      opened = await ImageFile.open(name, length).catch(() => ({ file: null }));
    }
    if (!opened.file) return null;
    // The image will be built in place: hash it as it becomes final (between scans: see rescan).
    opened.file.verify(this.verification(manifest));
    return { file: opened.file, adoptedSpans };
  }

  /** How the image file is verified when the image is built in place (it depends on the SHA-256 the user gave). */
  private verification(manifest: Manifest) {
    const algorithm = manifest.checksum.algorithm;
    return { algorithm, chain: manifest.sha256Chain, alsoSha256: this.state.expectedSha256 !== null && algorithm !== 'sha256', blockSize: manifest.blocks.blockSize };
  }

  /** Another image (or the same one again) is opened: the scan pool and the assembly worker started with it go. */
  private dropWorkers(): void {
    this.pool?.terminate();
    this.pool = null;
    this.assembler?.terminate();
    this.assembler = null;
  }

  /** Another image (or the same one again) is opened: the image file, and a verified image left unsaved, go. */
  private async dropImageFile(): Promise<void> {
    const file = this.imageFile;
    this.imageFile = null;
    // An interrupted visit's file taken up holds its downloaded ranges: left for a later visit.
    await (file?.adopted ? file.release() : file?.discard());
    await this.deleteUnsaved();
  }

  /** The ranges the range logs of `file` list (a download stopped in this tab verified them into it). */
  private async rangesWrittenInto(file: ImageFile, manifest: Manifest): Promise<PartialSpan[]> {
    // (A log is read through a snapshot, which its writer's handle, let go as the stopped worker ends, does not lock.)
    const logs = await rangeLogs(imageKey(manifest.checksum)).catch(() => []);
    return logs.filter((l) => l.imageFileName === file.name).flatMap((l) => spansWithin(l.spans, file.length));
  }

  /** Seeds for the verified data kept from interrupted downloads of this image, merged into the pool; the first is seed number `first`. */
  private async partialSeeds(manifest: Manifest, pool: ScanPool, first: number): Promise<SeedEntry[]> {
    const table = manifest.blocks;
    const bs = table.blockSize;
    const entries: SeedEntry[] = [];
    for (const log of await partialLogFiles(imageKey(manifest.checksum)).catch(() => [])) {
      const seed = first + entries.length;
      let kept = 0;
      for (const span of await readPartialSpans(log, table.length)) {
        const end = span.start + span.length;
        for (let k = span.start / bs; k * bs < end; k++) {
          if (Math.min(table.length, (k + 1) * bs) > end) break; // only whole blocks
          if (pool.sources.set(k, seed, span.offset + (k * bs - span.start))) kept += Math.min(bs, table.length - k * bs);
        }
      }
      if (kept === 0) continue;
      entries.push({ name: `verified earlier: ${formatBytes(kept)} of this image (resuming)`, size: log.size, file: log, state: 'done', scanned: log.size, partial: true });
    }
    return entries;
  }

  /**
   * After a failed download (a lost network, say): open the image again. The
   * verified part of the failed attempt is kept, so only the rest is fetched,
   * and unchanged seeds come from the scan cache.
   */
  async retry(): Promise<void> {
    const image = this.state.image;
    if ((image.status !== 'ready' && image.status !== 'jigdo') || this.state.phase !== 'failed') return;
    const isUrl = /^https?:/.test(image.source);
    if (image.status === 'jigdo') await this.useManifest(image.bytes, image.source, isUrl);
    else await this.openImage(image.manifest, image.source, isUrl, image.note);
  }

  /** Delete the verified data kept for an image (`image`: its checksum, as in KeptWork). */
  async deletePartial(image: string, { built = false } = {}): Promise<void> {
    // (Once the image is built, its image file is the image: only the logs go.)
    await deletePartialWork(image, { imageFiles: !built });
    await deleteKeptJigdoFiles(image);
    await forgetValidators(image);
    this.set({ partialWork: await listKeptWork() });
  }

  addSeeds(files: SeedFile[]): void {
    const status = this.state.image.status;
    if ((status !== 'ready' && status !== 'jigdo' && status !== 'loading') || files.length === 0) return;
    const known = new Set(this.state.seeds.map((s) => `${s.name}:${s.size}`));
    const fresh = files.filter((f) => f.file.size > 0 && !known.has(`${f.name}:${f.file.size}`));
    if (fresh.length === 0) return;
    const entries: SeedEntry[] = fresh.map((f) => ({ name: f.name, size: f.file.size, file: f.file, state: 'queued', scanned: 0 }));
    if (status === 'loading') {
      // Files picked while the image is being loaded wait for it: useManifest (or useJigdo) scans them then.
      this.set({ seeds: [...this.state.seeds, ...entries] });
      return;
    }
    // 'scanning' at once: the plan shown until now no longer holds, and Start must not be pressed on it.
    this.set({ seeds: [...this.state.seeds, ...entries], phase: 'scanning', plan: null });
    void this.rescan(fresh);
  }

  private rescan(fresh: SeedFile[]): Promise<void> {
    const first = this.state.seeds.length - fresh.length;
    this.scanning = this.scanning.then(async () => {
      const pool = this.pool;
      const image = this.state.image;
      const jigdo = image.status === 'jigdo' ? this.jigdo : null;
      if (!jigdo && (!pool || image.status !== 'ready')) return;
      this.set({ phase: 'scanning' });
      const update = (i: number, patch: Partial<SeedEntry>) => {
        const seeds = this.state.seeds.slice();
        seeds[i] = { ...seeds[i], ...patch };
        this.state = { ...this.state, seeds };
        this.notify();
      };
      const callbacks: MatchCallbacks = {
        onProgress: (seed, bytes) => update(seed, { state: 'scanning', scanned: bytes }),
        onSeedDone: (seed, fromCache) => update(seed, { state: 'done', scanned: this.state.seeds[seed].size, fromCache }),
        onSeedSkipped: (seed, reason) => update(seed, { state: 'skipped', note: `skipped: ${reason}` }),
      };
      if (jigdo) return this.matchJigdo(jigdo, fresh, first, callbacks);
      if (!pool || image.status !== 'ready') return; // (not reached: checked above)
      performance.mark('tessera:scan-start');
      // The scan has a worker on every core: the image file's hashing waits for the plan.
      const file = this.imageFile;
      file?.holdHashing(true);
      try {
        await pool.scan(fresh, first, callbacks);
      } catch (error) {
        this.set({ phase: 'failed', error: `Scanning failed: ${describeError(error)}` });
        return;
      } finally {
        file?.holdHashing(false);
      }
      performance.mark('tessera:scan-merged', { detail: { ...pool.stats } });
      this.refreshBlockStates(pool.sources);
      this.set({ phase: 'ready', plan: planDownload(image.manifest.blocks, pool.sources) });
      performance.mark('tessera:scan-end');
    });
    return this.scanning;
  }

  /** Match files to a .jigdo's files (in its worker): by size, rsync64, then checksum. */
  private async matchJigdo(flow: JigdoFlow, fresh: SeedFile[], first: number, callbacks: MatchCallbacks): Promise<void> {
    try {
      const { plan, missing } = await flow.match(fresh, first, callbacks);
      markJigdoBlocks(this.blockStates, missing, BlockState.Local, BlockState.Missing);
      this.blockVersion++;
      this.set({ phase: 'ready', plan });
    } catch (error) {
      this.set({ phase: 'failed', error: `Looking for the image's files failed: ${describeError(error)}` });
    }
  }

  private refreshBlockStates(sources: BlockSources): void {
    for (let k = 0; k < sources.blockCount; k++) this.blockStates[k] = sources.seed[k] === FROM_NETWORK ? BlockState.Missing : BlockState.Local;
    this.blockVersion++;
  }

  /** Choose where to save, then build the image. Must be called from a click (the save picker needs it). */
  async start(): Promise<void> {
    performance.mark('tessera:start'); // (the benchmark leaves out the time the plan waited for this click)
    const image = this.state.image;
    const plan = this.state.plan;
    if (image.status === 'jigdo' && this.jigdo && plan && this.state.phase === 'ready') return this.startJigdo(this.jigdo, image.image);
    const pool = this.pool;
    if (image.status !== 'ready' || !plan || !pool || this.state.phase !== 'ready') return;
    // Left out: mirrors this page cannot use, and those whose file has changed since they were first checked.
    const unusable = [...image.refused, ...(this.state.probes ?? []).filter((p) => p.changed)];
    const mirrors = image.mirrors.filter((m) => !unusable.some((r) => r.url === m));
    if (mirrors.length === 0 && plan.bytesToFetch > 0) {
      const why = unusable.map((r) => `${r.url}: ${r.problem}`).join('\n');
      this.set({ phase: 'failed', error: `${formatBytes(plan.bytesToFetch)} must be downloaded, but no mirror of this image can be used from this page:\n${why}` });
      return;
    }
    // (Read while the output is chosen.)
    const earlier = readKeptValidators(imageKey(image.manifest.checksum));
    // The image file the scan wrote into is completed in place; with "Save as" the
    // verified image is then copied into the chosen file, which so only ever receives
    // verified bytes. So the download starts while the save dialog is open, as a
    // browser's own downloads do. Without an image file (no room in the site's storage)
    // the assembly streams the image to the output, reading the seeds again: the
    // output comes first.
    const file = this.imageFile;
    const choosing = this.chooseOutput(image.manifest.name, image.manifest.blocks.length); // (opens the dialog: before any await)
    const whileChoosing = file !== null && savePicker() !== undefined;
    const chosen = whileChoosing ? null : await choosing;
    if (!whileChoosing && !chosen) return;
    this.imageFile = null;
    this.set({ phase: 'downloading', error: null, progress: { written: 0, fetched: 0, startedAt: performance.now(), retries: [] } });
    if (file) {
      const how = this.verification(image.manifest);
      if (file.verifying !== `${how.algorithm}:${how.alsoSha256}`) file.verify(how);
    }
    const ports = file ? [file.connect()] : [];
    const earlierValidators = await earlier;
    const worker = this.assembler ?? assembleWorker();
    this.assembler = null;
    const request: AssembleRequest = {
      type: 'assemble',
      manifest: image.manifest,
      seeds: this.state.seeds.map((s) => ({ file: s.file, name: s.name })),
      seedOf: pool.sources.seed.slice(),
      offsetOf: pool.sources.offset.slice(),
      mirrors,
      output: file ? { kind: 'image-file', name: file.name, port: ports[0], shared: file.shared } : chosen!.output,
      expectedSha256: this.state.expectedSha256 ?? undefined,
      staged: file ? pool.staged.slice() : undefined,
      stallTimeoutMs: stallTimeoutMs(),
      validators: this.firstSeen.get(imageKey(image.manifest.checksum)),
      earlierValidators,
    };
    // The scan workers are not needed while the image is built: what they hold goes (a later scan starts them again).
    pool.release();
    let built = false;
    let decided = !whileChoosing;
    let over = false;
    const finished = new Promise<void>((resolveFinished) => {
      const resolve = () => {
        over = true;
        resolveFinished();
      };
      if (whileChoosing) {
        void choosing.then(async (output) => {
          decided = true;
          if (output || built || over) return;
          // The dialog was closed before the image was built: the download stops and the plan is shown again, as
          // before Start. The image file keeps what the scan wrote, and what this download verified into it (its
          // range log lists that): the plan is what is left.
          over = true;
          worker.terminate();
          const kept = adoptSpans(image.manifest, pool, file, await this.rangesWrittenInto(file, image.manifest));
          this.imageFile = file;
          this.refreshBlockStates(pool.sources);
          this.set({ phase: 'ready', progress: null, seeds: kept > 0 ? withInImageFile(this.state.seeds, kept) : this.state.seeds, plan: planDownload(image.manifest.blocks, pool.sources) });
          resolve();
        });
      }
      worker.onmessage = (e: MessageEvent<AssembleReply>) => {
        const reply = e.data;
        if (reply.type === 'event') this.onEvent(reply.event);
        else if (reply.type === 'done') {
          built = true;
          const output = chosen?.output;
          if (file && (whileChoosing || output?.kind === 'file-handle')) {
            if (!decided) this.set({ progress: this.state.progress && { ...this.state.progress, choosing: true } });
            void file
              .keep(file.name) // (closed: the file can now be read)
              .then(async (kept) => {
                const unsaved = { kept, name: image.manifest.name, summary: reply.summary };
                const to = (await choosing)?.output;
                if (to?.kind !== 'file-handle') return this.offerUnsaved(unsaved, this.state.error ?? 'No file was chosen to save it into: the save dialog was closed.');
                this.set({ progress: this.state.progress && { ...this.state.progress, choosing: false, saving: to.handle.name } });
                return this.saveKept(unsaved, to.handle);
              })
              .catch((error: unknown) => this.set({ phase: 'failed', error: `The image could not be saved: ${describeError(error)}` }))
              .finally(resolve);
            return;
          }
          const kept = file && output?.kind === 'opfs' ? file.keep(output.name).then((name) => keptInPlace(name, output.name)) : Promise.resolve(output!);
          kept.then((where) => this.finish(reply.summary, where, chosen!.outputName)).then(resolve, (error: unknown) => {
            this.set({ phase: 'failed', error: explainStorageError(error, 'Keeping the image in the browser storage') });
            resolve();
          });
        } else {
          this.leaving = leaveOrDelete(file, reply.code);
          this.set({ phase: 'failed', error: explainAssemblyFailure(reply.code, reply.message) });
          void this.refreshSaved(); // the verified part it kept is listed
          resolve();
        }
      };
      worker.onerror = (e) => {
        this.leaving = leaveOrDelete(file);
        this.set({ phase: 'failed', error: `The download stopped: ${e.message}` });
        resolve();
      };
    });
    // (The copies made for it are handed over, not copied again.)
    const copies = [request.seedOf.buffer, request.offsetOf.buffer, ...(request.staged ? [request.staged.buffer] : [])];
    worker.postMessage(request, [...ports, ...copies]);
    file?.flushSoFar();
    await finished;
    worker.terminate();
  }

  /**
   * "Save as": copy the image, built and verified in the site's storage, into
   * the file the user chose (one write of the whole file, which the browser
   * streams), then delete it from the site's storage and show the result. If
   * the copy fails, the chosen file is left as it was and the verified image
   * stays in the site's storage, offered to be saved again, downloaded or
   * deleted (state `unsaved`): nothing built is lost.
   */
  private async saveKept(unsaved: UnsavedImage, handle: FileSystemFileHandle): Promise<void> {
    const problem = await copyKeptImage(unsaved.kept, handle);
    if (problem === null) {
      // Saved: the copy in the site's storage (and its download link) go, while the result is shown
      // (removing 686 MB took ~150 ms; a tab closed meanwhile leaves it to the next visit's clean-up).
      this.unsaved = unsaved;
      const deleted = this.deleteUnsaved();
      await this.finish(unsaved.summary, { kind: 'file-handle', handle }, handle.name);
      return deleted;
    }
    await this.offerUnsaved(unsaved, `The image could not be saved: ${problem}`);
  }

  /** A verified image not saved (`why`): it stays in the site's storage, offered to be saved again, downloaded or deleted. */
  private async offerUnsaved(unsaved: UnsavedImage, why: string): Promise<void> {
    const url = this.state.unsaved?.url ?? (await keptFileUrl(unsaved.kept));
    this.unsaved = url ? unsaved : null;
    this.set({ phase: 'failed', error: why, unsaved: url ? { name: unsaved.name, url } : null });
    void this.refreshSaved(); // the verified part of the download it kept is listed
  }

  /** "Save again" (from a click: it opens the save dialog): copy the kept verified image into a file the user picks. */
  async saveAgain(): Promise<void> {
    const unsaved = this.unsaved;
    if (!unsaved || this.state.phase !== 'failed') return;
    const chosen = await this.chooseOutput(unsaved.name, 0);
    if (!chosen || chosen.output.kind !== 'file-handle') return;
    this.set({ phase: 'downloading', error: null, progress: { written: 0, fetched: 0, startedAt: performance.now(), retries: [], saving: chosen.output.handle.name } });
    await this.saveKept(unsaved, chosen.output.handle);
  }

  /** Delete the kept verified image that could not be saved. */
  async deleteUnsaved(): Promise<void> {
    const unsaved = this.unsaved;
    this.unsaved = null;
    if (this.state.unsaved) URL.revokeObjectURL(this.state.unsaved.url);
    this.set({ unsaved: null });
    if (unsaved) {
      await removeFromSiteStorage(unsaved.kept);
      void this.refreshSaved(); // (what was downloaded into it is no longer listed as kept)
    }
  }

  /** A .jigdo's image: its worker fetches the missing files and writes the image (a failure leaves no output). */
  private async startJigdo(flow: JigdoFlow, image: JigdoImageInfo): Promise<void> {
    const chosen = await this.chooseOutput(image.name, image.length);
    if (!chosen) return;
    this.set({ phase: 'downloading', error: null, progress: { written: 0, fetched: 0, startedAt: performance.now(), retries: [] } });
    try {
      const summary = await flow.assemble(chosen.output, this.state.expectedSha256 ?? undefined, (event) => this.onEvent(event));
      await this.finish(summary, chosen.output, chosen.outputName);
    } catch (error) {
      this.set({ phase: 'failed', error: explainJigdoFailure(error) });
      void this.refreshSaved(); // the files it kept are listed
    }
  }

  /**
   * Where the image goes: a file the user picks ("Save as"), or else the
   * site's private storage if it has room. Null when the user cancelled or
   * there is no room (said in the state).
   */
  private async chooseOutput(name: string, length: number): Promise<{ output: OutputTarget; outputName: string } | null> {
    let output: OutputTarget;
    const picker = savePicker();
    if (picker) {
      try {
        output = { kind: 'file-handle', handle: await picker({ suggestedName: name }) };
      } catch (error) {
        if ((error as { name?: string }).name === 'AbortError') return null; // the user closed the dialog
        this.set({ error: explainStorageError(error, 'Choosing where to save') });
        return null;
      }
    } else {
      // No "Save as" in this browser: build in the origin's private storage, offer it once verified.
      const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
      const free = estimate?.quota !== undefined ? Math.max(0, estimate.quota - (estimate.usage ?? 0)) : undefined;
      // The image file the scan wrote into already holds the image's room; what is downloaded is kept
      // beside it until the image is verified (so that an interrupted download resumes).
      // (Where the assembly writes what it downloads straight into the image file, nothing is kept beside it.)
      const kept = this.imageFile?.shared ? 0 : (this.state.plan?.bytesToFetch ?? 0);
      const needed = (this.imageFile ? 0 : length) + kept;
      if (free !== undefined && free < needed) {
        const what = this.imageFile
          ? ` more (the ${formatBytes(kept)} to download, kept beside the image until it is verified so that an interruption loses nothing)`
          : kept > 0
            ? ` (the image, plus the ${formatBytes(kept)} to download, kept until the image is verified so that an interruption loses nothing)`
            : '';
        this.set({
          phase: 'failed',
          error: `Not enough storage: building the image here needs ${formatBytes(needed)}${what}, and this browser lets this site use ${formatBytes(free)} more. Nothing was downloaded. ${builtHere(this.state.builtImages)}Free disk space, or use a browser that can save directly to a folder (Chrome, Edge).`,
        });
        return null;
      }
      await navigator.storage?.persist?.().catch(() => false);
      output = { kind: 'opfs', name };
    }
    return { output, outputName: output.kind === 'file-handle' ? output.handle.name : name };
  }

  private onEvent(event: RebuildEvent): void {
    const progress = this.state.progress;
    if (!progress) return;
    const bs = this.state.image.status === 'ready' ? this.state.image.manifest.blocks.blockSize : JIGDO_MAP_UNIT;
    switch (event.type) {
      case 'progress': {
        const from = Math.floor(progress.written / bs);
        const to = Math.floor(event.bytesWritten / bs);
        this.blockStates.fill(BlockState.Written, from, to);
        this.blockVersion++;
        this.state = { ...this.state, progress: { ...progress, written: event.bytesWritten, fetched: event.bytesFetched } };
        this.notify();
        break;
      }
      case 'range-fetched':
        for (let k = Math.floor(event.start / bs); k < Math.ceil(event.end / bs); k++) {
          if (this.blockStates[k] !== BlockState.Written) this.blockStates[k] = BlockState.Downloaded;
        }
        this.blockVersion++;
        this.notify();
        break;
      case 'seed-skipped': {
        // Changed or removed since the scan: the assembly leaves it out and downloads its part instead.
        const seeds = this.state.seeds.map((s): SeedEntry => (s.name === event.seed ? { ...s, state: 'skipped', note: `skipped: ${event.reason}` } : s));
        this.set({ seeds });
        break;
      }
      case 'plan':
        // The plan the assembly follows (seeds were left out): what it fetches is shown as missing, and counted.
        for (const r of event.plan.ranges) {
          for (let k = Math.floor(r.start / bs); k < Math.ceil(r.end / bs); k++) if (this.blockStates[k] === BlockState.Local) this.blockStates[k] = BlockState.Missing;
        }
        this.blockVersion++;
        this.set({ plan: event.plan });
        break;
      case 'validators':
        // Kept with the downloaded data: after a reload they tell a replaced file from bad data.
        if (this.state.image.status === 'ready') void keepValidators(imageKey(this.state.image.manifest.checksum), event.validators);
        break;
      case 'retry':
      case 'repair': {
        const line = event.type === 'retry' ? `${event.mirror}: ${event.problem} (retrying)` : `${event.seed}: ${event.reason}; downloading that part instead`;
        this.state = { ...this.state, progress: { ...progress, retries: [...progress.retries.slice(-4), line] } };
        this.notify();
        break;
      }
    }
  }

  private async finish(summary: AssembleSummary, output: OutputTarget, outputName: string): Promise<void> {
    let downloadUrl: string | undefined;
    if (output.kind === 'opfs') downloadUrl = URL.createObjectURL(await siteStorageFile(output.name));
    this.blockStates.fill(BlockState.Written);
    this.blockVersion++;
    this.set({ phase: 'done', result: { ...summary, output: outputName, downloadUrl } });
    if (output.kind === 'opfs') void this.refreshBuiltImages();
    // When the result was on screen (after the frame that paints it): the benchmark's end of the run.
    requestAnimationFrame(() => setTimeout(() => performance.mark('tessera:result-shown')));
    // Built and verified: the partial work kept for it is no longer needed.
    const image = this.state.image;
    if (image.status === 'ready') await this.deletePartial(imageKey(image.manifest.checksum), { built: true });
    else if (image.status === 'jigdo') await this.deletePartial(image.image.checksum, { built: true });
  }
}
