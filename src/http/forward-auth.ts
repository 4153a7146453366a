import type { IncomingMessage } from 'node:http';
import { type ClientFacts, clientFacts, clientHeaderNames } from './client-facts.js';
import type { FactsResult } from './credentials.js';
import type { Adapter } from './decision-route.js';
import { anotherRequestNamed, ORIGINAL_HEADERS } from './request-agreement.js';
import { REPEATED, type RequestHeaders } from './request-headers.js';
import { queryOf } from './request-target.js';

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

const RULE_PARAMS = ['allowed_groups', 'allowed_emails', 'allowed_email_domains', 'policy'];

/**
 * Whether a query key may be meant as a rule: a rule key in any case or spelling (`Policy`,
 * `allowed_groups[]`, `allowed-groups`, already percent-decoded by URLSearchParams), or a near miss
 * (`allowed_group`, `polciy`, `alowed_emails`). Such a key is never taken for the application's own,
 * so a mistyped rule is refused (invalid_rule) even when the client repeats it. An application's
 * `email=` or `group=` stays its own. A long key is compared by its first 64 characters, so the cost
 * stays bounded.
 */
export function looksLikeRuleKey(key: string): boolean {
  const letters = key
    .slice(0, 64)
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  if (letters.includes('allow') || letters.includes('polic')) return true;
  return RULE_LETTERS.some((rule) => withinTwoEdits(letters, rule));
}

const RULE_LETTERS = RULE_PARAMS.map((k) => k.replace(/_/g, ''));

/** Levenshtein distance at most 2 (a row-by-row table, cut short when the lengths differ too much). */
function withinTwoEdits(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 2) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]! <= 2;
}

/**
 * The route's rules: the query of the configured address. Traefik calls the address as written;
 * Caddy's `uri /forward-auth` keeps the client's query unless the directive gives one. So a query
 * with no rule key at all that is the client's own (the same as the original request's) is the
 * application's, not a rule. A query holding any key that is or may be meant as a rule key
 * (looksLikeRuleKey) is always applied, and so refused whole when it cannot be read: repeating the
 * route's query on the request must never drop its rule. At worst a client adds a rule of its own,
 * which only narrows.
 */
function rulesOf(url: string | undefined, originalUrl: string | undefined): string | undefined {
  const query = queryOf(url);
  if (query === undefined) return undefined;
  if (originalUrl === undefined || queryOf(originalUrl) !== query) return query;
  for (const key of new URLSearchParams(query).keys()) if (looksLikeRuleKey(key)) return query;
  return undefined;
}
