import { type UseStore, createStore, del, get, getMany, keys, set } from 'idb-keyval';

/** What is listed of a manifest used before (the bytes are kept apart, read only when needed). */
export interface SavedManifestInfo {
  url: string;
  name: string;
  length: number;
  sha256: string;
  savedAt: number;
}

/** The two stores (idb-keyval gives one object store per database). */
export interface ManifestStores {
  info: UseStore;
  bytes: UseStore;
}

let defaults: ManifestStores | undefined;
/** The browser's own stores; tests may pass others. */
export function defaultManifestStores(): ManifestStores {
  defaults ??= { info: createStore('tessera-manifest-info', 'info'), bytes: createStore('tessera-manifest-bytes', 'bytes') };
  return defaults;
}

/** Keep a manifest that was loaded from `info.url`, so the image can be rebuilt later without a network. */
export async function saveManifest(info: SavedManifestInfo, bytes: Uint8Array, stores = defaultManifestStores()): Promise<void> {
  await set(info.url, bytes, stores.bytes);
  await set(info.url, info, stores.info);
}

export async function loadSavedManifest(url: string, stores = defaultManifestStores()): Promise<{ info: SavedManifestInfo; bytes: Uint8Array } | undefined> {
  const [info, bytes] = await Promise.all([get<SavedManifestInfo>(url, stores.info), get<Uint8Array>(url, stores.bytes)]);
  return info && bytes ? { info, bytes } : undefined;
}

/** Manifests used before, newest first. */
export async function listSavedManifests(stores = defaultManifestStores()): Promise<SavedManifestInfo[]> {
  const urls = (await keys(stores.info)) as string[];
  const infos = (await getMany<SavedManifestInfo>(urls, stores.info)).filter((i): i is SavedManifestInfo => !!i);
  return infos.sort((a, b) => b.savedAt - a.savedAt);
}

export async function forgetManifest(url: string, stores = defaultManifestStores()): Promise<void> {
  await del(url, stores.info);
  await del(url, stores.bytes);
}
