import { request } from 'undici';
import { expect } from 'vitest';
import { compileAiryYaml } from '../../src/config/load.js';
import { type AiryProcess, startAiry } from './airy-process.js';
import { startCaddy } from './caddy.js';
import { startEnvoyLikeGateway, startGatewayApiLikeGateway } from './envoy-ext-authz.js';
import { startNginx } from './nginx.js';
import { startEchoUpstream } from './upstream.js';

/** A gateway in front of the echo upstream, asking airy-auth about every request. */
export interface Gateway {
  readonly name: string;
  readonly url: string;
  /** Where a 401 is sent instead, if this gateway redirects it (and for which requests). */
  readonly loginRedirect: ((originalUrl: string) => string) | undefined;
  readonly redirects: (row: Row) => boolean;
  close(): Promise<void>;
}

export type Expect = 200 | 401 | 403;
export interface Row {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers: () => Record<string, string>;
  readonly decision: Expect;
  readonly navigation?: boolean;
  readonly user?: string;
  readonly email?: string;
  readonly groups?: string;
}

/**
 * Every gateway shape, each pointed at the same airy-auth: ingress-nginx and NGINX Gateway Fabric
 * through real nginx, Caddy's forward_auth, an Envoy ext_authz HTTP gateway and a Gateway API
 * ExternalAuth gateway. With `policy`, each selects that named policy the way its protocol allows.
 */
export async function startGateways(airy: AiryProcess, upstreamPort: number, policy?: string, signedIdentity = false): Promise<Gateway[]> {
  const gateways: Gateway[] = [];
  const upstream = { port: upstreamPort };
  const query = policy ? `?policy=${policy}` : '';
  const envoyPrefix = policy ? `/envoy-policy/${policy}` : '/envoy';
  const gatewayApiPath = policy ? `/gateway-api-policy/${policy}` : '/gateway-api';
  const up = `127.0.0.1:${upstream.port}`;
  const airyHostPort = airy.url.replace('http://', '');
  // With signedIdentity, X-Auth-Request-Jwt is copied as the others are (so a client's copy is overwritten).
  const identity = ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups', ...(signedIdentity ? ['X-Auth-Request-Jwt'] : [])];

  // As the README advises: pages with auth-signin, /api/ without it.
  const annotations = { 'auth-url': `${airy.url}/auth${query}`, 'auth-response-headers': identity.join(',') };
  const ingress = await startNginx({
    paths: [
      { path: '/api/', upstream: up, annotations },
      { path: '/', upstream: up, annotations: { ...annotations, 'auth-signin': 'http://$http_host/login' } },
    ],
  });
  gateways.push({
    name: 'ingress-nginx (auth-url)',
    url: ingress.url,
    // ingress-nginx turns every 401 of a location with auth-signin into the redirect, navigation or not.
    redirects: (row) => !row.path.startsWith('/api/'),
    loginRedirect: (u) => `${ingress.url}/login?rd=${u.replace(/^(https?:\/\/[^/]+)(.*)$/, (_m, o: string, rest: string) => o + encodeURIComponent(rest))}`,
    close: ingress.stop,
  });

  const ngf = await startNginx({
    paths: [
      {
        path: '/',
        upstream: up,
        ngf: {
          authUrl: `${airy.url}${gatewayApiPath}`,
          allowedHeaders: ['Cookie', 'Origin', 'Access-Control-Request-Method'],
          allowedResponseHeaders: identity,
        },
      },
    ],
  });
  gateways.push({
    name: 'NGINX Gateway Fabric (ExternalAuth via auth_request)',
    url: ngf.url,
    loginRedirect: undefined,
    redirects: () => false,
    close: ngf.stop,
  });

  const caddy = await startCaddy(airyHostPort, up, undefined, `/forward-auth${query}`, identity);
  gateways.push({
    name: 'Caddy forward_auth (Traefik-style X-Forwarded-*)',
    url: caddy.url,
    loginRedirect: (u) => `${caddy.url}/login?rd=${encodeURIComponent(u)}`,
    redirects: (row) => row.navigation === true,
    close: caddy.stop,
  });

  const allowed = ['cookie', 'origin', 'accept', 'sec-fetch-mode', 'x-requested-with', 'access-control-request-method'];
  const envoy = await startEnvoyLikeGateway({
    authHost: '127.0.0.1',
    authPort: airy.port,
    pathPrefix: envoyPrefix,
    allowedHeaders: allowed,
    allowedUpstreamHeaders: identity.map((h) => h.toLowerCase()),
    upstreamPort: upstream.port,
  });
  // Envoy terminates TLS in front: without X-Forwarded-Proto the adapter assumes https.
  gateways.push({
    name: 'Envoy ext_authz (HTTP service)',
    url: envoy.url,
    loginRedirect: (u) =>
      `${u.replace(/^http:/, 'https:').replace(/^(https:\/\/[^/]+).*$/, '$1')}/login?rd=${encodeURIComponent(u.replace(/^http:/, 'https:'))}`,
    redirects: (row) => row.navigation === true,
    close: envoy.close,
  });

  const gapi = await startGatewayApiLikeGateway({
    authHost: '127.0.0.1',
    authPort: airy.port,
    path: gatewayApiPath,
    allowedHeaders: ['cookie', 'origin', 'access-control-request-method'],
    allowedResponseHeaders: identity.map((h) => h.toLowerCase()),
    upstreamPort: upstream.port,
  });
  gateways.push({ name: 'Gateway API ExternalAuth (HTTP)', url: gapi.url, loginRedirect: undefined, redirects: () => false, close: gapi.close });
  return gateways;
}

/** One row through every gateway: the same request must get the same decision whichever carries it. */
export async function expectRowEverywhere(gateways: readonly Gateway[], row: Row): Promise<void> {
  const outcomes: Record<string, string> = {};
  const expected: Record<string, string> = {};
  for (const g of gateways) {
    const res = await request(`${g.url}${row.path}`, { method: (row.method ?? 'GET') as 'GET', headers: row.headers() });
    const body = await res.body.text();
    let seen = `${res.statusCode}`;
    if (res.statusCode === 200) {
      const echoed = JSON.parse(body) as { headers: Record<string, string> };
      // Absent or empty both mean "no identity"; a forged client value must never show.
      seen += ` user=${echoed.headers['x-auth-request-user'] || '-'} email=${echoed.headers['x-auth-request-email'] || '-'}`;
      seen += ` groups=${echoed.headers['x-auth-request-groups'] || '-'}`;
    }
    if (res.statusCode === 302) seen += ` ${String(res.headers.location)}`;
    outcomes[g.name] = seen;
    const original = `${g.url}${row.path}`;
    expected[g.name] =
      row.decision === 200
        ? `200 user=${row.user ?? '-'} email=${row.email ?? '-'} groups=${row.groups ?? '-'}`
        : row.decision === 401 && g.loginRedirect && g.redirects(row)
          ? `302 ${g.loginRedirect(original)}`
          : String(row.decision);
  }
  expect(outcomes).toEqual(expected);
}

/** airy-auth with `config`, the echo upstream, and every gateway in front (selecting `policy` when given). */
export async function startGatewayTable(config: string, policy?: string, signedIdentity = false) {
  const upstream = await startEchoUpstream();
  const airy = await startAiry(config);
  const gateways = await startGateways(airy, upstream.port, policy, signedIdentity);
  return {
    airy,
    gateways,
    key: compileAiryYaml(config).policy!.sessionKey!,
    async close() {
      await Promise.all(gateways.map((g) => g.close()));
      await airy.stop();
      await upstream.close();
    },
  };
}
