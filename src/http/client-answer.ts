import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import type { FactsResult } from './auth-request.js';
import { isBrowserNavigation } from './browser-navigation.js';
import { writeAllow, writeDecision } from './decision-response.js';
import { isPrintableAscii, validHost, validMethod, type RequestHeaders } from './request-headers.js';
import type { ServerDeps } from './deps.js';
import { escapeHtml, logoutForm, sendPage } from './pages.js';

/** Facts from a gateway that passes a denial to the client: plus whether it is a navigation, and the URL. */
export interface ClientFacts extends Facts {
  readonly navigation: boolean;
  readonly originalUrl: string;
}

/**
 * Validates what a pass-through gateway reported about the original request (method, host,
 * scheme and path-with-query, as text) and builds its facts; `what` names the headers for the 400.
 */
export function buildClientFacts(
  original: { method: string; host: string; scheme: string; target: string },
  creds: Pick<Facts, 'authorization' | 'origin' | 'sessionCookies'>,
  headers: RequestHeaders,
  what: string,
): FactsResult {
  const method = validMethod(original.method);
  const host = validHost(original.host.split(',', 1)[0]!.trim());
  const scheme = original.scheme.split(',', 1)[0]!.trim().toLowerCase();
  if (method === undefined || host === undefined || (scheme !== 'http' && scheme !== 'https')) return { ok: false, why: `malformed ${what}` };
  if (!original.target.startsWith('/') || !isPrintableAscii(original.target)) return { ok: false, why: `malformed original path in ${what}` };
  const facts: ClientFacts = {
    method,
    scheme,
    host,
    path: original.target.split('?', 1)[0]!,
    ...creds,
    navigation: isBrowserNavigation(method, headers),
    originalUrl: `${scheme}://${host}${original.target}`,
  };
  return { ok: true, facts };
}

/**
 * For gateways that pass airy-auth's denial to the browser as it is (Traefik ForwardAuth, Caddy,
 * Envoy ext_authz): a navigation without a session gets a 302 to the login page, with an absolute
 * Location because Traefik rewrites relative ones against the auth server's address; a script or
 * API client gets the plain 401 with WWW-Authenticate; a refused navigation gets a readable page.
 */
export function respondToClient(_req: IncomingMessage, res: ServerResponse, decision: Decision, facts: Facts, deps: ServerDeps): void {
  const f = facts as ClientFacts;
  if (decision.status === 200) return writeAllow(res, decision);
  if (decision.status === 401 && f.navigation && deps.store.current?.oidc) {
    const loginOrigin = deps.store.current.publicUrl ?? `${f.scheme}://${f.host}`;
    res.writeHead(302, { Location: `${loginOrigin}/login?rd=${encodeURIComponent(f.originalUrl)}`, 'Cache-Control': 'no-store', 'Content-Length': '0' });
    res.end();
    return;
  }
  if (decision.status === 403 && f.navigation) {
    const body =
      decision.reason === 'email_not_allowed'
        ? `<p>You are signed in as <strong>${escapeHtml(decision.email ?? '')}</strong>, which may not use this service.</p>${logoutForm('Log out and try another account')}`
        : '<p>This request is not allowed from where it was made.</p>';
    sendPage(res, 403, 'Access denied', body);
    return;
  }
  writeDecision(res, decision);
}
