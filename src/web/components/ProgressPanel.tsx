import { formatBytes, formatSeconds, percent } from '../../shared/format.ts';
import type { Progress } from '../controller.ts';

/** Step 4: the download under way. */
export function ProgressPanel({ progress, length, toFetch }: { progress: Progress; length: number; toFetch: number }) {
  const seconds = (performance.now() - progress.startedAt) / 1000;
  const rate = seconds > 0 ? progress.written / seconds : 0;
  const left = rate > 0 ? (length - progress.written) / rate : Infinity;
  return (
    <div data-testid="progress">
      <progress max={length} value={progress.written} class="overall" />
      <p>
        {percent(progress.written, length)} written · {formatBytes(progress.fetched)} of {formatBytes(toFetch)} downloaded ·{' '}
        {formatBytes(seconds > 0 ? progress.fetched / seconds : 0)}/s ·{' '}
        {progress.saving ? `verified; saving it to ${progress.saving}…` : progress.choosing ? 'verified; choose where to save it…' : progress.written >= length ? 'verifying…' : `${formatSeconds(left)} left`}
      </p>
      {progress.retries.length > 0 && (
        <ul class="retries">
          {progress.retries.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
