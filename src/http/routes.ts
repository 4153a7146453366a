import type { ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import type { Decision } from '../core/decision.js';
import type { Facts } from '../core/facts.js';
import { respondToClient } from './client-answer.js';
import { writeDecision } from './decision-response.js';
import { type Adapter, decisionRoute } from './decision-route.js';
import type { Handler } from './deps.js';
import { forwardAuthAdapter } from './forward-auth.js';
import { JWKS_PATH, jwksHandler } from './jwks.js';
import { loginRoutes } from './login-routes-lazy.js';
import { gatewayFabricAdapter, policyPrefixedAdapter, prefixedAdapter } from './prefixed-request.js';
import type { HeaderPair } from './request-log.js';
import { coreRoutes, type Routes } from './server.js';

/** Path prefixes of the gateway adapters whose request path carries the original path. */
const ENVOY_PREFIX = '/envoy';
const GATEWAY_API_PREFIX = '/gateway-api';

/**
 * Gateway API answers go to NGINX Gateway Fabric's auth_request, which turns any status but 2xx,
 * 401 and 403 into a 500: a malformed call is refused with 403, as on /auth.
 */
const behindAuthRequest = <F extends Facts>(adapter: Adapter<F>): Adapter<F> => ({ ...adapter, malformedStatus: 403 });

const writePlain = (res: ServerResponse, decision: Decision, facts: Facts, policy: Policy | undefined, echo: HeaderPair, now: () => number) =>
  writeDecision(res, decision, echo, facts, policy, now);

/**
 * Every route of the public port: one decision, one adapter per gateway protocol (chosen by the
 * path, never by sniffing headers), and the login.
 *   /auth              nginx auth_request (ingress-nginx auth-url)
 *   /forward-auth      Traefik ForwardAuth and its ingress-nginx provider's auth-url, Caddy forward_auth (denials reach the browser)
 *   /envoy/<path>      Envoy ext_authz HTTP service: Envoy Gateway, Istio (denials reach the browser)
 *   /gateway-api/<path> Gateway API ExternalAuth, HTTP (answers stay plain: NGF uses auth_request, so no 302)
 *   /gateway-api       NGINX Gateway Fabric, which sends the original as Path/Method headers
 *   /envoy-policy/NAME/<path>, /gateway-api-policy/NAME[/<path>]  the same, under the named policy
 *   /.well-known/jwks.json  the keys that verify X-Auth-Request-Jwt (signedIdentity)
 */
export function allRoutes(): Routes {
  const exact = coreRoutes();
  exact.set('/forward-auth', decisionRoute(forwardAuthAdapter, respondToClient));
  exact.set(GATEWAY_API_PREFIX, decisionRoute(behindAuthRequest(gatewayFabricAdapter), writePlain));
  exact.set(JWKS_PATH, jwksHandler);
  const login = loginRoutes();
  for (const [path, handler] of login.exact) exact.set(path, handler);
  const prefixes: [string, Handler][] = [
    ...login.prefixes,
    [`${ENVOY_PREFIX}/`, decisionRoute(prefixedAdapter('envoy', ENVOY_PREFIX), respondToClient)],
    [`${GATEWAY_API_PREFIX}/`, decisionRoute(behindAuthRequest(prefixedAdapter('gateway-api', GATEWAY_API_PREFIX)), writePlain)],
    // A named policy for gateways that cannot put a query on the auth call.
    [`${ENVOY_PREFIX}-policy/`, decisionRoute(policyPrefixedAdapter('envoy', `${ENVOY_PREFIX}-policy`, false), respondToClient)],
    [`${GATEWAY_API_PREFIX}-policy/`, decisionRoute(behindAuthRequest(policyPrefixedAdapter('gateway-api', `${GATEWAY_API_PREFIX}-policy`, true)), writePlain)],
  ];
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return { exact, prefixes };
}
