/**
 * What the decision needs to know about one request, already extracted by a gateway adapter.
 * Adapters decide which headers they trust; the core never sees a header it should not trust.
 */
export interface Facts {
  /** The original request's method (as the gateway reports it). */
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Lower-case host[:port] of the original request. */
  readonly host: string;
  /** The original request's path as sent (still percent-encoded), without query or fragment. */
  readonly path: string;
  readonly origin: string | undefined;
  readonly authorization: string | undefined;
  /** Every `airy_auth_token` cookie value, in the order sent. */
  readonly sessionCookies: readonly string[];
  /** The request carries Access-Control-Request-Method: with method OPTIONS, a CORS preflight. */
  readonly preflight?: boolean | undefined;
  /**
   * The route's own rules, as the gateway sent them: the auth URL's query (oauth2-proxy's
   * allowed_groups, allowed_emails, allowed_email_domains, and policy=NAME). Undefined: none.
   */
  readonly ruleQuery?: string | undefined;
}
