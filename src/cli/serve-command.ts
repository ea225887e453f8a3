import { startStaticServer } from '../node/static-server.ts';
import type { CliIo } from './cli-io.ts';
import { formatBytes } from '../shared/format.ts';

export interface ServeArgs {
  dir: string;
  port: number;
  host: string;
  /** Bytes per second per response, to imitate a slow mirror. */
  rate?: number;
}

/** `tessera serve DIR`: a local static server with Range and CORS, until Ctrl-C. */
export async function runServe(args: ServeArgs, io: CliIo): Promise<number> {
  const server = await startStaticServer({
    root: args.dir,
    port: args.port,
    host: args.host,
    rateBytesPerSecond: args.rate,
    onRequest: (r) => io.info(`${r.method} ${r.path} ${r.status}${r.range ? ` ${r.range}` : ''} ${formatBytes(r.bytesSent)}`),
  });
  io.info(`Serving ${args.dir} at ${server.url} (Range and CORS enabled). Press Ctrl-C to stop.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
