import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concat, padTo, randomBytes } from '../node/pseudo-random-bytes.ts';
import { startStaticServer } from '../node/static-server.ts';
import type { CliIo } from './cli-io.ts';
import { runGet } from './get-command.ts';
import { runMake } from './make-command.ts';

export interface DemoArgs {
  dir: string;
  port: number;
  /** Stop after the demo download instead of serving until Ctrl-C. */
  once: boolean;
}

/**
 * Two versions of a disc-like image: 60 "packages" on 2048-byte sectors; the
 * new version updates 6 of them, drops 2, adds 2, and reorders the rest.
 */
function demoImages(): { old: Uint8Array; next: Uint8Array } {
  const size = (i: number) => 20_000 + ((i * 2_654_435_761) % 900_000);
  const pkgs = Array.from({ length: 60 }, (_, i) => randomBytes(size(i), 1000 + i));
  const updated = new Map([3, 11, 17, 29, 41, 52].map((i) => [i, randomBytes(size(i) + 3000, 5000 + i)]));
  const label = (v: string) => padTo(new TextEncoder().encode(`TESSERA DEMO DISC ${v}\n`.repeat(100)), 2048);
  const old = concat([label('1.0'), ...pkgs.map((p) => padTo(p, 2048))]);
  const kept = pkgs.map((p, i) => updated.get(i) ?? p).filter((_, i) => i !== 7 && i !== 33);
  kept.splice(20, 0, randomBytes(400_000, 9001));
  kept.push(randomBytes(250_000, 9002));
  const next = concat([label('1.1'), ...kept.reverse().map((p) => padTo(p, 2048)), new Uint8Array(64 * 2048)]);
  return { old, next };
}

/** The built page (vite build), next to this bundle in dist/. */
const PAGE_DIR = fileURLToPath(new URL('./web/', import.meta.url));

/**
 * `tessera demo`: make a demo image pair, publish it on a local "mirror",
 * rebuild it with the command line, and serve the web page (on another port,
 * so the page reaches the mirror cross-origin, with CORS, as it would a real one).
 */
export async function runDemo(args: DemoArgs, io: CliIo): Promise<number> {
  const www = join(args.dir, 'www');
  await mkdir(www, { recursive: true });
  await mkdir(join(args.dir, 'out'), { recursive: true });
  const oldPath = join(args.dir, 'old.img');
  const newPath = join(www, 'new.img');
  const exists = await stat(newPath).then(() => true, () => false);
  if (!exists) {
    const { old, next } = demoImages();
    await writeFile(oldPath, old);
    await writeFile(newPath, next);
  }
  await runMake({ image: newPath, urls: [], json: false }, io);
  const listen = (root: string, port: number) => startStaticServer({ root, port }).catch(() => startStaticServer({ root, port: 0 }));
  const hasPage = await stat(join(PAGE_DIR, 'index.html')).then(() => true, () => false);
  const page = hasPage ? await listen(PAGE_DIR, args.port) : undefined;
  const server = await listen(www, args.port === 0 ? 0 : args.port + 1);
  const manifestUrl = `${server.url}new.img.tessera`;
  const out = join(args.dir, 'out', 'new.img');
  const rel = (p: string) => relative(process.cwd(), p) || '.';
  io.info(`\nDemo server: ${server.url} (Range and CORS). Rebuilding new.img from ${rel(oldPath)}:\n`);
  try {
    await runGet({ manifest: manifestUrl, seeds: [oldPath], output: out, mirrors: [], dryRun: false, json: false }, io);
    if (page) {
      io.info(`\nOpen the web page and add ${rel(oldPath)} as your old file:`);
      io.info(`  ${page.url}?manifest=${encodeURIComponent(manifestUrl)}`);
    } else {
      io.info('\n(The web page is not built: run `npm start`, which builds it first.)');
    }
    io.info(`\nOr on the command line (the servers stay up until Ctrl-C):`);
    io.info(`  npx tessera get ${manifestUrl} --seed ${rel(oldPath)} -o ${rel(out)}`);
    io.info(`  npx tessera get ${manifestUrl} -o ${rel(join(args.dir, 'out', 'full.img'))}     # no seed: full download`);
    if (!args.once) {
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await server.close();
    await page?.close();
  }
  return 0;
}
