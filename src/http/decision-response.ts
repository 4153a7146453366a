import type { ServerResponse } from 'node:http';
import type { Decision } from '../core/decision.js';

/** Identity headers for `auth-response-headers`; the names oauth2-proxy made common. */
export const USER_HEADER = 'X-Auth-Request-User';
export const EMAIL_HEADER = 'X-Auth-Request-Email';
export const IDENTITY_HEADERS = [USER_HEADER, EMAIL_HEADER] as const;

/** Header values must not carry control or non-ASCII characters; escape them rather than fail. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

export function identityHeaders(decision: Decision): Record<string, string> {
  if (decision.status !== 200) return {};
  const out: Record<string, string> = {};
  if (decision.user !== undefined) out[USER_HEADER] = headerSafe(decision.user);
  if (decision.email !== undefined) out[EMAIL_HEADER] = headerSafe(decision.email);
  return out;
}

/** The challenge for a 401: RFC 6750 error code when a token was presented but refused. */
export function wwwAuthenticate(decision: Decision): string {
  return decision.status === 401 && decision.reason === 'invalid_token'
    ? 'Bearer realm="airy-auth", error="invalid_token"'
    : 'Bearer realm="airy-auth"';
}

/** The plain answer used by auth_request-style gateways, which read only the status and headers. */
export function writeDecision(res: ServerResponse, decision: Decision): void {
  if (decision.status === 200) {
    // The hot path: gateways read only the status and identity headers of an allow, and every
    // extra header or body byte measurably costs throughput (see bench/).
    res.writeHead(200, { ...identityHeaders(decision), 'Content-Length': '0' });
    res.end();
    return;
  }
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...identityHeaders(decision) };
  if (decision.status === 401) headers['WWW-Authenticate'] = wwwAuthenticate(decision);
  const body = `${decision.status} ${decision.reason}\n`;
  headers['Content-Length'] = String(Buffer.byteLength(body));
  res.writeHead(decision.status, headers);
  res.end(body);
}
