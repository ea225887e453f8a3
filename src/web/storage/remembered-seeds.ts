import { type UseStore, createStore, get, set } from 'idb-keyval';

/** A file or folder picked through the File System Access API, kept for the next visit. */
export interface RememberedSeed {
  handle: FileSystemFileHandle | FileSystemDirectoryHandle;
  addedAt: number;
}

const KEY = 'seeds';
let defaultStore: UseStore | undefined;
function store(): UseStore {
  defaultStore ??= createStore('tessera-seed-handles', 'handles');
  return defaultStore;
}

export async function listRememberedSeeds(cache = store()): Promise<RememberedSeed[]> {
  return (await get<RememberedSeed[]>(KEY, cache).catch(() => undefined)) ?? [];
}

/** Keep these handles (handles are structured-cloneable; the same entry is kept once). */
export async function rememberSeeds(handles: (FileSystemFileHandle | FileSystemDirectoryHandle)[], cache = store()): Promise<RememberedSeed[]> {
  const list = await listRememberedSeeds(cache);
  for (const handle of handles) {
    let known = false;
    for (const r of list) if (await r.handle.isSameEntry(handle)) known = true;
    if (!known) list.unshift({ handle, addedAt: Date.now() });
  }
  await set(KEY, list, cache).catch(() => {});
  return list;
}

export async function forgetSeed(index: number, cache = store()): Promise<RememberedSeed[]> {
  const list = await listRememberedSeeds(cache);
  list.splice(index, 1);
  await set(KEY, list, cache).catch(() => {});
  return list;
}

/**
 * Read access to a remembered handle: granted at once if the browser still
 * allows it, otherwise asked for (which needs a click: call this from one).
 */
export async function ensureReadPermission(handle: FileSystemHandle): Promise<boolean> {
  const h = handle as FileSystemHandle & {
    queryPermission?(d: { mode: 'read' }): Promise<PermissionState>;
    requestPermission?(d: { mode: 'read' }): Promise<PermissionState>;
  };
  if (!h.queryPermission) return true;
  if ((await h.queryPermission({ mode: 'read' })) === 'granted') return true;
  return (await h.requestPermission?.({ mode: 'read' })) === 'granted';
}
