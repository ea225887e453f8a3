// Bundle the command line (src/cli + src/core + src/node) into dist/tessera.mjs,
// and its worker threads (src/node/scan-worker.ts, file-hash-worker.ts) into dist/.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: { tessera: 'src/cli/main.ts', 'scan-worker': 'src/node/scan-worker.ts', 'file-hash-worker': 'src/node/file-hash-worker.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  define: { TESSERA_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
});
