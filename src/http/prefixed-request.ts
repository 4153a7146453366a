import type { IncomingMessage } from 'node:http';
import type { FactsResult } from './auth-request.js';
import { CREDENTIAL_HEADERS, credentialFacts } from './auth-request.js';
import { NAVIGATION_HEADERS } from './browser-navigation.js';
import { buildClientFacts } from './client-answer.js';
import { REPEATED, RequestHeaders } from './request-headers.js';

/**
 * Gateways that call `prefix + original path and query` with the original method and Host:
 * Envoy's ext_authz HTTP service (`path_prefix`) and the Gateway API ExternalAuth filter (`path`).
 * `overrides` names headers that carry the original path and method instead (NGINX Gateway Fabric
 * sends `Path:` and `Method:`); those exist only on the endpoint whose protocol defines them.
 * The scheme comes from X-Forwarded-Proto when the gateway forwards it, else https (these
 * gateways terminate TLS); configure `publicUrl` when that is not so.
 */
export function prefixedFacts(prefix: string, overrides?: { path: string; method: string }): (req: IncomingMessage) => FactsResult {
  const wanted = new Set<string>([
    ...CREDENTIAL_HEADERS,
    ...NAVIGATION_HEADERS,
    'host',
    'x-forwarded-proto',
    ...(overrides ? [overrides.path, overrides.method] : []),
  ]);
  return (req) => {
    const headers = new RequestHeaders(req, wanted);
    const c = credentialFacts(headers);
    if (!c.ok) return c;
    const pathHeader = overrides ? headers.single(overrides.path) : undefined;
    const methodHeader = overrides ? headers.single(overrides.method) : undefined;
    const hostHeader = headers.single('host');
    const proto = headers.single('x-forwarded-proto');
    if (pathHeader === REPEATED || methodHeader === REPEATED || hostHeader === REPEATED || proto === REPEATED)
      return { ok: false, why: 'repeated Host, Path, Method or X-Forwarded-Proto header' };
    const target = pathHeader ?? (req.url ?? '').slice(prefix.length);
    return buildClientFacts(
      { method: methodHeader ?? req.method ?? '', host: hostHeader ?? '', scheme: proto ?? 'https', target },
      c.creds,
      headers,
      `request to ${prefix}`,
    );
  };
}
