import type { Policy } from '../config/policy.js';
import { safeRedirect } from '../core/redirect-target.js';
import type { Handler } from './deps.js';
import { signedInPage, signedOutPage } from './pages.js';

/** The login host's own pages, under `/oauth2`, which its Ingress (or HTTPRoute) sends to airy-auth. */
export const SIGNED_IN_PATH = '/oauth2/signed-in';
export const SIGNED_OUT_PATH = '/oauth2/signed-out';

/**
 * A dedicated login host: `publicUrl` names it and `cookieDomain` shares its session with the
 * apps. Only airy-auth's paths are routed there, so its `/` is a 404, not a place to land.
 */
function onLoginHost(origin: string, policy: Policy): boolean {
  return policy.publicUrl !== undefined && policy.cookieDomain !== undefined && origin === policy.publicUrl;
}

/** The first exact host of redirectDomains (`*.example.com` names no one host to go to). */
function firstAppHost(policy: Policy): string | undefined {
  return policy.redirectDomains.patterns.find((p) => !p.startsWith('*.'))?.toLowerCase();
}

/**
 * Where a login or a logout sends the browser: `rd` when it is safe; else loginSuccessUrl or
 * logoutSuccessUrl (checked the same way). On a login host, where the default `/` would be its
 * 404, the first redirectDomains app instead, or else the login host's own page that says the
 * login or logout worked and names nothing private.
 */
export function landingAfter(kind: 'login' | 'logout', rd: string | null | undefined, origin: string, policy: Policy): string {
  const check = (target: string) => safeRedirect(target, origin, policy.origins, policy.redirectDomains);
  const asked = rd ? check(rd) : undefined;
  if (asked !== undefined) return asked;
  const configured = check(kind === 'login' ? policy.loginSuccessUrl : policy.logoutSuccessUrl);
  if (!onLoginHost(origin, policy) || (configured !== undefined && configured !== '/')) return configured ?? '/';
  const app = firstAppHost(policy);
  // With the login host's scheme and port: in development both hosts are served on one port.
  const login = new URL(origin);
  if (app !== undefined) return `${login.protocol}//${app}${login.port ? `:${login.port}` : ''}/`;
  return kind === 'login' ? SIGNED_IN_PATH : SIGNED_OUT_PATH;
}

/** The login host's landing pages: static, for anyone, with nothing about the person in them. */
export const landingHandlers: [string, Handler][] = [
  [SIGNED_IN_PATH, (_req, res) => signedInPage(res)],
  [SIGNED_OUT_PATH, (_req, res) => signedOutPage(res)],
];
