import type { IncomingMessage } from 'node:http';
import type { Facts } from '../core/facts.js';
import { authRequestAdapter } from './auth-request.js';
import { type Adapter, unreadableAnswer } from './decision-route.js';
import { forwardAuthAdapter } from './forward-auth.js';
import { RequestHeaders } from './request-headers.js';

/** The request an operator asks about: the app's URL, and what the browser or client sends. */
export interface ExplainedRequest {
  /** The app's URL as the client asked for it: `https://app.example.com/path?q`. */
  readonly url: string;
  readonly method: string;
  /** The auth URL the gateway calls, with its rules (`?policy=NAME`, `allowed_groups=`); `/auth` when absent. */
  readonly authUrl: string | undefined;
  readonly cookie: string | undefined;
  readonly authorization: string | undefined;
  readonly origin: string | undefined;
  /** Any other header the client sends, as sent. */
  readonly headers?: readonly (readonly [string, string])[];
}

/** Not readable: what the server answers such a call (`status`, `reason`), or, without them, a request explain cannot build. */
export type ExplainedFacts =
  | { readonly ok: true; readonly adapter: string; readonly facts: Facts }
  | { readonly ok: false; readonly why: string; readonly status?: 400 | 403; readonly reason?: string };

const ADAPTERS: Readonly<Record<string, Adapter<Facts>>> = { '/auth': authRequestAdapter, '/forward-auth': forwardAuthAdapter };

/**
 * The facts the server would make of this request: the call the gateway sends for it (nginx
 * auth_request's X-Original-* to `/auth`, forward-auth's X-Forwarded-* to `/forward-auth`) is built
 * and read by the server's own adapter, so `explain` and `serve` cannot read a request differently.
 */
export function explainedFacts(request: ExplainedRequest): ExplainedFacts {
  let app: URL;
  let auth: URL;
  try {
    app = new URL(request.url);
    auth = new URL(request.authUrl ?? 'http://airy-auth/auth');
  } catch {
    return { ok: false, why: 'the URL and the auth URL must be absolute (https://host/path)' };
  }
  if (app.protocol !== 'http:' && app.protocol !== 'https:') return { ok: false, why: 'the URL must be http or https' };
  const adapter = ADAPTERS[auth.pathname];
  if (adapter === undefined) {
    return {
      ok: false,
      why:
        `the auth URL's path is ${auth.pathname}; explain reads /auth and /forward-auth ` +
        '(for /envoy-policy/NAME or /gateway-api-policy/NAME, give .../auth?policy=NAME)',
    };
  }
  const target = targetAsSent(request.url) ?? `${app.pathname}${app.search}`;
  const raw: string[] = ['Host', auth.host];
  if (adapter === authRequestAdapter) raw.push('X-Original-URL', `${app.protocol}//${app.host}${target}`, 'X-Original-Method', request.method);
  else raw.push('X-Forwarded-Method', request.method, 'X-Forwarded-Proto', app.protocol.slice(0, -1), 'X-Forwarded-Host', app.host, 'X-Forwarded-Uri', target);
  if (request.cookie !== undefined) raw.push('Cookie', request.cookie);
  if (request.authorization !== undefined) raw.push('Authorization', request.authorization);
  if (request.origin !== undefined) raw.push('Origin', request.origin);
  for (const [name, value] of request.headers ?? []) raw.push(name, value);
  const req = { method: 'GET', url: `${auth.pathname}${auth.search}`, rawHeaders: raw, headers: {} } as unknown as IncomingMessage;
  const read = adapter.facts(req, new RequestHeaders(req, adapter.headers));
  return read.ok ? { ok: true, adapter: adapter.name, facts: read.facts } : { ok: false, why: read.why, ...unreadableAnswer(adapter, read) };
}

/**
 * The path and query as a client sends them: the URL parser resolves `%2e%2e` and `..` and turns
 * a backslash into `/`, which a gateway passes on untouched (nginx's `$request_uri`), and the server
 * judges the path as sent. Undefined when the text is not printable ASCII (a client percent-encodes it).
 */
function targetAsSent(url: string): string | undefined {
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*([^#]*)/i.exec(url)?.[1];
  if (raw === undefined || !/^[\x21-\x7e]*$/.test(raw)) return undefined;
  if (raw === '') return '/';
  return raw.startsWith('/') ? raw : undefined;
}
