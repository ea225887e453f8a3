import { parseArgs } from 'node:util';
import { ErrorCode, TesseraError, isTesseraError } from '../core/errors.ts';
import { createCliIo } from './cli-io.ts';
import { runDemo } from './demo-command.ts';
import { runGet } from './get-command.ts';
import { runMake } from './make-command.ts';
import { runServe } from './serve-command.ts';
import { parseExpectedSha256 } from '../core/expected-sha256.ts';

declare const TESSERA_VERSION: string;
const VERSION = typeof TESSERA_VERSION === 'string' ? TESSERA_VERSION : 'dev';

const HELP = `tessera ${VERSION}: rebuild a large image from files you already have, downloading only what is missing.

Usage:
  tessera make IMAGE [-o MANIFEST] [--url URL]... [--block-size N] [--name NAME] [--json]
      Describe IMAGE in a small manifest (default IMAGE.tessera) to publish next to it.
      --url gives the image's mirror URLs (absolute, or relative to the manifest's URL);
      without --url the image is expected next to the manifest.
      --block-size N  bytes per block, a power of two (default: 2048 below 100 MB, 4096 up to
                      1 GiB, then wider, so that no image has more than 262,144 blocks)

  tessera get MANIFEST_PATH_OR_URL [--seed PATH]... [-o OUT] [--mirror URL]... [--sha256 HEX] [--dry-run] [--json]
      Rebuild the image into OUT (default: the image's name) from the seed files and
      folders (searched recursively), downloading only the missing blocks. OUT appears
      only once its SHA-256 is verified; an interrupted run resumes where it stopped.
      MANIFEST may be a .tessera manifest, a .zsync control file or a .jigdo file.
      --sha256 HEX    the SHA-256 you expect (e.g. the image's line from SHA256SUMS):
                      a description of another image is refused before downloading
      --dry-run       scan and show the plan, download nothing
      --mirror URL    another place to download the image from (repeatable)
      --connections N requests in flight at once (default 6)
      --merge-gap N   fetch two missing runs as one request when at most N bytes apart (default 0)
      --threads N     scan the seeds on N threads (default: one per core)
      --stall-timeout S  a request that receives nothing for S seconds is abandoned and
                      retried, on another mirror if there is one (default 30)
      --json          print the result as one JSON object on the last line

  tessera serve DIR [--port N] [--host ADDR] [--rate BYTES_PER_SECOND]
      Serve DIR over HTTP with Range and CORS, for trying things locally (default port 8080);
      --rate slows each response down, to imitate a slow mirror.

  tessera demo [--dir DIR] [--port N] [--once]
      Make a demo image pair in DIR (default ./demo), serve it, rebuild the new image from
      the old one, and keep serving so you can try the commands it prints.

Exit status: 0 on success, 1 on failure, 2 on a usage error.`;

function usage(message: string): never {
  throw new TesseraError(ErrorCode.InvalidOption, `${message}\nRun \`tessera --help\` for usage.`);
}

function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) usage(`${name} must be a whole number of at least ${min}, not "${value}"`);
  return n;
}

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || value.trim() === '') usage(`${name} must be a number of seconds above 0, not "${value}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const wantsJson = rest.includes('--json');
  const io = createCliIo(VERSION, wantsJson);
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP + '\n');
        return 0;
      case '--version':
      case '-V':
        process.stdout.write(`tessera ${VERSION}\n`);
        return 0;
      case 'make': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            output: { type: 'string', short: 'o' },
            url: { type: 'string', multiple: true, default: [] },
            'block-size': { type: 'string' },
            name: { type: 'string' },
            json: { type: 'boolean', default: false },
          },
        });
        if (positionals.length !== 1) usage('make takes exactly one IMAGE');
        return await runMake(
          { image: positionals[0], output: values.output, urls: values.url, blockSize: integer(values['block-size'], '--block-size', 1), name: values.name, json: values.json },
          io,
        );
      }
      case 'get': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            output: { type: 'string', short: 'o' },
            seed: { type: 'string', multiple: true, default: [] },
            mirror: { type: 'string', multiple: true, default: [] },
            'dry-run': { type: 'boolean', default: false },
            json: { type: 'boolean', default: false },
            connections: { type: 'string' },
            'merge-gap': { type: 'string' },
            sha256: { type: 'string' },
            'stall-timeout': { type: 'string' },
            threads: { type: 'string' },
          },
        });
        if (positionals.length !== 1) usage('get takes exactly one MANIFEST (a path or URL)');
        return await runGet(
          {
            manifest: positionals[0],
            seeds: values.seed,
            output: values.output,
            mirrors: values.mirror,
            dryRun: values['dry-run'],
            json: values.json,
            connections: integer(values.connections, '--connections', 1),
            mergeGap: integer(values['merge-gap'], '--merge-gap', 0),
            sha256: values.sha256 === undefined ? undefined : parseExpectedSha256(values.sha256),
            stallTimeout: seconds(values['stall-timeout'], '--stall-timeout'),
            threads: integer(values.threads, '--threads', 1),
          },
          io,
        );
      }
      case 'serve': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { port: { type: 'string', short: 'p' }, host: { type: 'string', default: '127.0.0.1' }, rate: { type: 'string' } },
        });
        if (positionals.length !== 1) usage('serve takes exactly one DIR');
        return await runServe({ dir: positionals[0], port: integer(values.port, '--port', 0) ?? 8080, host: values.host, rate: integer(values.rate, '--rate', 1) }, io);
      }
      case 'demo': {
        const { values } = parseArgs({
          args: rest,
          options: { dir: { type: 'string', default: 'demo' }, port: { type: 'string', short: 'p' }, once: { type: 'boolean', default: false } },
        });
        return await runDemo({ dir: values.dir, port: integer(values.port, '--port', 0) ?? 8080, once: values.once }, io);
      }
      default:
        usage(`unknown command "${command}"`);
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code; // a DOMException's code is a number
    const isUsage = isTesseraError(error, ErrorCode.InvalidOption) || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    const message = error instanceof Error ? error.message : String(error);
    io.progressDone();
    process.stderr.write(`tessera: ${message}\n`);
    if (wantsJson) io.json({ ok: false, error: { code: isTesseraError(error) ? error.code : typeof code === 'string' ? code : 'E_UNEXPECTED', message } });
    if (!isTesseraError(error) && !isUsage) process.stderr.write((error as Error).stack + '\n');
    return isUsage ? 2 : 1;
  }
}
