import { formatBytes } from '../../shared/format.ts';
import type { KeptWork } from '../controller.ts';
import type { BuiltImage } from '../storage/built-images.ts';
import type { SavedManifestInfo } from '../storage/saved-manifests.ts';

/** What this browser keeps for Tessera that takes room: images built here, verified data of interrupted downloads. */
export function StoragePanel({
  partialWork,
  builtImages,
  saved,
  onDelete,
  onDownloadBuilt,
  onDeleteBuilt,
}: {
  partialWork: KeptWork[];
  builtImages: BuiltImage[];
  saved: SavedManifestInfo[];
  onDelete: (image: string) => void;
  onDownloadBuilt: (image: BuiltImage) => void;
  onDeleteBuilt: (image: BuiltImage) => void;
}) {
  if (partialWork.length === 0 && builtImages.length === 0) return null;
  return (
    <section class="panel" data-testid="storage-panel">
      <h2>Kept in this browser</h2>
      {builtImages.length > 0 && (
        <>
          <p class="muted">Images built here. Each takes its full size of the room this browser gives the site: delete those you have saved.</p>
          <ul class="saved">
            {builtImages.map((b) => (
              <li key={b.file} data-testid="built-image">
                <span>{b.name}</span>
                <span class="muted">{formatBytes(b.bytes)}</span>
                <button type="button" onClick={() => onDownloadBuilt(b)}>
                  Download
                </button>
                <button type="button" onClick={() => onDeleteBuilt(b)}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {partialWork.length > 0 && (
        <>
          <p class="muted">Verified parts of interrupted downloads, used to resume them (opening the same image again resumes it).</p>
          <ul class="saved">
            {partialWork.map((p) => (
              <li key={p.image} data-testid="partial-work">
                <span>{p.name ?? saved.find((s) => s.sha256 === p.image)?.name ?? `image ${p.image.slice(0, 12)}…`}</span>
                <span class="muted">{formatBytes(p.bytes)}</span>
                <button type="button" onClick={() => onDelete(p.image)}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
