import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForChildHttp } from './net.js';
import { hasProgram } from './programs.js';

export const caddyInstalled = hasProgram('caddy', ['version']);

/**
 * Debian's Caddy with `forward_auth` to airy-auth's /forward-auth, the login routes proxied to
 * airy-auth, and everything else to the app. Caddy sends X-Forwarded-Method/-Uri/-Host/-Proto
 * itself and passes a denial (a 302 included) to the client as it is.
 */
export async function startCaddy(
  airyHostPort: string,
  appHostPort: string,
  port?: number,
  forwardAuthUri = '/forward-auth',
  /** With signedIdentity: X-Auth-Request-Jwt too (Caddy 2.6 would pass a placeholder's text for a header the answer lacks). */
  copyHeaders: readonly string[] = ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups'],
): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'airy-caddy-'));
  const listen = port ?? (await freePort());
  const caddyfile = `{
	admin off
	auto_https off
}
http://127.0.0.1:${listen}, http://localhost:${listen} {
	handle /login* {
		reverse_proxy ${airyHostPort}
	}
	handle /oauth2/* {
		reverse_proxy ${airyHostPort}
	}
	handle /logout {
		reverse_proxy ${airyHostPort}
	}
	handle {
		forward_auth ${airyHostPort} {
			uri ${forwardAuthUri}
			copy_headers ${copyHeaders.join(' ')}
		}
		reverse_proxy ${appHostPort}
	}
}
`;
  writeFileSync(join(dir, 'Caddyfile'), caddyfile);
  const child = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${listen}`;
  await waitForChildHttp(child, `${url}/login`, () => stderr, 'caddy');
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
