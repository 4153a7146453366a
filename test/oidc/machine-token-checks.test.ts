import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMachineTokens } from '../../src/oidc/machine-tokens.js';
import { startLoginServer } from '../helpers/login-server.js';
import { TEST_JWT_SECRET, TEST_SYSTEM_TOKEN } from '../helpers/policies.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

interface Key {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
}

async function newKey(kid: string, kind: 'ec' | 'rsa4096' = 'ec'): Promise<Key> {
  const { privateKey, publicKey } = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 4096 });
  const alg = kind === 'ec' ? 'ES256' : 'RS256';
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

type Mode = 'ok' | 'fail' | 'drip' | 'endless';

/**
 * An issuer of machine tokens over real HTTP: discovery and a JWKS the test steers. It can answer
 * 500, drip its answer a byte at a time, or send an endless one; it counts what it was asked.
 */
async function startIssuer() {
  const keys: Key[] = [];
  let mode: Mode = 'ok';
  const hits = { discovery: 0, jwks: 0 };
  const open = new Set<ServerResponse>();
  const closed: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0]!;
    const which = path === '/jwks' ? 'jwks' : 'discovery';
    hits[which]++;
    if (mode === 'fail') return void res.writeHead(500).end('down');
    const body = which === 'jwks' ? JSON.stringify({ keys: keys.map((k) => k.jwk) }) : JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/jwks` });
    if (mode === 'ok') return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    res.writeHead(200, { 'content-type': 'application/json' });
    open.add(res);
    res.on('close', () => {
      open.delete(res);
      closed.push(which);
    });
    // drip: one byte every 50 ms, for ever (undici's own timeouts restart with every byte);
    // endless: 64 KiB every 5 ms of white space that never ends.
    const chunk = mode === 'drip' ? ' ' : ' '.repeat(64 * 1024);
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(chunk)), mode === 'drip' ? 50 : 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    keys,
    hits,
    closed,
    setMode(m: Mode) {
      mode = m;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return issuer;
}

type Issuer = Awaited<ReturnType<typeof startIssuer>>;

/** How many IdP calls the metric counted with these labels. */
async function idpCalls(registry: Registry, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'airy_auth_idp_request_duration_seconds');
  const values = (m?.values ?? []) as { labels: Record<string, string | number>; value: number; metricName?: string }[];
  return values
    .filter((v) => v.metricName?.endsWith('_count') && Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

function sign(key: Key, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

describe('machine tokens: which check failed, and the keys behind them', () => {
  let issuer: Issuer;
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  let clock = Date.now();
  const AUD = 'ci-api';
  let k1: Key;

  beforeAll(async () => {
    issuer = await startIssuer();
    k1 = await newKey('k1');
    issuer.keys.push(k1);
    srv = await startLoginServer(
      `  systemToken: "${TEST_SYSTEM_TOKEN}"\n  extraJwtIssuers: "${issuer.url}=${AUD}=${issuer.url}/jwks"\n  allowedOrigins: "https://app.example.com"\n`,
      () => clock,
    );
  });
  afterAll(async () => {
    await srv?.close();
    await issuer?.close();
  });
  afterEach(() => issuer.setMode('ok'));

  const claims = (more: Record<string, unknown> = {}) => {
    const now = Math.floor(clock / 1000);
    return { iss: issuer.url, aud: AUD, sub: 'deployer', exp: now + 600, ...more };
  };

  async function ask(token: string, query = '') {
    const logged = srv.logger.lines.length;
    const res = await request(`${srv.url}/auth${query}`, {
      headers: { authorization: `Bearer ${token}`, 'x-original-url': 'https://app.example.com/api/x', 'x-original-method': 'GET' },
    });
    await res.body.dump();
    const line = srv.logger.lines.slice(logged).find((l) => l.msg === 'request');
    return { status: res.statusCode, user: res.headers['x-auth-request-user'], line };
  }

  it('says in the request log which check refused a token, and never logs the token', async () => {
    const other = await newKey('k-other');
    const cases: [string, string, string][] = [
      ['issuer', await sign(k1, claims({ iss: 'https://evil.example.com' })), 'issuer'],
      ['audience', await sign(k1, claims({ aud: 'other-api' })), 'audience'],
      ['expiry', await sign(k1, claims({ exp: Math.floor(clock / 1000) - 600 })), 'expiry'],
      ['not-before', await sign(k1, claims({ nbf: Math.floor(clock / 1000) + 600 })), 'not-before'],
      ['unknown key', await sign(other, claims(), { kid: 'k-nobody' }), 'unknown key'],
      ['algorithm', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.c2ln`, 'algorithm'],
      ['signature', await sign(other, claims(), { kid: 'k1' }), 'signature'],
    ];
    expect((await ask(await sign(k1, claims()))).status).toBe(200);
    for (const [name, token, check] of cases) {
      const { status, line } = await ask(token);
      expect(status, name).toBe(401);
      expect(line?.fields.reason, name).toBe('invalid_token');
      expect(line?.fields.detail, name).toBe(`machine token refused: ${check}`);
      const text = JSON.stringify(line);
      for (const part of token.split('.')) if (part.length > 8) expect(text, name).not.toContain(part);
    }
  });

  it('does not count an email the token marks unverified: email rules refuse it', async () => {
    const rule = '?allowed_emails=bot@example.com';
    expect((await ask(await sign(k1, claims({ email: 'bot@example.com', email_verified: true })), rule)).status).toBe(200);
    expect((await ask(await sign(k1, claims({ email: 'bot@example.com' })), rule)).status).toBe(200);
    const unverified = await ask(await sign(k1, claims({ email: 'bot@example.com', email_verified: false })), rule);
    expect(unverified.status).toBe(403);
    expect((await ask(await sign(k1, claims({ email: 'bot@example.com', email_verified: 'false' })), rule)).status).toBe(403);
  });

  it('refuses a token valid for decades, as a session would be', async () => {
    const now = Math.floor(clock / 1000);
    const { status, line } = await ask(await sign(k1, claims({ iat: now, exp: now + 30 * 366 * 86400 })));
    expect(status).toBe(401);
    expect(line?.fields.detail).toBe('machine token refused: lifetime');
  });

  it('accepts a token signed with a 4096-bit RSA key', async () => {
    const big = await newKey('k-rsa4096', 'rsa4096');
    issuer.keys.push(big);
    clock += 61_000; // past the cooldown of the earlier unknown kid: the new key may be fetched
    const token = await sign(big, claims({ sub: 'rsa-robot' }));
    expect(token.split('.')[2]!.length).toBe(683);
    const answer = await ask(token);
    expect(answer.line?.fields.detail).toBeUndefined();
    expect(answer).toMatchObject({ status: 200, user: 'rsa-robot' });
  });
});

