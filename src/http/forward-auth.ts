import type { IncomingMessage } from 'node:http';
import type { FactsResult } from './auth-request.js';
import { CREDENTIAL_HEADERS, credentialFacts } from './auth-request.js';
import { NAVIGATION_HEADERS } from './browser-navigation.js';
import { buildClientFacts } from './client-answer.js';
import { REPEATED, RequestHeaders } from './request-headers.js';

const FORWARD_HEADERS = new Set<string>([
  ...CREDENTIAL_HEADERS,
  ...NAVIGATION_HEADERS,
  'x-forwarded-method',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-uri',
]);

/**
 * Traefik ForwardAuth and Caddy `forward_auth` (`/forward-auth`): the original request arrives as
 * X-Forwarded-Method/-Proto/-Host/-Uri, which these gateways set themselves. Only this endpoint
 * trusts them; `/auth` never does.
 */
export function forwardAuthFacts(req: IncomingMessage): FactsResult {
  const headers = new RequestHeaders(req, FORWARD_HEADERS);
  const c = credentialFacts(headers);
  if (!c.ok) return c;
  const get = (name: string) => {
    const v = headers.single(name);
    return v === REPEATED ? null : v;
  };
  const [fMethod, fProto, fHost, fUri] = [get('x-forwarded-method'), get('x-forwarded-proto'), get('x-forwarded-host'), get('x-forwarded-uri')];
  if (fMethod === null || fProto === null || fHost === null || fUri === null) return { ok: false, why: 'repeated X-Forwarded-* header' };
  if (fHost === undefined || fUri === undefined) return { ok: false, why: 'X-Forwarded-Host and X-Forwarded-Uri are required on /forward-auth' };
  return buildClientFacts(
    { method: fMethod ?? req.method ?? 'GET', host: fHost, scheme: fProto ?? 'http', target: fUri },
    c.creds,
    headers,
    'X-Forwarded-Method, -Host, -Proto or -Uri',
  );
}
