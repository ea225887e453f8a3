import { memo } from 'preact/compat';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { BlockMap } from './components/BlockMap.tsx';
import { ImagePanel } from './components/ImagePanel.tsx';
import { PlanPanel } from './components/PlanPanel.tsx';
import { ProgressPanel } from './components/ProgressPanel.tsx';
import { ResultPanel } from './components/ResultPanel.tsx';
import { SeedPanel } from './components/SeedPanel.tsx';
import { StoragePanel } from './components/StoragePanel.tsx';
import type { Controller } from './controller.ts';
import type { BuiltImage } from './storage/built-images.ts';

// Panels whose props are the same are not drawn again (progress redraws the page 4 times a second).
const Image = memo(ImagePanel);
const Seeds = memo(SeedPanel);
const Plan = memo(PlanPanel);
const Storage = memo(StoragePanel);

export function App({ controller }: { controller: Controller }) {
  const [, setTick] = useState(0);
  useEffect(() => controller.subscribe(() => setTick((t) => t + 1)), [controller]);
  useEffect(() => {
    // A download site can link straight to an image: ?manifest=URL, and say which one it must be: &sha256=HEX
    const params = new URLSearchParams(location.search);
    const sha256 = params.get('sha256');
    if (sha256) controller.setExpectedSha256(sha256);
    const url = params.get('manifest');
    if (url) void controller.loadManifestFromUrl(url);
  }, [controller]);

  const s = controller.state;
  const expected = useMemo(() => ({ sha256: s.expectedSha256, problem: s.expectedProblem }), [s.expectedSha256, s.expectedProblem]);
  const start = useCallback(() => void controller.start(), [controller]);
  const deletePartial = useCallback((image: string) => void controller.deletePartial(image), [controller]);
  const downloadBuilt = useCallback((image: BuiltImage) => void controller.downloadBuiltImage(image), [controller]);
  const deleteBuilt = useCallback((image: BuiltImage) => void controller.deleteBuiltImage(image), [controller]);
  const ready = s.image.status === 'ready' ? s.image : null;
  const jigdo = s.image.status === 'jigdo' ? s.image : null;
  const length = ready?.manifest.blocks.length ?? jigdo?.image.length ?? 0;
  return (
    <main>
      {s.update && (
        <div class="update" role="status" data-testid="update">
          A new version of Tessera is ready.{' '}
          {s.phase === 'downloading' ? (
            <span class="muted">It will be offered when this download is finished.</span>
          ) : (
            <button type="button" onClick={s.update}>Reload to update</button>
          )}
        </div>
      )}
      <header>
        <h1>Tessera</h1>
        <p class="muted">Build a large image from files you already have. Only the missing parts are downloaded, and the result is verified before it is saved.</p>
      </header>
      <Image image={s.image} probes={s.probes} saved={s.saved} expected={expected} controller={controller} />
      <Seeds
        seeds={s.seeds}
        enabled={!!(ready || jigdo || s.image.status === 'loading') && s.phase !== 'downloading' && s.phase !== 'done'}
        remembered={s.remembered}
        unrememberable={s.unrememberable}
        controller={controller}
      />
      <Plan plan={s.plan} length={length} scanning={s.phase === 'scanning'} canStart={s.phase === 'ready'} onStart={start} />
      {(ready || jigdo) && (
        <section class="panel" data-testid="status-panel">
          <h2>4. Progress</h2>
          <BlockMap states={controller.blockStates} version={controller.blockVersion} />
          {s.progress && s.phase === 'downloading' && <ProgressPanel progress={s.progress} length={length} toFetch={s.plan?.bytesToFetch ?? 0} />}
          <ResultPanel
            result={s.result}
            error={s.error}
            expectedSha256={s.expectedSha256}
            onRetry={s.phase === 'failed' ? () => void controller.retry() : undefined}
            unsaved={s.unsaved && { ...s.unsaved, onSaveAgain: () => void controller.saveAgain(), onDelete: () => void controller.deleteUnsaved() }}
            {...(jigdo ? { checkedAgainst: 'template', retryNote: 'The files already fetched and verified are kept and not downloaded again.' } : {})}
          />
        </section>
      )}
      <Storage partialWork={s.partialWork} builtImages={s.builtImages} saved={s.saved} onDelete={deletePartial} onDownloadBuilt={downloadBuilt} onDeleteBuilt={deleteBuilt} />
    </main>
  );
}
