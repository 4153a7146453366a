import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { mintSession } from '../../src/session/mint.js';
import { type AiryProcess, startAiry } from '../helpers/airy-process.js';
import { nginxInstalled, type RunningNginx, startNginx } from '../helpers/nginx.js';
import { PROTECTED, securityYaml, TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';
import { describeWithTools } from '../helpers/tools.js';
import { startEchoUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

interface LogLine {
  msg: string;
  level: string;
  [k: string]: unknown;
}

/** Every line the process wrote, parsed: each must be one JSON object. */
function lines(airy: AiryProcess): LogLine[] {
  return airy
    .logs()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogLine);
}
/** The decision lines, without those of nginx's own start-up probe. */
const requestLines = (airy: AiryProcess) => lines(airy).filter((l) => l.msg === 'request' && l.path !== '/__nginx_probe');

const key = compileAiryYaml(securityYaml(PROTECTED)).policy!.sessionKey!;

describeWithTools('request log through the real binary and real nginx', { nginx: nginxInstalled }, () => {
  let all: AiryProcess;
  let denied: AiryProcess;
  let none: AiryProcess;
  let nginx: RunningNginx;
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  let session: string;

  beforeAll(async () => {
    session = await mintSession(key, { sub: 'ann', email: 'ann@example.com' }, 3600, Date.now());
    upstream = await startEchoUpstream();
    [all, denied, none] = await Promise.all([
      startAiry(securityYaml(PROTECTED), ['--log-requests', 'all', '--log-level', 'debug']),
      startAiry(securityYaml(PROTECTED), [], { AIRY_AUTH_LOG_REQUESTS: 'denied' }),
      startAiry(securityYaml(PROTECTED), [], { AIRY_AUTH_LOG_REQUESTS: 'none' }),
    ]);
    nginx = await startNginx({
      paths: [
        {
          path: '/',
          upstream: `127.0.0.1:${upstream.port}`,
          annotations: { 'auth-url': `${all.url}/auth`, 'auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email' },
        },
      ],
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([all?.stop(), denied?.stop(), none?.stop()]);
    await upstream?.close();
  });

  async function ask(airy: AiryProcess, path: string, headers: Record<string, string>) {
    const res = await request(`${airy.url}${path}`, { headers: { host: 'app.example.com', ...headers } });
    await res.body.dump();
    return res;
  }

  it('writes one JSON line per decision with the fields an operator needs, and never a credential, cookie or query, at any level', async () => {
    const before = requestLines(all).length;
    // The original request's query (a query on the auth URL itself is the route's rule).
    await ask(all, '/auth', {
      'x-original-url': 'http://app.example.com/auth?token=secret-in-query',
      authorization: `Bearer ${session}`,
      'x-request-id': 'req-1',
    });
    await ask(all, '/auth', { cookie: `airy_auth_token=${session}; other=cookie-value-123` });
    await ask(all, '/forward-auth', {
      'x-forwarded-host': 'app.example.com',
      'x-forwarded-uri': '/inbox?code=oauth-code-456',
      authorization: 'Bearer not-a-token-789',
    });
    await ask(all, `/envoy/admin?k=${TEST_SYSTEM_TOKEN}`, { authorization: TEST_SYSTEM_TOKEN });
    await ask(all, '/gateway-api/x', { authorization: 'Bearer a.b', 'x-request-id': 'bad id with spaces' });
    await waitFor(() => requestLines(all).length >= before + 5, 'five request lines');
    const got = requestLines(all).slice(before);
    expect(got.map((l) => [l.adapter, l.status, l.reason])).toEqual([
      ['auth', 200, 'session_token'],
      ['auth', 200, 'session_cookie'],
      ['forward-auth', 401, 'invalid_token'],
      ['envoy', 200, 'system_token'],
      ['gateway-api', 401, 'invalid_token'],
    ]);
    expect(got[0]).toMatchObject({
      level: 'info',
      requestId: 'req-1',
      method: 'GET',
      host: 'app.example.com',
      path: '/auth',
      user: 'ann',
      email: 'ann@example.com',
    });
    expect(got[2]).toMatchObject({ path: '/inbox', method: 'GET' });
    expect(got[3]).toMatchObject({ path: '/admin', user: 'system-token' });
    expect(got[4]!.requestId).toMatch(/^[0-9a-f-]{36}$/); // a malformed id is replaced, not logged
    for (const l of got) {
      expect(typeof l.time).toBe('string');
      expect(typeof l.durationMs).toBe('number');
    }
    const text = all.logs();
    for (const secret of [session, TEST_SYSTEM_TOKEN, TEST_JWT_SECRET, 'secret-in-query', 'cookie-value-123', 'oauth-code-456', 'not-a-token-789', 'bad id']) {
      expect(text, secret.slice(0, 12)).not.toContain(secret);
    }
  });

  it("echoes the request id on the answer, the gateway's or a new one", async () => {
    const given = await ask(all, '/auth', { 'x-request-id': 'abc-123' });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await ask(all, '/auth', {});
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs only refusals by default, nothing with none, and never the health probes at info', async () => {
    for (const airy of [denied, none]) {
      await ask(airy, '/auth', { authorization: `Bearer ${TEST_SYSTEM_TOKEN}` });
      await ask(airy, '/auth', {});
      await ask(airy, '/healthz', {});
      await ask(airy, '/readyz', {});
    }
    await waitFor(() => requestLines(denied).length >= 1, 'the refusal');
    expect(requestLines(denied).map((l) => l.status)).toEqual([401]);
    expect(requestLines(none)).toEqual([]);
    for (const airy of [all, denied, none]) expect(lines(airy).some((l) => JSON.stringify(l).includes('healthz'))).toBe(false);
  });

  it('through nginx: the id nginx gives the request reaches airy-auth (logged) and the upstream, the same', async () => {
    const before = requestLines(all).length;
    const res = await request(`${nginx.url}/inbox`, { headers: { host: 'app.example.com', authorization: `Bearer ${TEST_SYSTEM_TOKEN}` } });
    const echo = (await res.body.json()) as { headers: Record<string, string> };
    expect(res.statusCode).toBe(200);
    const upstreamId = echo.headers['x-request-id'];
    expect(upstreamId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(() => requestLines(all).length > before, 'the log line');
    expect(requestLines(all).slice(before)[0]).toMatchObject({ requestId: upstreamId, adapter: 'auth', path: '/inbox', status: 200 });
  });
});
