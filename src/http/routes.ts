import { decisionRoute } from './decision-route.js';
import type { Handler } from './deps.js';
import { forwardAuthFacts, respondForwardAuth } from './forward-auth.js';
import { loginRoutes } from './login-routes.js';
import { coreRoutes, type Routes } from './server.js';

/** Every route of the public port: one decision, one adapter per gateway protocol, and the login. */
export function allRoutes(): Routes {
  const exact = coreRoutes();
  exact.set('/forward-auth', decisionRoute(forwardAuthFacts, respondForwardAuth));
  const login = loginRoutes();
  for (const [path, handler] of login.exact) exact.set(path, handler);
  const prefixes: [string, Handler][] = [...login.prefixes];
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return { exact, prefixes };
}
