/**
 * The header contract between airy-auth and every gateway, in one place: what a gateway must pass
 * to airy-auth, and what it must copy from an allow to the upstream. The adapters, `migrate` and
 * the chart's `_gateway-headers.tpl` (checked by a test) all use these lists.
 */

/** The credentials: a token, the session cookie, and the Origin checked against allowedOrigins. */
export const CREDENTIAL_HEADERS = ['Authorization', 'Cookie', 'Origin'] as const;

/** Hints that tell a browser navigation (sent to the login page) from a script (given a 401). */
export const NAVIGATION_HEADERS = ['Accept', 'Sec-Fetch-Mode', 'X-Requested-With'] as const;

/** The original scheme, for gateways that call airy-auth with the original path and Host. */
export const SCHEME_HEADER = 'X-Forwarded-Proto';

/** Marks a CORS preflight, which `skipPreflight` lets through without credentials. */
export const PREFLIGHT_HEADER = 'Access-Control-Request-Method';

/** Everything a gateway that does not forward every header must be told to pass to airy-auth. */
export const HEADERS_TO_AUTH = [...CREDENTIAL_HEADERS, SCHEME_HEADER, ...NAVIGATION_HEADERS, PREFLIGHT_HEADER] as const;

/** The identity on an allow, under the names oauth2-proxy made common. */
export const USER_HEADER = 'X-Auth-Request-User';
export const EMAIL_HEADER = 'X-Auth-Request-Email';
/** The session's groups, comma-joined (IdP groups, GitHub `org` and `org:team`). */
export const GROUPS_HEADER = 'X-Auth-Request-Groups';
/**
 * The same identity as an ES256 JWT that the upstream verifies against /.well-known/jwks.json
 * (signedIdentity). Every gateway is told to copy it like the others, so a client's copy is overwritten.
 */
export const JWT_HEADER = 'X-Auth-Request-Jwt';
export const IDENTITY_HEADERS = [USER_HEADER, EMAIL_HEADER, GROUPS_HEADER, JWT_HEADER] as const;

/** Lower-cased, as Node's raw header names are compared. */
export function lowerCased(names: readonly string[]): string[] {
  return names.map((n) => n.toLowerCase());
}

/**
 * Headers that may not carry the request id: a credential would be echoed on every answer and
 * written to every log line, and an answer or protocol header would be overwritten.
 */
const RESERVED = new Set(
  lowerCased([
    ...HEADERS_TO_AUTH,
    ...IDENTITY_HEADERS,
    'Proxy-Authorization',
    'Set-Cookie',
    'Host',
    'Connection',
    'Content-Length',
    'Content-Type',
    'Transfer-Encoding',
    'Cache-Control',
    'Location',
    'WWW-Authenticate',
    'X-Original-URL',
    'X-Original-Method',
    'X-Forwarded-Method',
    'X-Forwarded-Host',
    'X-Forwarded-Uri',
    'Path',
    'Method',
  ]),
);

export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}
