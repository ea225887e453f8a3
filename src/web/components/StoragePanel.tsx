import { formatBytes } from '../../shared/format.ts';
import type { KeptWork } from '../controller.ts';
import type { SavedManifestInfo } from '../storage/saved-manifests.ts';

/** What this browser keeps for Tessera that takes room: verified data of interrupted downloads. */
export function StoragePanel({ partialWork, saved, onDelete }: { partialWork: KeptWork[]; saved: SavedManifestInfo[]; onDelete: (image: string) => void }) {
  if (partialWork.length === 0) return null;
  return (
    <section class="panel" data-testid="storage-panel">
      <h2>Kept in this browser</h2>
      <p class="muted">Verified parts of interrupted downloads, used to resume them (opening the same image again resumes it).</p>
      <ul class="saved">
        {partialWork.map((p) => (
          <li key={p.image} data-testid="partial-work">
            <span>{p.name ?? saved.find((s) => s.sha256 === p.image)?.name ?? `image ${p.image.slice(0, 12)}…`}</span>
            <span class="muted">{formatBytes(p.bytes)}</span>
            <button type="button" onClick={() => onDelete(p.image)}>Delete</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
