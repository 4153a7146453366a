import { createServer, type Server } from 'node:http';

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * A small application behind the gateway: HTML pages that show the identity headers the gateway
 * passed (user, email, groups) and a logout button, JSON under /api/ with CORS headers for the
 * requesting origin, and a page under /public/ that calls an API across origins from the browser.
 */
export async function startAppUpstream(): Promise<{ port: number; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const user = String(req.headers['x-auth-request-user'] ?? '');
    const email = String(req.headers['x-auth-request-email'] ?? '');
    const groups = String(req.headers['x-auth-request-groups'] ?? '');
    const origin = req.headers.origin;
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (path.startsWith('/api/') || path.startsWith('/public/api/')) {
      const body = JSON.stringify({ user, email, path });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
      if (origin) Object.assign(headers, { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' });
      res.writeHead(200, headers).end(body);
      return;
    }
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>Inbox app</title>
<style>body{font:16px system-ui,sans-serif;margin:3rem}dt{font-weight:bold}</style></head><body>
<h1>Inbox app ${esc(path)}</h1>
<dl><dt>X-Auth-Request-User</dt><dd id="user">${esc(user) || '(none)'}</dd><dt>X-Auth-Request-Email</dt><dd id="email">${esc(email) || '(none)'}</dd>
<dt>X-Auth-Request-Groups</dt><dd id="groups">${esc(groups) || '(none)'}</dd></dl>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>
</body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)) }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
