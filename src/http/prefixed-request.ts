import type { IncomingMessage } from 'node:http';
import { type ClientFacts, clientFacts, clientHeaderNames } from './client-facts.js';
import type { FactsResult } from './credentials.js';
import { REPEATED, RequestHeaders } from './request-headers.js';

const PREFIXED_HEADERS = clientHeaderNames(['host', 'x-forwarded-proto']);
const NGF_HEADERS = clientHeaderNames(['host', 'x-forwarded-proto', 'path', 'method']);

/**
 * Gateways that call `prefix + original path and query` with the original method and Host:
 * Envoy's ext_authz HTTP service (`path_prefix`) and the Gateway API ExternalAuth filter (`path`).
 * The scheme comes from X-Forwarded-Proto when the gateway forwards it, else https (these
 * gateways terminate TLS); configure `publicUrl` when that is not so.
 */
export function prefixedFacts(prefix: string): (req: IncomingMessage) => FactsResult<ClientFacts> {
  return (req) =>
    clientFacts(
      new RequestHeaders(req, PREFIXED_HEADERS),
      (headers) => {
        const host = headers.single('host');
        const proto = headers.single('x-forwarded-proto');
        if (host === REPEATED || proto === REPEATED) return { why: 'repeated Host or X-Forwarded-Proto header' };
        return { method: req.method ?? '', host: host ?? '', scheme: proto ?? 'https', target: (req.url ?? '').slice(prefix.length) };
      },
      `request to ${prefix}`,
    );
}

/**
 * NGINX Gateway Fabric calls the configured path itself (`/gateway-api`, nothing after it) and
 * sends the original path and method as `Path:` and `Method:`. Only this endpoint reads those
 * headers: on a prefixed path a client could send them to pass for another path.
 */
export function gatewayFabricFacts(req: IncomingMessage, calledPath = '/gateway-api'): FactsResult<ClientFacts> {
  return clientFacts(
    new RequestHeaders(req, NGF_HEADERS),
    (headers) => {
      const [path, method, host, proto] = ['path', 'method', 'host', 'x-forwarded-proto'].map((n) => headers.single(n));
      if (path === REPEATED || method === REPEATED || host === REPEATED || proto === REPEATED) {
        return { why: 'repeated Host, Path, Method or X-Forwarded-Proto header' };
      }
      return { method: method ?? req.method ?? '', host: host ?? '', scheme: proto ?? 'https', target: path ?? (req.url ?? '').slice(calledPath.length) };
    },
    `request to ${calledPath}`,
  );
}

/** `PREFIX/NAME/original path`: the policy's name, and the request as prefixedFacts reads it after the name. */
function splitPolicy(url: string, prefix: string): { name: string; rest: string } | undefined {
  const after = url.slice(prefix.length + 1);
  const slash = after.search(/[/?]/);
  const name = slash < 0 ? after : after.slice(0, slash);
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) return undefined;
  return { name, rest: slash < 0 ? '' : after.slice(slash) };
}

/**
 * The policy form of the prefixed adapters, for gateways that cannot add a query to the auth
 * call: Envoy's `path_prefix: /envoy-policy/NAME` (Envoy Gateway, Istio), and the Gateway API
 * filter's `path: /gateway-api-policy/NAME` (with the original path after it, or, from NGINX
 * Gateway Fabric, nothing after it and the original in `Path:`/`Method:`).
 */
export function policyPrefixedFacts(prefix: string, gatewayFabric: boolean): (req: IncomingMessage) => FactsResult<ClientFacts> {
  return (req) => {
    const url = req.url ?? '';
    const parts = splitPolicy(url, prefix);
    if (parts === undefined) return { ok: false, why: `expected ${prefix}/POLICY/original-path` };
    const inner = `${prefix}/${parts.name}`;
    const facts = gatewayFabric && parts.rest === '' ? gatewayFabricFacts(req, inner) : prefixedFacts(inner)(req);
    return facts.ok ? { ok: true, facts: { ...facts.facts, ruleQuery: `policy=${parts.name}` } } : facts;
  };
}
