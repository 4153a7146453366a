import type { IncomingMessage } from 'node:http';
import { queryOf } from './auth-request.js';
import { type ClientFacts, clientFacts, clientHeaderNames } from './client-facts.js';
import type { FactsResult } from './credentials.js';
import type { Adapter } from './decision-route.js';
import { anotherRequestNamed, ORIGINAL_HEADERS } from './request-agreement.js';
import { REPEATED, type RequestHeaders } from './request-headers.js';

// X-Original-URL/-Method are read only to compare (see anotherRequestNamed).
const FORWARD_HEADERS = clientHeaderNames(['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri', ...ORIGINAL_HEADERS]);

/**
 * Traefik ForwardAuth and Caddy `forward_auth` (`/forward-auth`): the original request arrives as
 * X-Forwarded-Method/-Proto/-Host/-Uri, which these gateways set themselves. Only this endpoint
 * trusts them; `/auth` never does. An Ingress whose auth-url names this endpoint may be served by
 * ingress-nginx too, which passes a client's X-Forwarded-* and sets X-Original-URL/-Method itself:
 * so a call whose X-Original-* name another request is refused (403), the mirror of `/auth`.
 */
export function forwardAuthFacts(req: IncomingMessage, headers: RequestHeaders): FactsResult<ClientFacts> {
  let target = '';
  const facts = clientFacts(
    headers,
    (h) => {
      const [method, proto, host, uri] = ['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri'].map((n) => h.single(n));
      if (method === REPEATED || proto === REPEATED || host === REPEATED || uri === REPEATED) return { why: 'repeated X-Forwarded-* header' };
      if (host === undefined || uri === undefined) return { why: 'X-Forwarded-Host and X-Forwarded-Uri are required on /forward-auth' };
      target = uri;
      return { method: method ?? req.method ?? 'GET', host, scheme: proto ?? 'http', target: uri };
    },
    'X-Forwarded-Method, -Host, -Proto or -Uri',
  );
  if (facts.ok) {
    const disagreement = anotherRequestNamed(headers, { method: facts.facts.method, host: facts.facts.host, target }, 'forwarded');
    if (disagreement !== undefined) return { ok: false, why: disagreement, forged: true };
  }
  const ruleQuery = rulesOf(req.url, facts.ok ? facts.facts.originalUrl : undefined);
  return facts.ok && ruleQuery !== undefined ? { ok: true, facts: { ...facts.facts, ruleQuery } } : facts;
}

export const forwardAuthAdapter: Adapter<ClientFacts> = { name: 'forward-auth', headers: FORWARD_HEADERS, facts: forwardAuthFacts };

const RULE_PARAMS = new Set(['allowed_groups', 'allowed_emails', 'allowed_email_domains', 'policy']);

/**
 * The route's rules: the query of the configured address. Traefik calls the address as written;
 * Caddy's `uri /forward-auth` keeps the client's query unless the directive gives one. So a query
 * with no rule key at all that is the client's own (the same as the original request's) is the
 * application's, not a rule. A query holding any rule key is always applied, and so refused whole
 * when it cannot be read: repeating the route's query on the request must never drop its rule. At
 * worst a client adds a rule of its own, which only narrows.
 */
function rulesOf(url: string | undefined, originalUrl: string | undefined): string | undefined {
  const query = queryOf(url);
  if (query === undefined) return undefined;
  for (const key of new URLSearchParams(query).keys()) if (RULE_PARAMS.has(key)) return query;
  return originalUrl !== undefined && queryOf(originalUrl) === query ? undefined : query;
}
