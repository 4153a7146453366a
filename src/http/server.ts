import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { authRequestAdapter } from './auth-request.js';
import { writeDecision } from './decision-response.js';
import { decisionRoute } from './decision-route.js';
import type { Handler, ServerDeps } from './deps.js';
import { plain } from './pages.js';
import { pathOf } from './request-target.js';

export interface Routes {
  /** Exact paths. */
  readonly exact: ReadonlyMap<string, Handler>;
  /** Path prefixes (for gateways that put the original path after a prefix), longest first. */
  readonly prefixes: readonly (readonly [string, Handler])[];
}

/** The routes of the core service; other features add theirs to these. */
export function coreRoutes(): Map<string, Handler> {
  return new Map<string, Handler>([
    ['/auth', decisionRoute(authRequestAdapter, (res, decision, facts, policy, echo, now) => writeDecision(res, decision, echo, facts, policy, now))],
    ['/healthz', (_req, res) => plain(res, 200, 'ok\n')],
    [
      '/readyz',
      (_req, res, deps) =>
        deps.shuttingDown()
          ? plain(res, 503, 'shutting down\n')
          : deps.policies.current
            ? plain(res, 200, 'ready\n')
            : plain(res, 503, 'no valid config loaded\n'),
    ],
  ]);
}

/** Matches a request path to a handler: exact first, then the longest prefix. */
export function route(routes: Routes, rawUrl: string): Handler | undefined {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const exact = routes.exact.get(path);
  if (exact) return exact;
  for (const [prefix, handler] of routes.prefixes) if (path.startsWith(prefix)) return handler;
  return undefined;
}

/**
 * The public HTTP server. It never lets an exception escape: a bug answers 500 and is logged,
 * and a malformed request is answered by Node's parser with 400 (or 431 for oversize headers).
 */
export function createAuthServer(deps: ServerDeps, routes: Routes = { exact: coreRoutes(), prefixes: [] }): Server {
  const server = createServer({ maxHeaderSize: 32 * 1024, requireHostHeader: false }, (req: IncomingMessage, res: ServerResponse) => {
    const handler = route(routes, req.url ?? '/');
    if (!handler) {
      plain(res, 404, 'not found\n');
      return;
    }
    const failed = (err: unknown) => {
      deps.logger.log('error', 'request handler failed', { path: pathOf(req.url), error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) plain(res, 500, 'internal error\n');
      else res.destroy();
    };
    try {
      const pending = handler(req, res, deps);
      if (pending) pending.catch(failed);
    } catch (err) {
      failed(err);
    }
  });
  // Longer than nginx's default upstream keepalive_timeout (60 s), so nginx closes first and never
  // sends on a connection Node is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    deps.metrics.decisions.inc({ status: err.code === 'HPE_HEADER_OVERFLOW' ? '431' : '400', reason: 'bad_request' });
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}
