import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

export interface RunningNginx {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  /** Body bytes nginx has sent for `path` (e.g. '/new.iso') since the last reset, from its access log. */
  bytesSent(path: string): Promise<number>;
  /** Requests for `path` since the last reset. */
  requests(path: string): Promise<number>;
  resetLog(): Promise<void>;
  close(): Promise<void>;
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * The real nginx (Debian package nginx-light, installed by .ci/run) serving
 * `root` on a free local port: Range, multi-range (multipart/byteranges, which
 * zsync needs) and an access log of the bytes it sent.
 */
export async function startNginx(root: string, workDir: string): Promise<RunningNginx> {
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
        "  log_format counted '$body_bytes_sent $uri';",
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
        const lines = async (path: string) => (await readFile(log, 'utf8')).split('\n').filter((l) => l.endsWith(` ${path}`));
        return {
          url: `http://127.0.0.1:${port}/`,
          bytesSent: async (path) => (await lines(path)).reduce((sum, l) => sum + Number(l.split(' ')[0]), 0),
          requests: async (path) => (await lines(path)).length,
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