/** A fresh issuer and airy-auth, so no earlier fetch of these keys counts. */
async function freshPair(clock: () => number) {
  const issuer = await startIssuer();
  const key = await newKey('k1');
  issuer.keys.push(key);
  const srv = await startLoginServer(`  systemToken: "${TEST_SYSTEM_TOKEN}"\n  extraJwtIssuers: "${issuer.url}=api=${issuer.url}/jwks"\n`, clock);
  const claims = (more: Record<string, unknown> = {}) => ({
    iss: issuer.url,
    aud: 'api',
    sub: 'deployer',
    exp: Math.floor(clock() / 1000) + 3 * 3600,
    ...more,
  });
  const ask = async (token: string) => {
    const logged = srv.logger.lines.length;
    const res = await request(`${srv.url}/auth`, {
      headers: { authorization: `Bearer ${token}`, 'x-original-url': 'https://app.example.com/api/x', 'x-original-method': 'GET' },
    });
    await res.body.dump();
    return { status: res.statusCode, line: srv.logger.lines.slice(logged).find((l) => l.msg === 'request') };
  };
  return { issuer, key, srv, claims, ask, close: async () => Promise.all([srv.close(), issuer.close()]) };
}

describe("machine tokens: the issuer's keys are fetched on a schedule and at most once a cooldown", () => {
  it('fetches keys once per cooldown while the JWKS answers 500, however many unknown kids strangers send', async () => {
    let clock = Date.now();
    const pair = await freshPair(() => clock);
    try {
      pair.issuer.setMode('fail');
      const stranger = await newKey('stranger');
      for (let i = 0; i < 12; i++) {
        const { status, line } = await pair.ask(await sign(stranger, pair.claims(), { kid: `made-up-${i}` }));
        expect(status).toBe(401);
        expect(line?.fields.detail).toMatch(/^machine token refused: unknown key/);
      }
      expect(pair.issuer.hits.jwks).toBe(1);
      expect(await idpCalls(pair.srv.registry, { provider: 'machine-tokens', endpoint: 'jwks', outcome: 'http_5xx' })).toBe(1);
      // After the cooldown, the issuer is back: one fetch, and its key works.
      clock += 61_000;
      pair.issuer.setMode('ok');
      expect((await pair.ask(await sign(pair.key, pair.claims()))).status).toBe(200);
      expect(pair.issuer.hits.jwks).toBe(2);
    } finally {
      await pair.close();
    }
  });

  it('refreshes the keys on a schedule: a key removed at the issuer stops working within the refresh interval', async () => {
    let clock = Date.now();
    const pair = await freshPair(() => clock);
    try {
      const token = await sign(pair.key, pair.claims({ sub: 'short-lived-key' }));
      expect((await pair.ask(token)).status).toBe(200);
      expect((await pair.ask(token)).status).toBe(200); // from memory
      pair.issuer.keys.length = 0; // the issuer drops the key
      clock += 5 * 60_000;
      expect((await pair.ask(token)).status).toBe(200); // within the interval, the cached key set is used
      clock += 6 * 60_000;
      // The refresh falls due: it runs in the background (no request waits on the issuer for it),
      // and once it has brought the new key set, the removed key verifies nothing.
      await pair.ask(token);
      await expect.poll(async () => (await pair.ask(token)).status).toBe(401);
      expect((await pair.ask(token)).line?.fields.detail).toBe('machine token refused: unknown key');
      expect(pair.issuer.hits.jwks).toBe(2);
    } finally {
      await pair.close();
    }
  });
});

