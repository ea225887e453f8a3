import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** One line of the access log: a response nginx sent. */
export interface NginxLogEntry {
  /** Body bytes sent ($body_bytes_sent). */
  bytes: number;
  status: number;
  /** The path requested ($uri, decoded). */
  uri: string;
}

export interface RunningNginx {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  /** Body bytes nginx has sent for `path` (e.g. '/new.iso') since the last reset, from its access log. */
  bytesSent(path: string): Promise<number>;
  /** Requests for `path` since the last reset. */
  requests(path: string): Promise<number>;
  /** Every response since the last reset, in order. */
  entries(): Promise<NginxLogEntry[]>;
  resetLog(): Promise<void>;
  close(): Promise<void>;
}

export interface NginxOptions {
  /**
   * Add the CORS headers of docs/examples/mirrors/nginx.conf, so that a page
   * on another origin can use the files (multi-range requests stay allowed:
   * zsync needs them).
   */
  cors?: boolean;
}

/** "nginx/1.22.1", or undefined when there is no nginx. */
export function nginxVersion(): string | undefined {
  const r = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  return r.error ? undefined : /nginx\/[\w.]+/.exec(r.stderr)?.[0];
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const CORS = [
  '  map $status $cors_origin { volatile; 416 ""; default "*"; }',
  '  add_header Access-Control-Allow-Origin $cors_origin always;',
  '  add_header Access-Control-Expose-Headers "Content-Range, Content-Length, ETag, Last-Modified" always;',
];

/**
 * The real nginx (Debian package nginx-light, installed by .ci/run) serving
 * `root` on a free local port: Range, multi-range (multipart/byteranges, which
 * zsync needs) and an access log of the bytes it sent.
 */
export async function startNginx(root: string, workDir: string, options: NginxOptions = {}): Promise<RunningNginx> {
  if (!existsSync(NGINX)) throw new Error(`no nginx at ${NGINX}: apt-get install nginx-light (.ci/run does)`);
  const log = join(workDir, 'access.log');
  await mkdir(join(workDir, 'tmp'), { recursive: true });
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if (await portOpen(port)) continue;
    const conf = join(workDir, 'nginx.conf');
    await writeFile(
      conf,
      [
        'worker_processes 1;',
        process.getuid?.() === 0 ? 'user root;' : '',
        `pid ${workDir}/nginx.pid;`,
        `error_log ${workDir}/error.log warn;`,
        'events { worker_connections 256; }',
        'http {',
        '  default_type application/octet-stream;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${workDir}/tmp/${t};`),
        ...(options.cors ? CORS : []),
        "  log_format counted '$body_bytes_sent $status $uri';",
        `  access_log ${log} counted;`,
        `  server { listen 127.0.0.1:${port}; root ${root}; }`,
        '}',
      ].join('\n'),
    );
    await writeFile(log, '');
    const child: ChildProcess = spawn(NGINX, ['-p', workDir, '-c', conf, '-e', join(workDir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 50 && !exited; i++) {
      if (await portOpen(port)) {
        const entries = async (): Promise<NginxLogEntry[]> =>
          (await readFile(log, 'utf8'))
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => {
              const [bytes, status, ...uri] = l.split(' ');
              return { bytes: Number(bytes), status: Number(status), uri: uri.join(' ') };
            });
        const forPath = async (path: string) => (await entries()).filter((e) => e.uri === path);
        return {
          url: `http://127.0.0.1:${port}/`,
          bytesSent: async (path) => (await forPath(path)).reduce((sum, e) => sum + e.bytes, 0),
          requests: async (path) => (await forPath(path)).length,
          entries,
          resetLog: () => writeFile(log, ''),
          close: () =>
            new Promise<void>((resolve) => {
              if (exited) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGQUIT');
            }),
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!exited) child.kill('SIGKILL');
  }
  throw new Error(`nginx did not start; see ${workDir}/error.log`);
}
