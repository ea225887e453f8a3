import { type UseStore, createStore, get, set } from 'idb-keyval';

/** What scanning one seed file found: runs of target blocks and where in the file they are (finding-runs.ts). */
export interface ScanFindings {
  runs: Float64Array;
  savedAt: number;
}

let defaultStore: UseStore | undefined;
function store(): UseStore {
  defaultStore ??= createStore('tessera-scan-cache', 'findings');
  return defaultStore;
}

/**
 * The cache key: the image and its block size (findings are block numbers: one
 * image can have manifests of 2048- and 4096-byte blocks), and the file as the
 * browser describes it. A file that was changed has another size or
 * last-modified time, so it is scanned again. 2048-byte blocks keep the key of
 * earlier versions.
 */
export function scanCacheKey(imageSha256: string, file: { name: string; size: number; lastModified: number }, blockSize = 2048): string {
  return `${imageSha256}${blockSize === 2048 ? '' : `@${blockSize}`}|${file.name}|${file.size}|${file.lastModified}`;
}

export async function getScanFindings(key: string, cache = store()): Promise<ScanFindings | undefined> {
  const found = await get<ScanFindings>(key, cache).catch(() => undefined);
  // (Entries of earlier versions held a list of blocks and one of offsets: the file is scanned again.)
  return found?.runs instanceof Float64Array ? found : undefined;
}

export async function putScanFindings(key: string, findings: ScanFindings, cache = store()): Promise<void> {
  await set(key, findings, cache).catch(() => {}); // a full or missing IndexedDB only costs a rescan next time
}
