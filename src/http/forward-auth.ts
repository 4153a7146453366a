import type { IncomingMessage } from 'node:http';
import { type ClientFacts, clientFacts, clientHeaderNames } from './client-facts.js';
import type { FactsResult } from './credentials.js';
import { REPEATED, RequestHeaders } from './request-headers.js';

const FORWARD_HEADERS = clientHeaderNames(['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri']);

/**
 * Traefik ForwardAuth and Caddy `forward_auth` (`/forward-auth`): the original request arrives as
 * X-Forwarded-Method/-Proto/-Host/-Uri, which these gateways set themselves. Only this endpoint
 * trusts them; `/auth` never does.
 */
export function forwardAuthFacts(req: IncomingMessage): FactsResult<ClientFacts> {
  return clientFacts(
    new RequestHeaders(req, FORWARD_HEADERS),
    (headers) => {
      const [method, proto, host, uri] = ['x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-uri'].map((n) => headers.single(n));
      if (method === REPEATED || proto === REPEATED || host === REPEATED || uri === REPEATED) return { why: 'repeated X-Forwarded-* header' };
      if (host === undefined || uri === undefined) return { why: 'X-Forwarded-Host and X-Forwarded-Uri are required on /forward-auth' };
      return { method: method ?? req.method ?? 'GET', host, scheme: proto ?? 'http', target: uri };
    },
    'X-Forwarded-Method, -Host, -Proto or -Uri',
  );
}
