import type { Facts } from '../core/facts.js';
import { isBrowserNavigation } from './browser-navigation.js';
import { CREDENTIAL_HEADER_NAMES, type Credentials, credentialFacts, type FactsResult } from './credentials.js';
import { lowerCased, NAVIGATION_HEADERS } from './gateway-headers.js';
import { isPrintableAscii, type RequestHeaders, validHost, validMethod } from './request-headers.js';
import { pathOf } from './request-target.js';

/** Facts from a gateway that passes a denial to the client: plus whether it is a navigation, and the URL. */
export interface ClientFacts extends Facts {
  readonly navigation: boolean;
  readonly originalUrl: string;
}

/** The original request as a pass-through gateway reports it, as text, not yet validated. */
export interface ReportedRequest {
  readonly method: string;
  readonly host: string;
  readonly scheme: string;
  /** Path and query. */
  readonly target: string;
}

/** The headers a pass-through adapter reads: credentials, navigation hints and its own `extra`. */
export function clientHeaderNames(extra: readonly string[]): Set<string> {
  return new Set<string>([...CREDENTIAL_HEADER_NAMES, ...lowerCased(NAVIGATION_HEADERS), ...extra]);
}

/**
 * The shared second half of every pass-through adapter (forward-auth, Envoy, Gateway API): the
 * credentials, then the reported original request, validated; `what` names its source for the 400.
 */
export function clientFacts(
  headers: RequestHeaders,
  reported: (headers: RequestHeaders) => ReportedRequest | { why: string },
  what: string,
  ruleQuery?: string,
): FactsResult<ClientFacts> {
  const c = credentialFacts(headers);
  if (!c.ok) return c;
  const original = reported(headers);
  if ('why' in original) return { ok: false, why: original.why };
  return buildClientFacts(original, c.creds, headers, what, ruleQuery);
}

function buildClientFacts(
  original: ReportedRequest,
  creds: Credentials,
  headers: RequestHeaders,
  what: string,
  ruleQuery: string | undefined,
): FactsResult<ClientFacts> {
  const method = validMethod(original.method);
  const host = validHost(original.host.split(',', 1)[0]!.trim());
  const scheme = original.scheme.split(',', 1)[0]!.trim().toLowerCase();
  if (method === undefined || host === undefined || (scheme !== 'http' && scheme !== 'https')) return { ok: false, why: `malformed ${what}` };
  if (!original.target.startsWith('/') || !isPrintableAscii(original.target)) return { ok: false, why: `malformed original path in ${what}` };
  return {
    ok: true,
    facts: {
      method,
      scheme,
      host,
      path: pathOf(original.target),
      // Named one by one, not spread: every facts object then has one shape, which the decision's
      // compiled code reads without a generic property look-up.
      authorization: creds.authorization,
      origin: creds.origin,
      sessionCookies: creds.sessionCookies,
      preflight: creds.preflight,
      ruleQuery,
      navigation: isBrowserNavigation(method, headers),
      originalUrl: `${scheme}://${host}${original.target}`,
    },
  };
}
