import type { IncomingMessage } from 'node:http';
import type { Facts } from '../core/facts.js';
import { SESSION_COOKIE } from '../session/claims.js';
import { cookieValues } from '../session/cookies.js';
import { REPEATED, isPrintableAscii, singleHeader, splitAbsoluteUrl, validHost, validMethod } from './request-headers.js';

export type FactsResult = { ok: true; facts: Facts } | { ok: false; why: string };

/** Credential headers every adapter reads the same way. */
export function credentialFacts(req: IncomingMessage): { ok: true; authorization: string | undefined; origin: string | undefined; cookies: string[] } | { ok: false; why: string } {
  const authorization = singleHeader(req, 'authorization');
  const origin = singleHeader(req, 'origin');
  if (authorization === REPEATED) return { ok: false, why: 'repeated Authorization header' };
  if (origin === REPEATED) return { ok: false, why: 'repeated Origin header' };
  if (authorization !== undefined && !isPrintableAscii(authorization)) return { ok: false, why: 'Authorization is not printable ASCII' };
  const cookies = cookieValues(req.headers.cookie, SESSION_COOKIE);
  return { ok: true, authorization, origin, cookies };
}

/**
 * ingress-nginx `auth-url` (and any nginx auth_request): the original request arrives as
 * X-Original-URL and X-Original-Method. Called directly (no X-Original-URL), the request itself is
 * the original. X-Forwarded-Host/-Uri are client-settable through ingress-nginx and never read here.
 */
export function authRequestFacts(req: IncomingMessage): FactsResult {
  const creds = credentialFacts(req);
  if (!creds.ok) return creds;
  const originalUrl = singleHeader(req, 'x-original-url');
  const originalMethod = singleHeader(req, 'x-original-method');
  if (originalUrl === REPEATED || originalMethod === REPEATED) return { ok: false, why: 'repeated X-Original-* header' };
  const method = validMethod(originalMethod ?? req.method ?? '');
  if (method === undefined) return { ok: false, why: 'bad method' };
  let scheme: 'http' | 'https' = 'http';
  let host: string | undefined;
  let path: string;
  if (originalUrl !== undefined) {
    const url = isPrintableAscii(originalUrl) ? splitAbsoluteUrl(originalUrl) : undefined;
    if (url === undefined) return { ok: false, why: 'X-Original-URL is not an absolute http(s) URL' };
    ({ scheme, host, path } = url);
  } else {
    const hostHeader = singleHeader(req, 'host');
    if (hostHeader === REPEATED) return { ok: false, why: 'repeated Host header' };
    host = validHost(hostHeader ?? '');
    const target = req.url ?? '/';
    path = target.split('?', 1)[0]!;
    if (!path.startsWith('/') || !isPrintableAscii(path)) return { ok: false, why: 'bad request target' };
  }
  if (host === undefined) return { ok: false, why: 'missing or malformed Host' };
  return {
    ok: true,
    facts: { method, scheme, host, path, origin: creds.origin, authorization: creds.authorization, sessionCookies: creds.cookies },
  };
}
