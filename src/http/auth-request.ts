import type { IncomingMessage } from 'node:http';
import type { Facts } from '../core/facts.js';
import { CREDENTIAL_HEADER_NAMES, credentialFacts, type FactsResult } from './credentials.js';
import type { Adapter } from './decision-route.js';
import { isPrintableAscii, REPEATED, type RequestHeaders, splitAbsoluteUrl, validHost, validMethod } from './request-headers.js';

const AUTH_REQUEST_HEADERS = new Set<string>([...CREDENTIAL_HEADER_NAMES, 'x-original-url', 'x-original-method', 'host']);

/**
 * ingress-nginx `auth-url` (and any nginx auth_request): the original request arrives as
 * X-Original-URL and X-Original-Method. Called directly (no X-Original-URL), the request itself is
 * the original. X-Forwarded-Host/-Uri are client-settable through ingress-nginx and never read here.
 */
export function authRequestFacts(req: IncomingMessage, headers: RequestHeaders): FactsResult {
  const c = credentialFacts(headers);
  if (!c.ok) return c;
  const originalUrl = headers.single('x-original-url');
  const originalMethod = headers.single('x-original-method');
  if (originalUrl === REPEATED || originalMethod === REPEATED) return { ok: false, why: 'repeated X-Original-* header' };
  const method = validMethod(originalMethod ?? req.method ?? '');
  if (method === undefined) return { ok: false, why: 'bad method' };
  let scheme: 'http' | 'https' = 'http';
  let host: string | undefined;
  let path: string;
  // The auth URL's own query carries the route's rules (oauth2-proxy's /oauth2/auth parameters);
  // called directly, without X-Original-URL, the query belongs to the original request instead.
  let ruleQuery: string | undefined;
  if (originalUrl !== undefined) {
    const url = isPrintableAscii(originalUrl) ? splitAbsoluteUrl(originalUrl) : undefined;
    if (url === undefined) return { ok: false, why: 'X-Original-URL is not an absolute http(s) URL' };
    ({ scheme, host, path } = url);
    ruleQuery = queryOf(req.url);
  } else {
    const hostHeader = headers.single('host');
    if (hostHeader === REPEATED) return { ok: false, why: 'repeated Host header' };
    host = validHost(hostHeader ?? '');
    path = (req.url ?? '/').split('?', 1)[0]!;
    if (!path.startsWith('/') || !isPrintableAscii(path)) return { ok: false, why: 'bad request target' };
  }
  if (host === undefined) return { ok: false, why: 'missing or malformed Host' };
  const { authorization, origin, sessionCookies, preflight } = c.creds;
  return { ok: true, facts: { method, scheme, host, path, authorization, origin, sessionCookies, preflight, ruleQuery } };
}

export const authRequestAdapter: Adapter<Facts> = { name: 'auth', headers: AUTH_REQUEST_HEADERS, facts: authRequestFacts };

/** The query of a request target, or undefined when it has none. */
export function queryOf(url: string | undefined): string | undefined {
  const q = url === undefined ? -1 : url.indexOf('?');
  return q < 0 || q === url!.length - 1 ? undefined : url!.slice(q + 1);
}
