import { checksumName } from '../../core/manifest/manifest.ts';
import { formatBytes, formatCount } from '../../shared/format.ts';
import type { JigdoImageInfo } from '../engine/jigdo-messages.ts';

/** What a .jigdo describes: the image, its template (fetched and checked) and the servers the files you lack come from. */
export function JigdoFacts({ image }: { image: JigdoImageInfo }) {
  return (
    <dl class="facts" data-testid="image-facts">
      <dt>Name</dt>
      <dd data-testid="image-name">{image.name}</dd>
      {image.shortInfo && (
        <>
          <dt>About</dt>
          <dd>{image.shortInfo}</dd>
        </>
      )}
      <dt>Size</dt>
      <dd>{formatBytes(image.length)} ({formatCount(image.length)} bytes)</dd>
      <dt>{checksumName(image.algorithm)}</dt>
      <dd class="mono" data-testid="image-checksum">{image.checksum}</dd>
      <dt>Template</dt>
      <dd>
        <span class="mono">{image.templateUrl}</span> <span class="ok">✓ matches the .jigdo</span>
      </dd>
      <dt>Files</dt>
      <dd>{formatCount(image.files)} files of the image can come from your files; the rest of it is in the template.</dd>
      <dt>Servers</dt>
      <dd>
        {image.servers.length === 0 ? (
          <span class="muted">none: every file must be among your files</span>
        ) : (
          <ul class="mirrors">
            {image.servers.map((url) => (
              <li key={url} data-testid="jigdo-server">
                <span class="mono">{url}</span>
              </li>
            ))}
          </ul>
        )}
        <span class="muted">Files you lack are fetched whole from these; each must allow this site (CORS).</span>
      </dd>
    </dl>
  );
}
