import type { ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import type { Decision } from '../core/decision.js';
import type { ClientFacts } from './client-facts.js';
import { writeAllow, writeDecision } from './decision-response.js';
import { accessDeniedPage } from './pages.js';
import type { HeaderPair } from './request-log.js';

/**
 * For gateways that pass airy-auth's denial to the browser as it is (Traefik ForwardAuth, Caddy,
 * Envoy ext_authz): a navigation without a session gets a 302 to the login page, with an absolute
 * Location because Traefik rewrites relative ones against the auth server's address; a script or
 * API client gets the plain 401 with WWW-Authenticate; a refused navigation gets a readable page.
 */
export function respondToClient(res: ServerResponse, decision: Decision, facts: ClientFacts, policy: Policy | undefined, echo: HeaderPair): void {
  if (decision.status === 200) return writeAllow(res, decision, echo);
  if (decision.status === 401 && facts.navigation && policy !== undefined && policy.providers.size > 0) {
    const loginOrigin = policy.publicUrl ?? `${facts.scheme}://${facts.host}`;
    res.writeHead(302, {
      Location: `${loginOrigin}/login?rd=${encodeURIComponent(facts.originalUrl)}`,
      'Cache-Control': 'no-store',
      'Content-Length': '0',
      [echo[0]]: echo[1],
    });
    res.end();
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
  writeDecision(res, decision, echo);
}
