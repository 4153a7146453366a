import { Agent, request, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GithubUser, startGithubDouble } from '../helpers/github-double.js';
import { driveLogin } from '../helpers/login-driver.js';
import { startLoginServer } from '../helpers/login-server.js';
import { ensureTestCa } from '../helpers/test-ca.js';
import { describeWithTools } from '../helpers/tools.js';

setGlobalDispatcher(new Agent({ pipelining: 0 }));

const USERS: GithubUser[] = [
  {
    id: 583231,
    login: 'octocat',
    name: 'The Octocat',
    emails: [
      { email: 'octocat@example.com', primary: true, verified: true, visibility: 'public' },
      { email: 'octo@elsewhere.io', primary: false, verified: true, visibility: null },
    ],
  },
  {
    id: 1002,
    login: 'secondary',
    name: null,
    emails: [
      { email: 'new@example.com', primary: true, verified: false, visibility: 'private' },
      { email: 'old@example.com', primary: false, verified: true, visibility: null },
    ],
  },
  { id: 1003, login: 'noverified', name: 'No Verified', emails: [{ email: 'nv@example.com', primary: true, verified: false, visibility: 'private' }] },
  { id: 1004, login: 'outsider', name: 'Out Sider', emails: [{ email: 'out@elsewhere.io', primary: true, verified: true, visibility: 'private' }] },
];

/** airy-auth with the GitHub preset, GitHub Enterprise style: its three URIs pointed at the double. */
function githubLoginServer(gh: { url: string }, before = '') {
  return startLoginServer(`${before}  oidc:
    provider: github
    clientId: gh-client-id
    clientSecret: gh-client-secret
    allowedEmailPatterns: "*@example.com"
    authorizationUri: ${gh.url}/login/oauth/authorize
    tokenUri: ${gh.url}/login/oauth/access_token
    userInfoUri: ${gh.url}/user
`);
}

describeWithTools('GitHub preset against a GitHub test double', { openssl: ensureTestCa() !== undefined }, () => {
  let gh: Awaited<ReturnType<typeof startGithubDouble>>;
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  beforeAll(async () => {
    gh = await startGithubDouble({ clientId: 'gh-client-id', clientSecret: 'gh-client-secret', users: USERS });
    srv = await githubLoginServer(gh);
  });
  afterAll(async () => {
    await srv?.close();
    await gh?.close();
  });

  const login = async (user: string) => {
    const { hops, jar } = await driveLogin(`${srv.url}/login?rd=%2Fdashboard`, user);
    const session = jar.get('127.0.0.1', 'airy_auth_token');
    return { last: hops.at(-1)!, hops, claims: session ? JSON.parse(Buffer.from(session.split('.')[1]!, 'base64url').toString()) : undefined };
  };

  it('logs in with the primary verified email, the numeric id as sub, and the GitHub scopes (no nonce: not OIDC)', async () => {
    const { last, hops, claims } = await login('octocat');
    const authorize = new URL(hops[1]!.location!);
    expect(authorize.pathname).toBe('/login/oauth/authorize');
    expect(authorize.searchParams.get('scope')).toBe('read:user user:email');
    expect(authorize.searchParams.get('nonce')).toBeNull();
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(last.status).toBe(302);
    expect(last.location).toBe(`${srv.url}/dashboard`);
    expect(claims).toMatchObject({ sub: '583231', email: 'octocat@example.com' });
    expect(JSON.parse(claims.principal)).toEqual({ id: '583231', name: 'The Octocat', avatarUrl: 'https://avatars.test/u/583231' });
    const token = gh.requests.find((r) => r.path === '/login/oauth/access_token')!;
    expect(token.accept).toContain('application/json');
    expect(token.authorization).toMatch(/^Basic /);
    expect(gh.requests.find((r) => r.path === '/user/emails')?.authorization).toMatch(/^Bearer gho_/);
  });

  it('uses a verified secondary email when the primary one is not verified', async () => {
    const { last, claims } = await login('secondary');
    expect(last.status).toBe(302);
    expect(claims).toMatchObject({ sub: '1002', email: 'old@example.com' });
  });

  it('refuses an account with no verified email', async () => {
    const { last, claims } = await login('noverified');
    expect(last.status).toBe(403);
    expect(last.body).toContain('no verified email address');
    expect(claims).toBeUndefined();
  });

  it('refuses a verified email outside allowedEmailPatterns, naming it and offering logout', async () => {
    const { last, claims } = await login('outsider');
    expect(last.status).toBe(403);
    expect(last.body).toContain('out@elsewhere.io');
    expect(last.body).toContain('action="/logout"');
    expect(claims).toBeUndefined();
  });

  it('answers 502 with what failed when GitHub refuses the code (HTTP 200 with an error field)', async () => {
    const res = await request(`${srv.url}/login/oauth2/code/github?code=nope&state=x`);
    expect(res.statusCode).toBe(400); // no state cookie: refused before any call to GitHub
    await res.body.dump();
    const { hops } = await driveLogin(`${srv.url}/login`, 'octocat', undefined, { stopAtCallback: (u) => u.replace(/code=[^&]+/, 'code=forged') });
    expect(hops.at(-1)!.status).toBe(502);
    expect(hops.at(-1)!.body).toMatch(/code exchange/);
  });
});

