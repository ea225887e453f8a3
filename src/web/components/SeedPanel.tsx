import { useState } from 'preact/hooks';
import { formatBytes } from '../../shared/format.ts';
import type { Controller, SeedEntry } from '../controller.ts';
import type { SeedFile } from '../engine/messages.ts';
import type { RememberedSeed } from '../storage/remembered-seeds.ts';
import { filesFromDrop, filesFromInput, hasFilePickers, pickFiles, pickFolder } from '../engine/pick-files.ts';

/** Step 2: the user's old files. Scanning starts as soon as they are added. */
export function SeedPanel({ seeds, enabled, remembered, unrememberable, controller }: { seeds: SeedEntry[]; enabled: boolean; remembered: RememberedSeed[]; unrememberable: boolean; controller: Controller }) {
  const [dragging, setDragging] = useState(false);
  const ignoreCancel = (error: unknown) => {
    if ((error as { name?: string }).name !== 'AbortError') console.warn(error);
  };
  /** Files from an input element or a drop: usable now, not rememberable. */
  const add = (files: Promise<SeedFile[]> | SeedFile[]) => Promise.resolve(files).then((f) => controller.addUnrememberedSeeds(f), ignoreCancel);
  /** Files from the File System Access pickers: remembered for next time. */
  const pick = (picked: Promise<{ files: SeedFile[]; handles: (FileSystemFileHandle | FileSystemDirectoryHandle)[] }>) =>
    picked.then((p) => controller.addPickedSeeds(p.files, p.handles), ignoreCancel);
  return (
    <section
      class={`panel drop ${dragging ? 'dragging' : ''}`}
      data-testid="seed-panel"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        if (enabled && e.dataTransfer) void add(filesFromDrop(e.dataTransfer));
      }}
    >
      <h2>2. Your old files</h2>
      <p class="muted">An older version of the image, or a folder of packages it contains. They are only read, never changed or uploaded. You can also drop files and folders here.</p>
      <div class="row">
        {hasFilePickers ? (
          <>
            <button type="button" disabled={!enabled} onClick={() => void pick(pickFiles())}>Add files…</button>
            <button type="button" disabled={!enabled} onClick={() => void pick(pickFolder())}>Add folder…</button>
          </>
        ) : (
          <>
            <label class={`button ${enabled ? '' : 'disabled'}`}>Add files…<input type="file" multiple hidden disabled={!enabled} onChange={(e) => void add(filesFromInput(e.target as HTMLInputElement))} /></label>
            <label class={`button ${enabled ? '' : 'disabled'}`}>Add folder…<input type="file" hidden disabled={!enabled} {...{ webkitdirectory: true }} onChange={(e) => void add(filesFromInput(e.target as HTMLInputElement))} /></label>
          </>
        )}
        {/* Always present (hidden) so files can be given without the pickers, e.g. by automated tests. */}
        <input type="file" multiple hidden data-testid="seed-files" disabled={!enabled} onChange={(e) => void add(filesFromInput(e.target as HTMLInputElement))} />
        <input type="file" hidden data-testid="seed-folder" disabled={!enabled} {...{ webkitdirectory: true }} onChange={(e) => void add(filesFromInput(e.target as HTMLInputElement))} />
      </div>
      {remembered.length > 0 && (
        <div data-testid="remembered">
          <p class="muted">Used before:</p>
          <ul class="saved">
            {remembered.map((r, i) => (
              <li key={`${r.handle.name}-${r.addedAt}`}>
                <button type="button" disabled={!enabled} onClick={() => void controller.useRemembered(i)}>Use again</button>
                <span>{r.handle.kind === 'directory' ? '📁' : '📄'} {r.handle.name}</span>
                <button type="button" class="secondary" onClick={() => void controller.forgetRemembered(i)} aria-label={`Forget ${r.handle.name}`}>Forget</button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {unrememberable && (
        <p class="muted" data-testid="not-remembered">
          Files added this way cannot be remembered by the browser for your next visit{hasFilePickers ? ' (Add files… and Add folder… can)' : ' (only Chrome and Edge can keep access to files)'}.
        </p>
      )}
      {seeds.length > 0 && (
        <ul class="seeds" data-testid="seed-list">
          {seeds.map((s) => (
            <li key={s.name} data-state={s.state}>
              <span class="name" title={s.name}>{s.name}</span>
              <span class="size">{formatBytes(s.size)}</span>
              <progress max={s.size} value={s.scanned} />
              <span class={s.state === 'skipped' ? 'error' : 'muted'}>{s.state === 'skipped' ? s.note : s.state === 'done' ? (s.fromCache ? 'known from an earlier scan' : 'scanned') : s.state === 'scanning' ? 'scanning…' : 'waiting'}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
