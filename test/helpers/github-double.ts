import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { ensureTestCa, tlsOptions } from './test-ca.js';

export interface GithubUser {
  readonly id: number;
  readonly login: string;
  readonly name: string | null;
  readonly emails: { email: string; primary: boolean; verified: boolean; visibility: string | null }[];
  /** Org logins, and teams as `org:team-slug`, for GET /user/orgs and /user/teams (read:org). */
  readonly orgs?: string[];
  readonly teams?: string[];
}

/**
 * A test double that answers like GitHub's documented OAuth app endpoints:
 * GET /login/oauth/authorize (a page where the test picks a user), POST /login/oauth/access_token
 * (form or JSON by Accept, errors as HTTP 200 with an `error` field, as GitHub does),
 * GET /user and GET /user/emails with `Authorization: Bearer|token <token>`, and GET /user/orgs and
 * /user/teams (403 without the read:org scope; `per_page` and `page`, with a `Link: rel="next"`
 * header while more pages follow). PKCE S256 is enforced when the authorize request carried a challenge.
 */
export async function startGithubDouble(options: { clientId: string; clientSecret: string; users: GithubUser[] }) {
  const ca = ensureTestCa();
  if (!ca) throw new Error('openssl is needed to make the test CA');
  const codes = new Map<string, { user: GithubUser; redirectUri: string; challenge: string | undefined; scope: string }>();
  const tokens = new Map<string, GithubUser>();
  const scopes = new Map<string, string[]>();
  const requests: { method: string; path: string; accept?: string | undefined; authorization?: string | undefined }[] = [];

  const server: Server = createServer(tlsOptions(ca), (req, res) => {
    const url = new URL(req.url ?? '/', 'https://github.test');
    requests.push({ method: req.method ?? '', path: url.pathname, accept: req.headers.accept, authorization: req.headers.authorization });
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (url.pathname === '/login/oauth/authorize' && req.method === 'GET') {
        const q = url.searchParams;
        if (q.get('client_id') !== options.clientId) return json(404, { error: 'unknown client' });
        const hidden = ['redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scope']
          .map((k) => `<input type="hidden" name="${k}" value="${(q.get(k) ?? '').replace(/"/g, '&quot;')}">`)
          .join('');
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            '<!doctype html><title>Sign in to GitHub (test double)</title><h1>Authorize test app</h1>' +
              `<p>Scopes: ${q.get('scope')}</p><form method="post" action="/login/oauth/authorize">${hidden}` +
              '<input name="login" placeholder="GitHub login"><input type="password" name="password" placeholder="password">' +
              '<button type="submit">Authorize</button></form>',
          );
        return;
      }
      if (url.pathname === '/login/oauth/authorize' && req.method === 'POST') {
        const f = new URLSearchParams(body);
        const user = options.users.find((u) => u.login === f.get('login'));
        if (!user) return res.writeHead(200, { 'content-type': 'text/html' }).end('<p>unknown user</p>');
        const code = randomBytes(10).toString('hex');
        codes.set(code, { user, redirectUri: f.get('redirect_uri') ?? '', challenge: f.get('code_challenge') || undefined, scope: f.get('scope') ?? '' });
        const to = new URL(f.get('redirect_uri') ?? '');
        to.searchParams.set('code', code);
        to.searchParams.set('state', f.get('state') ?? '');
        res.writeHead(302, { location: to.href }).end();
        return;
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        const f = new URLSearchParams(body);
        let id = f.get('client_id');
        let secret = f.get('client_secret');
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
        if (basic) [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) as [string, string];
        const answer = (payload: Record<string, string>) =>
          (req.headers.accept ?? '').includes('application/json')
            ? json(200, payload)
            : res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end(new URLSearchParams(payload).toString());
        if (id !== options.clientId || secret !== options.clientSecret)
          return answer({ error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
        const grant = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        if (!grant || grant.redirectUri !== f.get('redirect_uri'))
          return answer({ error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        if (
          grant.challenge &&
          createHash('sha256')
            .update(f.get('code_verifier') ?? '')
            .digest('base64url') !== grant.challenge
        ) {
          return answer({ error: 'bad_verification_code', error_description: 'PKCE verification failed.' });
        }
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.user);
        scopes.set(token, grant.scope.split(/[ ,]+/).filter(Boolean));
        return answer({ access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      }
      const auth = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '');
      const user = auth ? tokens.get(auth[1]!) : undefined;
      if (url.pathname === '/user/orgs' || url.pathname === '/user/teams') {
        if (!user) return json(401, { message: 'Requires authentication' });
        if (!scopes.get(auth![1]!)?.includes('read:org')) return json(403, { message: 'Resource not accessible by integration' });
        const all =
          url.pathname === '/user/orgs'
            ? (user.orgs ?? []).map((login, i) => ({ login, id: 1000 + i }))
            : (user.teams ?? []).map((t, i) => ({ id: 2000 + i, slug: t.split(':')[1], organization: { login: t.split(':')[0] } }));
        const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
        const page = Number(url.searchParams.get('page') ?? 1);
        const items = all.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        if (page * perPage < all.length) {
          const next = new URL(url.href.replace('https://github.test', `https://localhost:${(server.address() as { port: number }).port}`));
          next.searchParams.set('page', String(page + 1));
          headers.link = `<${next.href}>; rel="next"`;
        }
        return res.writeHead(200, headers).end(JSON.stringify(items));
      }
      if (url.pathname === '/user' || url.pathname === '/user/emails') {
        if (!user) return json(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
        if (url.pathname === '/user')
          return json(200, { login: user.login, id: user.id, avatar_url: `https://avatars.test/u/${user.id}`, name: user.name, email: null, type: 'User' });
        return json(200, user.emails);
      }
      json(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://localhost:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
