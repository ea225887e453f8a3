import { MANIFEST_VERSION, type Manifest } from '../manifest/manifest.ts';
import type { ZsyncControl } from './decode-zsync.ts';

/**
 * A .zsync control file as the engine's manifest: the same block table
 * (MD4, seq_matches), the URL lines as mirrors (relative ones resolve against
 * the control file's URL, as for our manifests), checked by SHA-1 at the end.
 */
export function zsyncManifest(control: ZsyncControl): Manifest {
  return {
    version: MANIFEST_VERSION,
    name: control.filename,
    checksum: { algorithm: 'sha1', hex: control.sha1 },
    mirrors: control.urls,
    generator: `zsyncmake ${control.version}`,
    blocks: control.blocks,
  };
}