describeWithTools('GitHub orgs and teams as groups', { openssl: ensureTestCa() !== undefined }, () => {
  const teams = Array.from({ length: 130 }, (_, i) => `acme:team-${i}`); // two pages of 100
  const users: GithubUser[] = [
    {
      id: 2001,
      login: 'sre-person',
      name: 'S R E',
      emails: [{ email: 'sre@example.com', primary: true, verified: true, visibility: null }],
      orgs: ['acme', 'other-org'],
      teams: [...teams, 'acme:sre'],
    },
    { id: 2002, login: 'plain', name: 'Plain', emails: [{ email: 'plain@example.com', primary: true, verified: true, visibility: null }], orgs: ['acme'] },
    {
      id: 2003,
      login: 'many',
      name: 'Many Teams',
      emails: [{ email: 'many@example.com', primary: true, verified: true, visibility: null }],
      orgs: ['acme'],
      teams: [...Array.from({ length: 400 }, (_, i) => `acme:a-rather-long-team-name-${i}`), 'acme:sre'],
    },
  ];
  let gh: Awaited<ReturnType<typeof startGithubDouble>>;
  let srv: Awaited<ReturnType<typeof startLoginServer>>;
  beforeAll(async () => {
    gh = await startGithubDouble({ clientId: 'gh-client-id', clientSecret: 'gh-client-secret', users });
    srv = await githubLoginServer(gh, '  policies:\n    sre: {allowedGroups: "acme:sre"}\n');
  });
  afterAll(async () => {
    await srv?.close();
    await gh?.close();
  });

  it('asks for read:org because a rule names a team, reads every page of orgs and teams, and names them org and org:team', async () => {
    const { hops, jar } = await driveLogin(`${srv.url}/login?rd=%2F`, 'sre-person');
    expect(new URL(hops.find((h) => h.url.includes('/login/oauth/authorize'))!.url).searchParams.get('scope')).toBe('read:user user:email read:org');
    const session = jar.get('127.0.0.1', 'airy_auth_token');
    expect(hops.at(-1)!.status).toBe(302);
    const claims = JSON.parse(Buffer.from(session!.split('.')[1]!, 'base64url').toString()) as { groups: string[] };
    expect(claims.groups.slice(0, 2)).toEqual(['acme', 'other-org']);
    expect(claims.groups).toContain('acme:sre');
    expect(claims.groups).toContain('acme:team-129');
    expect(gh.requests.filter((r) => r.path === '/user/teams')).toHaveLength(2);
    const allowed = await request(`${srv.url}/auth?policy=sre`, {
      headers: { cookie: `airy_auth_token=${session}`, 'x-original-url': 'https://app.example.com/grafana', 'x-original-method': 'GET' },
    });
    await allowed.body.dump();
    expect(allowed.statusCode).toBe(200);
  });

  it('refuses the policy to a member of the org outside the team', async () => {
    const { jar } = await driveLogin(`${srv.url}/login?rd=%2F`, 'plain');
    const session = jar.get('127.0.0.1', 'airy_auth_token');
    const res = await request(`${srv.url}/auth?policy=sre`, {
      headers: { cookie: `airy_auth_token=${session}`, 'x-original-url': 'https://app.example.com/grafana', 'x-original-method': 'GET' },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(403);
  });

  it('keeps the session cookie under 4 KB when the groups would not fit: only the groups some rule names stay, and the log says so', async () => {
    const { hops, jar } = await driveLogin(`${srv.url}/login?rd=%2F`, 'many');
    const session = jar.get('127.0.0.1', 'airy_auth_token');
    expect(session, 'the browser kept the cookie').toBeDefined();
    const cookie = hops.at(-1)!.setCookies.find((c) => c.startsWith('airy_auth_token='))!;
    expect(cookie.split(';', 1)[0]!.length).toBeLessThanOrEqual(4096);
    expect(JSON.parse(Buffer.from(session!.split('.')[1]!, 'base64url').toString()).groups).toEqual(['acme:sre']);
    expect(srv.logger.lines.some((l) => l.msg.includes('too many groups for the session cookie') && l.fields.kept === 1)).toBe(true);
  });
});
