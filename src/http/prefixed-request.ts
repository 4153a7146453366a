import type { IncomingMessage } from 'node:http';
import { POLICY_NAME } from '../config/keys.js';
import { type ClientFacts, clientFacts, clientHeaderNames } from './client-facts.js';
import type { FactsResult } from './credentials.js';
import type { Adapter } from './decision-route.js';
import { REPEATED, type RequestHeaders } from './request-headers.js';
import { queryOf } from './request-target.js';

const PREFIXED_HEADERS = clientHeaderNames(['host', 'x-forwarded-proto']);
const NGF_HEADERS = clientHeaderNames(['host', 'x-forwarded-proto', 'path', 'method']);

/**
 * Gateways that call `prefix + original path and query` with the original method and Host:
 * Envoy's ext_authz HTTP service (`path_prefix`) and the Gateway API ExternalAuth filter (`path`).
 * The scheme comes from X-Forwarded-Proto when the gateway forwards it, else https (these
 * gateways terminate TLS); configure `publicUrl` when that is not so.
 */
function prefixedFacts(req: IncomingMessage, headers: RequestHeaders, prefix: string, ruleQuery?: string): FactsResult<ClientFacts> {
  return clientFacts(
    headers,
    (h) => {
      const host = h.single('host');
      const proto = h.single('x-forwarded-proto');
      if (host === REPEATED || proto === REPEATED) return { why: 'repeated Host or X-Forwarded-Proto header' };
      return { method: req.method ?? '', host: host ?? '', scheme: proto ?? 'https', target: (req.url ?? '').slice(prefix.length) };
    },
    `request to ${prefix}`,
    ruleQuery,
  );
}

export function prefixedAdapter(name: string, prefix: string): Adapter<ClientFacts> {
  return { name, headers: PREFIXED_HEADERS, facts: (req, headers) => prefixedFacts(req, headers, prefix) };
}

/**
 * NGINX Gateway Fabric calls the configured path itself (`/gateway-api`, nothing after it) and
 * sends the original path and method as `Path:` and `Method:`. Only this endpoint reads those
 * headers: on a prefixed path a client could send them to pass for another path.
 */
function gatewayFabricFacts(req: IncomingMessage, headers: RequestHeaders, calledPath: string, ruleQuery?: string): FactsResult<ClientFacts> {
  return clientFacts(
    headers,
    (h) => {
      const [path, method, host, proto] = ['path', 'method', 'host', 'x-forwarded-proto'].map((n) => h.single(n));
      if (path === REPEATED || method === REPEATED || host === REPEATED || proto === REPEATED) {
        return { why: 'repeated Host, Path, Method or X-Forwarded-Proto header' };
      }
      return { method: method ?? req.method ?? '', host: host ?? '', scheme: proto ?? 'https', target: path ?? (req.url ?? '').slice(calledPath.length) };
    },
    `request to ${calledPath}`,
    ruleQuery,
  );
}

/**
 * The query of the configured path (`/gateway-api?allowed_groups=sre`, `?policy=admin`) is the
 * route's rule, applied (or refused when unreadable) as on `/auth`: ignoring it would open the route
 * to every signed-in user. NGINX Gateway Fabric sends the original request in `Path:`, so this
 * query is the operator's; a client calling directly can only narrow its own answer.
 */
export const gatewayFabricAdapter: Adapter<ClientFacts> = {
  name: 'gateway-api',
  headers: NGF_HEADERS,
  facts: (req, headers) => gatewayFabricFacts(req, headers, '/gateway-api', queryOf(req.url)),
};

/** `PREFIX/NAME/original path`: the policy's name, and the request as prefixedFacts reads it after the name. */
function splitPolicy(url: string, prefix: string): { name: string; rest: string } | undefined {
  const after = url.slice(prefix.length + 1);
  const slash = after.search(/[/?]/);
  const name = slash < 0 ? after : after.slice(0, slash);
  if (!POLICY_NAME.test(name)) return undefined;
  return { name, rest: slash < 0 ? '' : after.slice(slash) };
}

/**
 * The policy form of the prefixed adapters, for gateways that cannot add a query to the auth
 * call: Envoy's `path_prefix: /envoy-policy/NAME` (Envoy Gateway, Istio), and the Gateway API
 * filter's `path: /gateway-api-policy/NAME` (with the original path after it, or, from NGINX
 * Gateway Fabric, nothing after it and the original in `Path:`/`Method:`).
 */
export function policyPrefixedAdapter(name: string, prefix: string, gatewayFabric: boolean): Adapter<ClientFacts> {
  return {
    name,
    // Path and Method are read only when the request is NGINX Gateway Fabric's (nothing after the name).
    headers: gatewayFabric ? NGF_HEADERS : PREFIXED_HEADERS,
    facts(req, headers) {
      const url = req.url ?? '';
      const parts = splitPolicy(url, prefix);
      if (parts === undefined) return { ok: false, why: `expected ${prefix}/POLICY/original-path` };
      const inner = `${prefix}/${parts.name}`;
      const ruleQuery = `policy=${parts.name}`;
      return gatewayFabric && parts.rest === '' ? gatewayFabricFacts(req, headers, inner, ruleQuery) : prefixedFacts(req, headers, inner, ruleQuery);
    },
  };
}
