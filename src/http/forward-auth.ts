import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { FactsResult } from './auth-request.js';
import { CREDENTIAL_HEADERS, credentialFacts } from './auth-request.js';
import { NAVIGATION_HEADERS, isBrowserNavigation } from './browser-navigation.js';
import { identityHeaders, wwwAuthenticate } from './decision-response.js';
import type { ServerDeps } from './deps.js';
import { escapeHtml, logoutForm, sendPage } from './pages.js';
import { REPEATED, RequestHeaders, isPrintableAscii, validHost, validMethod } from './request-headers.js';

const FORWARD_HEADERS = new Set<string>([...CREDENTIAL_HEADERS, ...NAVIGATION_HEADERS, 'x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri']);

/** The forwarded facts plus what the answer needs: whether this is a navigation, and the original URL. */
interface ForwardFacts extends Facts {
  readonly navigation: boolean;
  readonly originalUrl: string;
}

/**
 * Traefik ForwardAuth and Caddy `forward_auth`: the original request arrives as
 * X-Forwarded-Method/-Proto/-Host/-Uri, which these gateways set themselves. Only this endpoint
 * trusts them; `/auth` never does.
 */
export function forwardAuthFacts(req: IncomingMessage): FactsResult {
  const headers = new RequestHeaders(req, FORWARD_HEADERS);
  const c = credentialFacts(headers);
  if (!c.ok) return c;
  const get = (name: string) => {
    const v = headers.single(name);
    return v === REPEATED ? null : v;
  };
  const [fMethod, fProto, fHost, fUri] = [get('x-forwarded-method'), get('x-forwarded-proto'), get('x-forwarded-host'), get('x-forwarded-uri')];
  if (fMethod === null || fProto === null || fHost === null || fUri === null) return { ok: false, why: 'repeated X-Forwarded-* header' };
  if (fHost === undefined || fUri === undefined) return { ok: false, why: 'X-Forwarded-Host and X-Forwarded-Uri are required on /forward-auth' };
  const method = validMethod(fMethod ?? req.method ?? 'GET');
  const host = validHost(fHost.split(',', 1)[0]!.trim());
  const scheme = (fProto ?? 'http').split(',', 1)[0]!.trim().toLowerCase();
  if (method === undefined || host === undefined || (scheme !== 'http' && scheme !== 'https')) return { ok: false, why: 'malformed X-Forwarded-Method, -Host or -Proto' };
  if (!fUri.startsWith('/') || !isPrintableAscii(fUri)) return { ok: false, why: 'malformed X-Forwarded-Uri' };
  const facts: ForwardFacts = {
    method,
    scheme,
    host,
    path: fUri.split('?', 1)[0]!,
    ...c.creds,
    navigation: isBrowserNavigation(method, headers),
    originalUrl: `${scheme}://${host}${fUri}`,
  };
  return { ok: true, facts };
}

/**
 * The answer goes to the browser as it is (these gateways pass denials through), so: a navigation
 * without a session gets a 302 to the login page, with an absolute Location because Traefik
 * rewrites relative ones against the auth server's address; anything else gets the plain status.
 */
export function respondForwardAuth(_req: IncomingMessage, res: ServerResponse, decision: Decision, facts: Facts, deps: ServerDeps): void {
  const f = facts as ForwardFacts;
  if (decision.status === 200) {
    res.writeHead(200, { ...identityHeaders(decision), 'Content-Length': '0' });
    res.end();
    return;
  }
  if (decision.status === 401 && f.navigation && deps.store.current?.oidc) {
    const loginOrigin = deps.store.current.publicUrl ?? `${f.scheme}://${f.host}`;
    res.writeHead(302, { Location: `${loginOrigin}/login?rd=${encodeURIComponent(f.originalUrl)}`, 'Cache-Control': 'no-store', 'Content-Length': '0' });
    res.end();
    return;
  }
  if (decision.status === 403 && f.navigation) {
    const body = decision.reason === 'email_not_allowed'
      ? `<p>You are signed in as <strong>${escapeHtml(decision.email ?? '')}</strong>, which may not use this service.</p>${logoutForm('Log out and try another account')}`
      : '<p>This request is not allowed from where it was made.</p>';
    sendPage(res, 403, 'Access denied', body);
    return;
  }
  const text = `${decision.status} ${decision.reason}\n`;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(text)) };
  if (decision.status === 401) headers['WWW-Authenticate'] = wwwAuthenticate(decision);
  res.writeHead(decision.status, headers);
  res.end(text);
}
