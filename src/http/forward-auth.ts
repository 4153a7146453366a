import type { IncomingMessage } from 'node:http';
import { queryOf } from './auth-request.js';
import { type ClientFacts, clientFacts, clientHeaderNames } from './client-facts.js';
import type { FactsResult } from './credentials.js';
import type { Adapter } from './decision-route.js';
import { REPEATED, type RequestHeaders } from './request-headers.js';

const FORWARD_HEADERS = clientHeaderNames(['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri']);

/**
 * Traefik ForwardAuth and Caddy `forward_auth` (`/forward-auth`): the original request arrives as
 * X-Forwarded-Method/-Proto/-Host/-Uri, which these gateways set themselves. Only this endpoint
 * trusts them; `/auth` never does.
 */
export function forwardAuthFacts(req: IncomingMessage, headers: RequestHeaders): FactsResult<ClientFacts> {
  const facts = clientFacts(
    headers,
    (h) => {
      const [method, proto, host, uri] = ['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri'].map((n) => h.single(n));
      if (method === REPEATED || proto === REPEATED || host === REPEATED || uri === REPEATED) return { why: 'repeated X-Forwarded-* header' };
      if (host === undefined || uri === undefined) return { why: 'X-Forwarded-Host and X-Forwarded-Uri are required on /forward-auth' };
      return { method: method ?? req.method ?? 'GET', host, scheme: proto ?? 'http', target: uri };
    },
    'X-Forwarded-Method, -Host, -Proto or -Uri',
  );
  const ruleQuery = rulesOf(req.url, facts.ok ? facts.facts.originalUrl : undefined);
  return facts.ok && ruleQuery !== undefined ? { ok: true, facts: { ...facts.facts, ruleQuery } } : facts;
}

export const forwardAuthAdapter: Adapter<ClientFacts> = { name: 'forward-auth', headers: FORWARD_HEADERS, facts: forwardAuthFacts };

const RULE_PARAMS = new Set(['allowed_groups', 'allowed_emails', 'allowed_email_domains', 'policy']);

/**
 * The route's rules: the query of the configured address. Traefik calls the address as written;
 * Caddy's `uri /forward-auth` keeps the client's query unless the directive gives one. So a query
 * that is the client's own (the same as the original request's) and holds anything but rule
 * parameters is the application's, not a rule. A query of rule parameters alone is always applied:
 * at worst a client adds a rule of its own, which only narrows.
 */
function rulesOf(url: string | undefined, originalUrl: string | undefined): string | undefined {
  const query = queryOf(url);
  if (query === undefined) return undefined;
  const onlyRules = [...new URLSearchParams(query).keys()].every((k) => RULE_PARAMS.has(k));
  return !onlyRules && originalUrl !== undefined && queryOf(originalUrl) === query ? undefined : query;
}
