import { createServer, type ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { accessDeniedPage, providerChooserPage, unknownProviderPage } from '../../src/http/pages.js';

/** The pages that name providers, served for real: what a browser (and a screen reader) gets. */
let page: (res: ServerResponse) => void = () => {};
const server = createServer((_req, res) => page(res));
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function render(p: (res: ServerResponse) => void) {
  page = p;
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, html: await res.body.text() };
}

const HOSTILE = [
  { name: 'corp', displayName: 'Corp "SSO" <script>alert(1)</script>' },
  { name: 'git_hub-2', displayName: "O'Brien & Sons" },
];
const links = (html: string) => [...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1], m[2]]);

it('the chooser: title and heading "Sign in", a named link per provider in order, rd kept, everything escaped, no script allowed', async () => {
  const rd = 'https://app.example.com/a?x=1&y="2"#<frag>';
  const { status, headers, html } = await render((res) => providerChooserPage(res, HOSTILE, rd, ['airy_auth_refresh=; Max-Age=0']));
  expect(status).toBe(200);
  expect(html).toContain('<title>Sign in</title>');
  expect(html).toContain('<h1>Sign in</h1>');
  expect(headers['content-security-policy']).toContain("default-src 'none'");
  expect(headers['set-cookie']).toBe('airy_auth_refresh=; Max-Age=0');
  expect(html).not.toContain('<script');
  expect(links(html)).toEqual([
    [`/oauth2/authorization/corp?rd=${encodeURIComponent(rd)}`, 'Sign in with Corp &quot;SSO&quot; &lt;script&gt;alert(1)&lt;/script&gt;'],
    [`/oauth2/authorization/git_hub-2?rd=${encodeURIComponent(rd).replace(/'/g, '&#39;')}`, 'Sign in with O&#39;Brien &amp; Sons'],
  ]);
});

it('the 403 page of a session from a provider the route does not take offers the providers it takes, on the login host', async () => {
  const rd = 'https://app.example.com/admin';
  const { status, html } = await render((res) =>
    accessDeniedPage(res, undefined, undefined, {}, { providers: [HOSTILE[1]!], rd, loginOrigin: 'https://auth.example.com' }),
  );
  expect(status).toBe(403);
  expect(html).toContain('This service takes sign-ins through <strong>O&#39;Brien &amp; Sons</strong> only.');
  expect(links(html)).toEqual([
    [`https://auth.example.com/oauth2/authorization/git_hub-2?rd=${encodeURIComponent(rd)}`, 'Sign in with O&#39;Brien &amp; Sons'],
  ]);
  expect(html).toContain('Log out and try another account');
  // Without providers to offer, the page is as before.
  expect((await render((res) => accessDeniedPage(res, undefined, undefined))).html).toContain('This request is not allowed from where it was made.');
});

it('the unknown-provider page lists the configured providers, escaped', async () => {
  const { status, html } = await render((res) => unknownProviderPage(res, ['corp', '<x>']));
  expect(status).toBe(404);
  expect(html).toContain('The configured providers are <code>corp</code>, <code>&lt;x&gt;</code>.');
});
