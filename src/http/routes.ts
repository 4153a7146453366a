import { respondToClient } from './client-answer.js';
import { writeDecision } from './decision-response.js';
import { decisionRoute } from './decision-route.js';
import type { Handler } from './deps.js';
import { forwardAuthFacts } from './forward-auth.js';
import { loginRoutes } from './login-routes.js';
import { prefixedFacts } from './prefixed-request.js';
import { coreRoutes, type Routes } from './server.js';

/** Path prefixes of the gateway adapters whose request path carries the original path. */
export const ENVOY_PREFIX = '/envoy';
export const GATEWAY_API_PREFIX = '/gateway-api';

/**
 * Every route of the public port: one decision, one adapter per gateway protocol (chosen by the
 * path, never by sniffing headers), and the login.
 *   /auth              nginx auth_request (ingress-nginx auth-url, Traefik's ingress-nginx provider)
 *   /forward-auth      Traefik ForwardAuth, Caddy forward_auth (denials reach the browser)
 *   /envoy/<path>      Envoy ext_authz HTTP service: Envoy Gateway, Istio (denials reach the browser)
 *   /gateway-api/<path> Gateway API ExternalAuth, HTTP (NGINX Gateway Fabric: auth_request, so no 302)
 */
export function allRoutes(): Routes {
  const exact = coreRoutes();
  exact.set('/forward-auth', decisionRoute(forwardAuthFacts, respondToClient));
  const login = loginRoutes();
  for (const [path, handler] of login.exact) exact.set(path, handler);
  const gatewayApi = decisionRoute(prefixedFacts(GATEWAY_API_PREFIX, { path: 'path', method: 'method' }), (_req, res, decision) =>
    writeDecision(res, decision),
  );
  // NGINX Gateway Fabric calls the configured path itself and sends the original as Path/Method headers.
  exact.set(GATEWAY_API_PREFIX, gatewayApi);
  const prefixes: [string, Handler][] = [
    ...login.prefixes,
    [`${ENVOY_PREFIX}/`, decisionRoute(prefixedFacts(ENVOY_PREFIX), respondToClient)],
    [`${GATEWAY_API_PREFIX}/`, gatewayApi],
  ];
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return { exact, prefixes };
}
