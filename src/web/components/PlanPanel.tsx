import type { JigdoPlan } from '../../core/jigdo/jigdo-plan.ts';
import type { DownloadPlan } from '../../core/plan.ts';
import { formatBytes, formatCount, percent } from '../../shared/format.ts';

/** Step 3: what the download will cost, before it starts. */
export function PlanPanel({ plan, length, scanning, canStart, onStart }: { plan: DownloadPlan | JigdoPlan | null; length: number; scanning: boolean; canStart: boolean; onStart: () => void }) {
  return (
    <section class="panel" data-testid="plan-panel">
      <h2>3. Plan</h2>
      {!plan || scanning ? (
        <p class="muted">{scanning ? 'Looking for the image’s blocks in your files…' : 'Load an image first.'}</p>
      ) : (
        <>
          <p class="plan" data-testid="plan-summary">
            <strong>{formatBytes(plan.bytesLocal)}</strong> from your files, <strong>{formatBytes(plan.bytesToFetch)}</strong> to download ({percent(plan.bytesToFetch, length)})
            {plan.requests > 0 ? `, in ${plan.requests} request${plan.requests === 1 ? '' : 's'}` : ''}.
          </p>
          {'bytesFromTemplate' in plan ? (
            <p class="muted" data-testid="plan-bytes">
              {formatCount(plan.bytesLocal)} bytes from {plan.filesLocal} of your files, {formatCount(plan.bytesFromTemplate)} bytes from the template (already
              downloaded), {formatCount(plan.bytesToFetch)} bytes to fetch as {plan.requests} whole file{plan.requests === 1 ? '' : 's'}.
            </p>
          ) : (
            <p class="muted" data-testid="plan-bytes">
              {formatCount(plan.bytesLocal)} bytes local ({formatBytes(plan.bytesZero)} of them zero padding), {formatCount(plan.bytesToFetch)} bytes to fetch.
            </p>
          )}
          <button type="button" class="primary" disabled={!canStart} onClick={onStart} data-testid="start">
            {plan.bytesToFetch === 0 ? 'Build the image' : 'Download and build the image'}
          </button>
        </>
      )}
    </section>
  );
}
