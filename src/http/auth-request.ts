import type { IncomingMessage } from 'node:http';
import type { Facts } from '../core/facts.js';
import { CREDENTIAL_HEADER_NAMES, credentialFacts, type FactsResult } from './credentials.js';
import type { Adapter } from './decision-route.js';
import { anotherRequestNamed, FORWARDED_HEADERS, ORIGINAL_HEADERS } from './request-agreement.js';
import { isPrintableAscii, REPEATED, type RequestHeaders, splitAbsoluteUrl, validHost, validMethod } from './request-headers.js';
import { pathOf, queryOf } from './request-target.js';

const AUTH_REQUEST_HEADERS = new Set<string>([
  ...CREDENTIAL_HEADER_NAMES,
  ...ORIGINAL_HEADERS,
  'host',
  // Read only to compare: a forward-auth gateway sets them itself (see anotherRequestNamed).
  ...FORWARDED_HEADERS,
]);

/**
 * ingress-nginx `auth-url` (and any nginx auth_request): the original request arrives as
 * X-Original-URL and X-Original-Method. Called directly (no X-Original-URL), the request itself is
 * the original. X-Forwarded-Method/-Host/-Uri are never taken as the original request here; but
 * when a call carries them and they name another request than the one judged, the call is refused:
 * that is a forward-auth gateway (Traefik, also through its ingress-nginx provider; Caddy) which
 * sets those itself and passes a client's forged X-Original-URL/-Method through untouched.
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
  let target: string;
  if (originalUrl !== undefined) {
    const url = isPrintableAscii(originalUrl) ? splitAbsoluteUrl(originalUrl) : undefined;
    if (url === undefined) return { ok: false, why: 'X-Original-URL is not an absolute http(s) URL' };
    ({ scheme, host, path } = url);
    target = path + url.query;
  } else {
    const hostHeader = headers.single('host');
    if (hostHeader === REPEATED) return { ok: false, why: 'repeated Host header' };
    host = validHost(hostHeader ?? '');
    target = req.url ?? '/';
    path = pathOf(target);
    if (!path.startsWith('/') || !isPrintableAscii(path)) return { ok: false, why: 'bad request target' };
  }
  if (host === undefined) return { ok: false, why: 'missing or malformed Host' };
  const disagreement = anotherRequestNamed(headers, { method, host, target }, 'original');
  // A refusal (403), not a malformed request: nginx turns any other status into a 500.
  if (disagreement !== undefined) return { ok: false, why: disagreement, forged: true };
  const { authorization, origin, sessionCookies, preflight } = c.creds;
  // The auth URL's own query carries the route's rules (oauth2-proxy's /oauth2/auth parameters),
  // whatever else the call has or lacks: a hand-written auth_request without X-Original-URL must
  // not turn `?allowed_groups=sre` into no rule at all. Called directly by a client, a query of its
  // own is then read as a rule too, which only ever narrows (or refuses).
  const ruleQuery = queryOf(req.url);
  return { ok: true, facts: { method, scheme, host, path, authorization, origin, sessionCookies, preflight, ruleQuery } };
}

/**
 * Every refusal of a malformed call is a 403 here, not a 400: nginx's auth_request turns any
 * status but 2xx, 401 and 403 into a 500, which a stranger could otherwise cause at will (a Host
 * ending in `#`, Authorization sent twice) and which pages an operator for nothing.
 */
export const authRequestAdapter: Adapter<Facts> = { name: 'auth', headers: AUTH_REQUEST_HEADERS, facts: authRequestFacts, malformedStatus: 403 };
