import type { IncomingMessage } from 'node:http';
import type { Policy } from '../config/policy.js';
import { REPEATED, RequestHeaders, validHost } from './request-headers.js';

const WANTED = new Set(['host', 'x-forwarded-proto']);

/**
 * The scheme and host browsers use for this service, for redirect URIs, cookies' Secure flag and
 * same-origin redirects: `publicUrl` when configured, else the Host the ingress forwards and its
 * X-Forwarded-Proto (ingress-nginx overwrites a client's value). Undefined when malformed.
 */
export function externalOrigin(req: IncomingMessage, policy: Policy): string | undefined {
  if (policy.publicUrl) return policy.publicUrl;
  const headers = new RequestHeaders(req, WANTED);
  const host = headers.single('host');
  const proto = headers.single('x-forwarded-proto');
  if (host === undefined || host === REPEATED || proto === REPEATED) return undefined;
  const h = validHost(host);
  if (h === undefined) return undefined;
  const scheme = proto !== undefined && proto.split(',', 1)[0]!.trim().toLowerCase() === 'https' ? 'https' : 'http';
  const defaultPort = scheme === 'https' ? ':443' : ':80';
  return `${scheme}://${h.endsWith(defaultPort) ? h.slice(0, -defaultPort.length) : h}`;
}
