#!/usr/bin/env node
// The command line, bundled from src/cli by scripts/build-cli.mjs (run by npm install).
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/tessera.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('tessera: the command line is not built yet; run `npm install` (or `npm run build:cli`) in the repository first.\n');
  process.exit(1);
}
const { main } = await import(bundle.href);
// Exit as soon as the work is done: idle keep-alive connections to mirrors
// would otherwise hold the process open for seconds.
process.exit(await main(process.argv.slice(2)));
