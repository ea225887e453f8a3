import { type UseStore, createStore, del, get, set } from 'idb-keyval';
import { type MirrorValidators, mergeValidators } from '../../core/file-validators.ts';

/**
 * The mirrors' ETag and Last-Modified from answers that verified, kept per
 * image between visits, as the downloaded data is: after a reload, a mirror
 * whose file was replaced since is named as such ("the file changed since
 * the last attempt") rather than said to send bad data. Forgotten once the
 * image is built.
 */
let defaultStore: UseStore | undefined;
function store(): UseStore {
  defaultStore ??= createStore('tessera-mirror-validators', 'validators');
  return defaultStore;
}

/** What earlier attempts kept for this image (`image`: its checksum key), or undefined. */
export async function readKeptValidators(image: string, kept = store()): Promise<MirrorValidators | undefined> {
  return get<MirrorValidators>(image, kept).catch(() => undefined);
}

/** Keep `seen` over what was kept before for this image. Storage trouble only costs a better message later: ignored. */
export async function keepValidators(image: string, seen: MirrorValidators, kept = store()): Promise<void> {
  const before = await readKeptValidators(image, kept);
  await set(image, mergeValidators(before, seen), kept).catch(() => {});
}

export async function forgetValidators(image: string, kept = store()): Promise<void> {
  await del(image, kept).catch(() => {});
}
