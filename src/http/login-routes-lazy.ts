import type { Handler } from './deps.js';
import { landingHandlers } from './landing.js';

type LoginModule = typeof import('./login-routes.js');
let loaded: Promise<LoginModule> | undefined;

/**
 * The login routes, loaded on the first login request: they bring openid-client, which an install
 * that only checks tokens never needs (start-up time and memory stay those of the decision).
 */
function lazy(pick: (m: LoginModule) => Handler): Handler {
  return async (req, res, deps) => {
    loaded ??= import('./login-routes.js');
    return pick(await loaded)(req, res, deps);
  };
}

let backchannel: Promise<typeof import('./backchannel-logout.js')> | undefined;
/** OIDC Back-Channel Logout, loaded (with jose) on its first call. */
const backchannelLogout: Handler = async (req, res, deps) => {
  backchannel ??= import('./backchannel-logout.js');
  return (await backchannel).backchannelLogout(req, res, deps);
};

export function loginRoutes(): { exact: [string, Handler][]; prefixes: [string, Handler][] } {
  return {
    exact: [
      ['/login', lazy((m) => m.loginHandlers.login)],
      ['/logout', lazy((m) => m.loginHandlers.logout)],
      ['/backchannel-logout', backchannelLogout],
      ...landingHandlers,
    ],
    prefixes: [
      ['/oauth2/authorization/', lazy((m) => m.loginHandlers.authorize)],
      ['/login/oauth2/code/', lazy((m) => m.loginHandlers.callback)],
    ],
  };
}