describe('machine tokens: discovery and JWKS calls have a deadline and a size cap', () => {
  let issuer: Issuer;
  beforeAll(async () => {
    issuer = await startIssuer();
    issuer.keys.push(await newKey('k1'));
  });
  afterAll(async () => issuer?.close());

  function verifierFor(jwksUri: string | undefined, fetchTimeoutMs: number) {
    const yaml = `security:\n  jwtSecret: "${TEST_JWT_SECRET}"\n  extraJwtIssuers: "${issuer.url}=api${jwksUri ? `=${jwksUri}` : ''}"\n`;
    const policy = compileAiryYaml(yaml).policy!;
    const registry = new Registry();
    const metrics = createMetrics(registry);
    const machine = createMachineTokens(metrics, { fetchTimeoutMs });
    return { verifier: machine.verifierFor(policy)!, registry };
  }

  async function outcomes(registry: Registry): Promise<string[]> {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'airy_auth_idp_request_duration_seconds');
    return ((m?.values ?? []) as { labels: Record<string, string>; metricName?: string }[])
      .filter((v) => v.metricName?.endsWith('_count'))
      .map((v) => `${v.labels.endpoint}:${v.labels.outcome}`);
  }

  it('cuts off a discovery answer dripped a byte at a time, and refuses the token instead of waiting', async () => {
    issuer.setMode('drip');
    const { verifier, registry } = verifierFor(undefined, 400);
    const token = await sign(issuer.keys[0]!, { iss: issuer.url, aud: 'api', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 });
    const result = await verifier.verify(token, Date.now());
    expect(result).toMatchObject({ ok: false, detail: expect.stringContaining('machine token refused: unknown key') });
    expect(await outcomes(registry)).toEqual(['discovery:timeout']);
    await expect.poll(() => issuer.closed.includes('discovery')).toBe(true);
  });

  it('stops reading an endless JWKS at the size cap', async () => {
    issuer.setMode('endless');
    // A deadline far beyond what 1 MiB takes to arrive: the cap, not the clock, ends this one.
    const { verifier, registry } = verifierFor(`${issuer.url}/jwks`, 60_000);
    const token = await sign(issuer.keys[0]!, { iss: issuer.url, aud: 'api', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 });
    const result = await verifier.verify(token, Date.now());
    expect(result).toMatchObject({ ok: false, detail: expect.stringContaining('larger than 1048576 bytes') });
    expect(await outcomes(registry)).toEqual(['jwks:too_large']);
  });
});
