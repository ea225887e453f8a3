import { checksumName } from '../../core/manifest/manifest.ts';
import type { MirrorReport } from '../../core/range-downloader.ts';
import { formatBytes, formatCount, formatSeconds } from '../../shared/format.ts';
import type { AppState } from '../controller.ts';

/** The verified result, or what went wrong and what to do. */
export function ResultPanel({
  result,
  error,
  onRetry,
  checkedAgainst,
  expectedSha256,
  retryNote = 'What was already verified is kept and not downloaded again.',
  unsaved,
}: {
  result: AppState['result'];
  error: string | null;
  onRetry?: () => void;
  /** What the checksum came from (default: the manifest, or a .zsync control file). */
  checkedAgainst?: string;
  /** The SHA-256 the user gave: the result was checked against it too. */
  expectedSha256?: string | null;
  retryNote?: string;
  /** The image was built and verified but could not be copied into the chosen file: it is kept, to be saved again or deleted. */
  unsaved?: { name: string; url: string; onSaveAgain: () => void; onDelete: () => void } | null;
}) {
  if (error) {
    return (
      <div class="result failed" role="alert" data-testid="error">
        <h3>{unsaved ? 'The image was not saved' : 'The image was not built'}</h3>
        <p style="white-space: pre-wrap">{error}</p>
        {unsaved && (
          <div data-testid="unsaved">
            <p>The image itself was built and verified, and is kept in this browser until you save or delete it (opening an image again deletes it).</p>
            <p>
              <button type="button" class="primary" onClick={unsaved.onSaveAgain} data-testid="save-again">Save again…</button>{' '}
              <a class="button" href={unsaved.url} download={unsaved.name} data-testid="unsaved-link">Download {unsaved.name}</a>{' '}
              <button type="button" onClick={unsaved.onDelete} data-testid="delete-unsaved">Delete it</button>
            </p>
          </div>
        )}
        {onRetry && !unsaved && (
          <p>
            <button type="button" onClick={onRetry} data-testid="retry">Try again</button>{' '}
            <span class="muted">{retryNote}</span>
          </p>
        )}
      </div>
    );
  }
  if (!result) return null;
  return (
    <div class="result ok" data-testid="result">
      <h3>✓ Verified</h3>
      <p>
        <strong>{result.output}</strong>: {checksumName(result.algorithm)} <span class="mono" data-testid="result-checksum">{result.digest}</span> matches the {checkedAgainst ?? (result.algorithm === 'sha256' ? 'manifest' : 'control file')}.
        {expectedSha256 && result.expectedSha256Confirmed && <span data-testid="result-expected"> Its SHA-256 is the one you gave ({expectedSha256.slice(0, 16)}…).</span>}
      </p>
      <p class="muted" data-testid="result-figures" data-timings={JSON.stringify(result.timings)}>
        {formatBytes(result.bytesLocal)} from your files
        {result.fromScan > 0 && <span data-testid="result-from-scan" data-bytes={result.fromScan}> ({formatBytes(result.fromScan)} of it written while they were scanned)</span>}, {formatBytes(result.bytesFetched)} downloaded in {result.requests} requests, {formatSeconds(result.seconds)}.
        {result.hashing.segments > 1 && ` ${checksumName(result.algorithm)} checked in ${result.hashing.segments} segments on ${result.hashing.workers} threads.`}
      </p>
      {result.blocksRepaired > 0 && (
        <p class="muted" data-testid="result-repaired">
          {formatCount(result.blocksRepaired)} block{result.blocksRepaired === 1 ? '' : 's'} of your files could not be read again, or had changed since the scan; {result.blocksRepaired === 1 ? 'it was' : 'they were'} downloaded instead.
        </p>
      )}
      {result.skippedSeeds && result.skippedSeeds.length > 0 && (
        <div data-testid="result-skipped">
          <p class="muted">Not used, so what they held was downloaded instead:</p>
          <ul class="retries">
            {result.skippedSeeds.map((s) => (
              <li key={s.seed}>{s.reason}</li>
            ))}
          </ul>
        </div>
      )}
      <MirrorTrouble mirrors={result.mirrors} />
      {result.downloadUrl && (
        <a class="button primary" href={result.downloadUrl} download={result.output} data-testid="save-link">
          Save {result.output}
        </a>
      )}
    </div>
  );
}

/** What each mirror did, when one of them had a problem or redirected (as `tessera get` says it). */
function MirrorTrouble({ mirrors }: { mirrors?: readonly MirrorReport[] }) {
  if (!mirrors?.some((m) => m.failures > 0 || m.redirectedTo)) return null;
  return (
    <div data-testid="result-mirrors">
      <p class="muted">Every byte was checked before it was written. The mirrors:</p>
      <ul class="retries">
        {mirrors.map((m) => (
          <li key={m.url} data-testid="result-mirror">
            <span class="mono">{m.url}</span>: {m.requests} request{m.requests === 1 ? '' : 's'}, {formatBytes(m.bytesGood)} verified
            {m.redirectedTo && `, redirected to ${m.redirectedTo.join(', ')}`}
            {m.failures > 0 && `, ${m.failures} failed (${m.problems.join('; ')})`}
            {m.disabled && `; set aside: ${m.disabled}`}
            {m.rangesTakenOver > 0 && `; ${m.rangesTakenOver} of its ranges fetched from the other mirrors`}
          </li>
        ))}
      </ul>
    </div>
  );
}
