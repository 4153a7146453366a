import type { ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import type { Decision } from '../core/decision.js';
import { safeRedirect } from '../core/redirect-target.js';
import type { ClientFacts } from './client-facts.js';
import { writeAllow, writeDecision } from './decision-response.js';
import { accessDeniedPage } from './pages.js';
import type { HeaderPair } from './request-log.js';

/** Where the login is: publicUrl when set, else the app's own origin (its Ingress routes /login to airy-auth). */
function loginOriginOf(policy: Policy, facts: ClientFacts): string {
  return policy.publicUrl ?? `${facts.scheme}://${facts.host}`;
}

/**
 * For gateways that pass airy-auth's denial to the browser as it is (Traefik ForwardAuth, Caddy,
 * Envoy ext_authz): a navigation without a session gets a 302 to the login page, with an absolute
 * Location because Traefik rewrites relative ones against the auth server's address; a script or
 * API client gets the plain 401 with WWW-Authenticate; a refused navigation gets a readable page,
 * which for a person from a provider the app does not accept links to the login of each it does.
 */
export function respondToClient(
  res: ServerResponse,
  decision: Decision,
  facts: ClientFacts,
  policy: Policy | undefined,
  echo: HeaderPair,
  now: () => number,
): void {
  if (decision.status === 200) return writeAllow(res, decision, echo, facts, policy, now);
  if (decision.status === 401 && facts.navigation && policy !== undefined && policy.providers.size > 0) {
    const loginOrigin = loginOriginOf(policy, facts);
    res.writeHead(302, {
      Location: `${loginOrigin}/login?rd=${encodeURIComponent(facts.originalUrl)}`,
      'Cache-Control': 'no-store',
      'Content-Length': '0',
      [echo[0]]: echo[1],
    });
    res.end();
    return;
  }
  if (decision.status === 403 && facts.navigation && decision.reason === 'provider_not_allowed' && policy !== undefined) {
    const loginOrigin = loginOriginOf(policy, facts);
    const providers = (decision.acceptedProviders ?? []).flatMap((name) => policy.providers.get(name) ?? []);
    // Back to the app after the login only where that login may send the browser; an empty rd is none.
    const rd = safeRedirect(facts.originalUrl, loginOrigin, policy.origins, policy.redirectDomains) ?? '';
    accessDeniedPage(res, decision.email, undefined, { [echo[0]]: echo[1] }, { providers, rd, loginOrigin });
    return;
  }
  if (decision.status === 403 && facts.navigation) {
    accessDeniedPage(
      res,
      decision.reason === 'email_not_allowed' || decision.reason === 'group_not_allowed' ? decision.email : undefined,
      decision.missingGroups,
      { [echo[0]]: echo[1] },
    );
    return;
  }
  writeDecision(res, decision, echo, facts, policy, now);
}
