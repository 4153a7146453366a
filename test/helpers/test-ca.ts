import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly caCert: string;
  readonly key: string;
  readonly cert: string;
}

/**
 * A test CA and a server certificate for localhost and 127.0.0.1, made with openssl once per
 * machine. Test IdPs serve https with it, as in production; Node trusts it through
 * NODE_EXTRA_CA_CERTS (set in vitest.config.ts, so every worker starts with it).
 */
export function ensureTestCa(): TestCa | undefined {
  const dir = join(tmpdir(), 'airy-auth-test-ca-v1');
  const paths = { caCert: join(dir, 'ca.pem'), key: join(dir, 'server.key'), cert: join(dir, 'server.pem') };
  if (existsSync(paths.cert)) return paths;
  try {
    mkdirSync(dir, { recursive: true });
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=airy-auth test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    );
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    );
    return paths;
  } catch {
    return undefined;
  }
}

export function tlsOptions(ca: TestCa): { key: Buffer; cert: Buffer } {
  return { key: readFileSync(ca.key), cert: readFileSync(ca.cert) };
}
