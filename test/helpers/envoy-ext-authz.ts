import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';

/**
 * A test gateway that behaves like Envoy's ext_authz filter with an HTTP authorization service,
 * as envoy/source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc defines it:
 * - the check request keeps the original method, and its path is `path_prefix` + the original
 *   path and query; it carries Host (the original :authority), Content-Length: 0, Authorization,
 *   and only the other request headers listed in `allowedHeaders` (no body);
 * - only a 200 answer allows: the `allowedUpstreamHeaders` that the answer carries replace the
 *   client's headers of that name on the request that goes upstream (others pass untouched);
 * - any other status denies: that status, the answer's headers and body go to the client;
 * - a 5xx answer, a connection error or a timeout (200 ms by default) is an error: 403 to the
 *   client (`status_on_error`; `failure_mode_allow` is off).
 */
export interface EnvoyOptions {
  readonly authHost: string;
  readonly authPort: number;
  readonly pathPrefix: string;
  readonly allowedHeaders: readonly string[];
  readonly allowedUpstreamHeaders: readonly string[];
  readonly upstreamPort: number;
  readonly timeoutMs?: number;
}

function check(
  req: IncomingMessage,
  o: EnvoyOptions,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer } | 'error'> {
  const headers: Record<string, string> = { host: req.headers.host ?? '', 'content-length': '0' };
  if (req.headers.authorization) headers.authorization = req.headers.authorization;
  for (const name of o.allowedHeaders) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  return new Promise((resolve) => {
    const r = httpRequest(
      { host: o.authHost, port: o.authPort, method: req.method, path: `${o.pathPrefix}${req.url}`, headers, timeout: o.timeoutMs ?? 200 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', () => resolve('error'));
    r.end();
  });
}

export async function startEnvoyLikeGateway(o: EnvoyOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const answer = await check(req, o);
    if (answer === 'error' || answer.status >= 500) {
      res.writeHead(403).end();
      return;
    }
    if (answer.status !== 200) {
      const headers = { ...answer.headers };
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      delete headers.connection;
      res.writeHead(answer.status, headers).end(answer.body);
      return;
    }
    const upstreamHeaders: Record<string, string | string[] | undefined> = { ...req.headers };
    // Like Envoy, only headers the answer carries replace the client's; others pass untouched.
    for (const name of o.allowedUpstreamHeaders) {
      const v = answer.headers[name];
      if (v !== undefined) upstreamHeaders[name] = v;
    }
    const up = httpRequest({ host: '127.0.0.1', port: o.upstreamPort, method: req.method, path: req.url, headers: upstreamHeaders }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.writeHead(503).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A test gateway for the Gateway API HTTPRoute `ExternalAuth` filter with protocol HTTP (GEP-1494,
 * gateway-api apis/v1/httproute_types.go): the auth request path is `path` + the client's path;
 * Host, Method, Path, Content-Length and Authorization are always sent, other headers only when in
 * `allowedHeaders`; only a 200 allows, and `allowedResponseHeaders` go upstream; any other answer is
 * a denial with its status; errors fail closed (403). It is the same wire shape as the Envoy one,
 * with the Gateway API's names, so it is built on it.
 */
export function startGatewayApiLikeGateway(o: {
  authHost: string;
  authPort: number;
  path: string;
  allowedHeaders: readonly string[];
  allowedResponseHeaders: readonly string[];
  upstreamPort: number;
}) {
  return startEnvoyLikeGateway({
    authHost: o.authHost,
    authPort: o.authPort,
    pathPrefix: o.path,
    allowedHeaders: o.allowedHeaders,
    allowedUpstreamHeaders: o.allowedResponseHeaders,
    upstreamPort: o.upstreamPort,
    timeoutMs: 1000,
  });
}
