import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NginxSite, renderIngressNginx } from '../e2e/nginx/ingress-nginx.js';
import { freePort, waitForChildHttp } from './net.js';
import { hasProgram } from './programs.js';

export const nginxInstalled = hasProgram('nginx', ['-v']);

export interface RunningNginx {
  readonly url: string;
  readonly child: ChildProcess;
  readonly config: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/** Starts Debian nginx in the foreground with a rendered ingress-nginx-shaped config. */
export async function startNginx(site: Omit<NginxSite, 'listenPort' | 'prefixDir'>, port?: number): Promise<RunningNginx> {
  const prefixDir = mkdtempSync(join(tmpdir(), 'airy-nginx-'));
  const listenPort = port ?? (await freePort());
  const config = renderIngressNginx({ ...site, listenPort, prefixDir });
  const confPath = join(prefixDir, 'nginx.conf');
  writeFileSync(confPath, config);
  // As root, nginx workers would switch to "nobody", who cannot use the temp dirs made here.
  const user = process.getuid?.() === 0 ? ['-g', 'daemon off; user root;'] : ['-g', 'daemon off;'];
  const child = spawn('nginx', ['-p', prefixDir, '-c', confPath, ...user], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${listenPort}`;
  await waitForChildHttp(child, `${url}/__nginx_probe`, () => stderr, 'nginx');
  return {
    url,
    child,
    config,
    errorLog: () => {
      try {
        return readFileSync(join(prefixDir, 'error.log'), 'utf8') + stderr;
      } catch {
        return stderr;
      }
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}
