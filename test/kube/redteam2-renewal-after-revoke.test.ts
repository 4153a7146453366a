import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AiryProcess, CLI, startAiryWith } from '../helpers/airy-process.js';
import { CookieJar, driveLogin } from '../helpers/login-driver.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithApiserver, type RealApiserver, startRealApiserver } from '../helpers/real-apiserver.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'auth';
const LIST = `${NS}/airy-auth-revocations`;

/**
 * RED TEAM (real apiserver, `airy-auth serve` and `airy-auth revoke` processes, oidc-provider):
 * `airy-auth revoke --subject alice` cuts alice off on every replica, and her browser's next trip
 * through /login (where the 401 sends it) silently renews the session with the refresh cookie: a
 * new session, issued after the revocation, that the entry no longer matches.
 */
describeWithApiserver('red team: airy-auth revoke --subject is undone by the refresh cookie', () => {
  let api: RealApiserver;
  let idp: TestIdp;
  let airy: AiryProcess;
  let front: Server;
  let frontUrl = '';
  const target = { port: 0 };

  beforeAll(async () => {
    const ca = ensureTestCa();
    if (!ca) throw new Error('openssl is needed for the test CA of the provider');
    setGlobalDispatcher(new Agent({ connect: { ca: readFileSync(ca.caCert) } }));
    api = await startRealApiserver();
    // The ingress in front of airy-auth: the provider knows this one URL.
    front = createServer((req, res) => {
      const up = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    const port = await freePort();
    await new Promise<void>((r) => front.listen(port, '127.0.0.1', r));
    frontUrl = `http://127.0.0.1:${port}`;
    idp = await startTestIdp({
      accounts: { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice' } },
      clients: [
        {
          client_id: 'airy',
          client_secret: 'airy-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [`${frontUrl}/login/oauth2/code/idp`],
        },
      ],
    });
    await api.kubectl(['create', 'namespace', NS]);
    await api.kubectl(['-n', NS, 'create', 'configmap', 'airy-auth-revocations']);
    const airyYaml = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicUrl: "${frontUrl}"
  sessionRecheck: 10m
  oidc:
    provider: idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
`;
    await api.kubectl(['-n', NS, 'create', 'configmap', 'airy-auth', `--from-literal=airy.yaml=${airyYaml}`]);
    airy = await startAiryWith(['--configmap', `${NS}/airy-auth`, '--revocations', LIST], { ...api.env, POD_NAMESPACE: NS, NODE_EXTRA_CA_CERTS: ca.caCert });
    target.port = airy.port;
  }, 120_000);

  afterAll(async () => {
    await airy?.stop();
    await idp?.close();
    await new Promise((r) => front?.close(r));
    await api?.stop();
  });

  const status = async (token: string) => {
    const res = await request(`${airy.url}/auth`, { headers: { host: 'app.example.com', authorization: `Bearer ${token}` } });
    await res.body.dump();
    return res.statusCode;
  };

  it('after revoke --subject, the next /login does not hand the revoked person a new session', async () => {
    const jar = new CookieJar();
    await driveLogin(`${frontUrl}/login?rd=${encodeURIComponent(`${frontUrl}/`)}`, 'alice', jar);
    const token = jar.get('127.0.0.1', 'airy_auth_token')!;
    expect(jar.get('127.0.0.1', 'airy_auth_refresh'), airy.logs()).toMatch(/^eyJ/);
    expect(await status(token)).toBe(200);
    // An operator cuts alice off. (No wait needed: a subject entry matches sessions issued in its
    // own second and up to 30 s after, the clock leeway.)
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'revoke', '--revocations', LIST, '--subject', 'alice'], { env: api.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect(run.code, run.out).toBe(0);
    await waitFor(async () => (await status(token)) === 401 || undefined, `the replica to refuse alice\n${airy.logs()}`, 30_000, 10);
    // The 401 sends her browser to /login with its cookies.
    // What is asserted is that no session is minted at all, so the renewal's second does not matter.
    const res = await request(`${frontUrl}/login?rd=${encodeURIComponent(`${frontUrl}/`)}`, { headers: { cookie: jar.header(`${frontUrl}/login`) } });
    await res.body.dump();
    const minted = [res.headers['set-cookie'] ?? []].flat().find((c) => /^airy_auth_token=eyJ/.test(c));
    const renewed = minted === undefined ? undefined : /^airy_auth_token=([^;]+)/.exec(minted)![1]!;
    expect(renewed === undefined ? 'no session minted' : `renewed session answered ${await status(renewed)}`).toBe('no session minted');
  });
});
