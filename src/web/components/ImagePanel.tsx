import { checksumName } from '../../core/manifest/manifest.ts';
import { useEffect, useState } from 'preact/hooks';
import { formatBytes, formatCount } from '../../shared/format.ts';
import type { Controller, ImageState } from '../controller.ts';
import type { MirrorProbe } from '../../core/probe-mirrors.ts';
import type { SavedManifestInfo } from '../storage/saved-manifests.ts';
import { JigdoFacts } from './JigdoFacts.tsx';

/** Step 1: which image. From ?manifest=URL, a URL typed in, or a manifest file (.tessera, .zsync or .jigdo). */
export function ImagePanel({
  image,
  probes,
  saved,
  expected,
  controller,
}: {
  image: ImageState;
  probes: MirrorProbe[] | null;
  saved: SavedManifestInfo[];
  expected: { sha256: string | null; problem: string | null };
  controller: Controller;
}) {
  const [url, setUrl] = useState('');
  const [pasted, setPasted] = useState(expected.sha256 ?? '');
  // Show the address of a manifest loaded from the page's own address (?manifest=).
  useEffect(() => {
    if (image.status === 'loading' && /^https?:/.test(image.from)) setUrl(image.from);
  }, [image.status === 'loading' ? image.from : '']);
  const ready = image.status === 'ready' ? image : null;
  return (
    <section class="panel" data-testid="image-panel">
      <h2>1. Image</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (url.trim()) void controller.loadManifestFromUrl(url.trim());
        }}
      >
        <input type="url" placeholder="URL of a .tessera manifest, a .zsync or a .jigdo file" value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} aria-label="Manifest URL" />
        <button type="submit">Load</button>
        <label class="button secondary">
          Open a .tessera, .zsync or .jigdo file…
          <input type="file" accept=".tessera,.zsync,.jigdo" hidden data-testid="manifest-file" onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void controller.loadManifestFromFile(f);
          }} />
        </label>
      </form>
      <p class="row">
        <label>
          Expected SHA-256 (optional, from the distribution's SHA256SUMS):{' '}
          <input
            type="text"
            class="mono"
            size={66}
            placeholder="paste the image's SHA-256 or its SHA256SUMS line"
            value={pasted || expected.sha256 || ''}
            data-testid="expected-sha256"
            onInput={(e) => setPasted((e.target as HTMLInputElement).value)}
            onChange={(e) => controller.setExpectedSha256((e.target as HTMLInputElement).value)}
          />
        </label>
      </p>
      {expected.problem && <p class="error" role="alert" data-testid="expected-problem">{expected.problem}</p>}
      {image.status === 'none' && saved.length > 0 && (
        <div data-testid="saved-manifests">
          <p class="muted">Images used before (kept in this browser, usable without a network):</p>
          <ul class="saved">
            {saved.map((m) => (
              <li key={m.url}>
                <button type="button" onClick={() => void controller.loadManifestFromUrl(m.url)}>Open</button>
                <span>{m.name}</span> <span class="muted">{formatBytes(m.length)}</span> <span class="muted mono">{m.url}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      {image.status === 'loading' && <p class="muted">Loading {image.from}…</p>}
      {image.status === 'error' && <p class="error" role="alert">{image.message}</p>}
      {ready?.note && <p class="muted" data-testid="image-note">{ready.note}</p>}
      {image.status === 'jigdo' && <JigdoFacts image={image.image} />}
      {ready && (
        <dl class="facts" data-testid="image-facts">
          <dt>Name</dt>
          <dd data-testid="image-name">{ready.manifest.name}</dd>
          <dt>Size</dt>
          <dd>{formatBytes(ready.manifest.blocks.length)} ({formatCount(ready.manifest.blocks.length)} bytes)</dd>
          <dt>{checksumName(ready.manifest.checksum.algorithm)}</dt>
          <dd class="mono">{ready.manifest.checksum.hex}</dd>
          <dt>Mirrors</dt>
          <dd>
            <ul class="mirrors">
              {ready.mirrors.map((m) => {
                const probe = probes?.find((p) => p.url === m);
                return (
                  <li key={m} data-testid="mirror">
                    <span class="mono">{m}</span>{' '}
                    {!probe ? <span class="muted">checking…</span> : probe.ok ? <span class="ok">✓ Range and CORS work</span> : <span class="error" data-testid="mirror-problem">✗ {probe.problem}</span>}
                  </li>
                );
              })}
            </ul>
          </dd>
        </dl>
      )}
    </section>
  );
}
