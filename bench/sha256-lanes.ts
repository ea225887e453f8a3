// SHA-256 throughput on one core: hash-wasm (one stream) against Sha256Lanes
// (four streams at once, WebAssembly SIMD), with a native reference, in Node
// and in headless Chromium. Prints MB/s: medians of --runs runs (aggregate over
// the four streams for Sha256Lanes).
//
//   node scripts/run-ts.mjs bench/sha256-lanes.ts [--runs 7] [--segment-mib 32] [--no-browser]
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startStaticServer } from '../src/node/static-server.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { loadAverage } from './lib/machine.ts';
import { type LanesBenchOptions, type LanesBenchResult, runLanesBench } from './lib/sha256-lanes-run.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'segment-mib': { type: 'string', default: '32' },
    'no-browser': { type: 'boolean', default: false },
    'chromium-flags': { type: 'string', default: '' },
  },
});
const options: LanesBenchOptions = { segmentBytes: Number(values['segment-mib']) << 20, runs: Number(values.runs), variants: ['locals', 'memory'] };

function report(where: string, result: LanesBenchResult): void {
  const base = median(result['hash-wasm (1 stream)']);
  console.log(`\n${where}: MB/s on one core, median of ${options.runs} (min..max), 4 x ${values['segment-mib']} MiB`);
  for (const [name, runs] of Object.entries(result)) {
    const m = median(runs);
    console.log(`  ${name.padEnd(46)}${m.toFixed(0).padStart(7)}  (${Math.min(...runs).toFixed(0)}..${Math.max(...runs).toFixed(0)})  ${(m / base).toFixed(2)}x hash-wasm`);
  }
}

console.log(`load average at start: ${loadAverage()}`);
report(`Node ${process.version} (V8 ${process.versions.v8})`, await runLanesBench(options, { name: 'node:crypto (1 stream, reference)', hash: (s) => void createHash('sha256').update(s).digest() }));

if (!values['no-browser']) {
  // The same measurement, bundled into one script for a page served from 127.0.0.1 (a secure context: crypto.subtle).
  const site = '.cache/sha256-lanes-page';
  await mkdir(site, { recursive: true });
  await writeFile(`${site}/index.html`, '<!doctype html><link rel="icon" href="data:,"><title>sha256-lanes</title>');
  const bundle = await build({
    stdin: {
      contents: `import { runLanesBench } from './bench/lib/sha256-lanes-run.ts'; globalThis.runLanesBench = runLanesBench;`,
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  });
  const server = await startStaticServer({ root: site, host: '127.0.0.1', port: 0 });
  const browser = await launchChromium(values['chromium-flags'] ? values['chromium-flags'].split(' ') : []);
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    page.on('console', (m) => console.log(`  [page] ${m.text()}`));
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
    // crypto.subtle.digest: the browser's native SHA-256, one-shot only (no midstate), for reference.
    const result = await page.evaluate(
      (o) =>
        (globalThis as unknown as { runLanesBench: typeof runLanesBench }).runLanesBench(o, {
          name: 'crypto.subtle.digest (one-shot, reference)',
          hash: async (s) => void (await crypto.subtle.digest('SHA-256', s as Uint8Array<ArrayBuffer>)),
        }),
      options,
    );
    report(`Chromium ${browser.version()}`, result);
  } finally {
    await browser.close();
    await server.close();
  }
}
console.log(`\nload average at end: ${loadAverage()}`);
