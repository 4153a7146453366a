import type { ServerResponse } from 'node:http';
import type { LoginError } from '../oidc/login-error.js';

/** A short text answer that nobody needs to style (health, readiness, 4xx/5xx for machines). */
export function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A small self-contained page: no scripts, no external assets, nothing to cache. */
function sendPage(res: ServerResponse, status: number, title: string, bodyHtml: string, headers: Record<string, string | string[]> = {}): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1c1e21}h1{font-size:1.4rem}
.box{border:1px solid #d0d7de;border-radius:8px;padding:1.5rem}
button,a.button{font:inherit;padding:.4rem 1rem;border-radius:6px;border:1px solid #8c959f;background:#f6f8fa;color:inherit;text-decoration:none;cursor:pointer}
code{background:#f6f8fa;padding:0 .3em;border-radius:4px}
.providers{list-style:none;padding:0}.providers li{margin:.8rem 0}
.providers a{padding:.4rem 1rem;border-radius:6px;border:1px solid #8c959f;background:#f6f8fa;color:inherit;text-decoration:none}</style></head>
<body><div class="box"><h1>${escapeHtml(title)}</h1>${bodyHtml}</div></body></html>
`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'X-Frame-Options': 'DENY',
    'Content-Length': String(Buffer.byteLength(html)),
    ...headers,
  });
  res.end(html);
}

function logoutForm(label = 'Log out'): string {
  return `<form method="post" action="/logout"><button type="submit">${escapeHtml(label)}</button></form>`;
}

/**
 * A navigation that is known but refused: the account (when that is why) and a way to switch. With
 * `signInWith` (a session from a provider this route does not take), the providers it takes, each
 * a link that signs in with it and comes back to `rd`.
 */
export function accessDeniedPage(
  res: ServerResponse,
  refusedEmail: string | undefined,
  missingGroups: readonly string[] | undefined,
  headers: Record<string, string> = {},
  signInWith?: { readonly providers: readonly ProviderChoice[]; readonly rd: string; readonly loginOrigin?: string | undefined },
): void {
  const who = refusedEmail === undefined ? '' : `<p>You are signed in as <strong>${escapeHtml(refusedEmail)}</strong>, which may not use this service.</p>`;
  const groups =
    missingGroups === undefined
      ? ''
      : `<p>This service is for members of ${missingGroups.map((g) => `<strong>${escapeHtml(g)}</strong>`).join(' or ')}, ` +
        'and your account is in none of them.</p>';
  const providers =
    signInWith === undefined || signInWith.providers.length === 0
      ? ''
      : `<p>This service takes sign-ins through ${signInWith.providers.map((p) => `<strong>${escapeHtml(p.displayName)}</strong>`).join(' or ')} only.</p>` +
        providerLinks(signInWith.providers, signInWith.rd, signInWith.loginOrigin);
  const body =
    refusedEmail === undefined && missingGroups === undefined && providers === ''
      ? '<p>This request is not allowed from where it was made.</p>'
      : `${who}${groups}${providers}${logoutForm('Log out and try another account')}`;
  sendPage(res, 403, 'Access denied', body, headers);
}

export function loginNotConfiguredPage(res: ServerResponse): void {
  sendPage(res, 404, 'Login is not configured', '<p>This airy-auth has no OIDC provider configured, so there is nothing to log in with.</p>');
}

/** A login with a provider that is not configured: the configured ones, each a way to sign in. */
export function unknownProviderPage(res: ServerResponse, providers: readonly string[]): void {
  const list = providers.map((p) => `<code>${escapeHtml(p)}</code>`).join(', ');
  sendPage(res, 404, 'Unknown provider', `<p>The configured provider${providers.length === 1 ? ' is' : 's are'} ${list}.</p>`);
}

/** Who a sign-in button is for: a provider's name (its path segment) and the name people know it by. */
export interface ProviderChoice {
  readonly name: string;
  readonly displayName: string;
}

/**
 * Several providers: one link per provider, in config order, each starting that provider's login
 * with the same `rd`. Plain links, so it works without scripts and a screen reader names each.
 */
export function providerChooserPage(
  res: ServerResponse,
  providers: readonly ProviderChoice[],
  rd: string,
  cookies: readonly string[] = [],
  intro = 'Choose how to sign in.',
): void {
  const body = `<p>${escapeHtml(intro)}</p>${providerLinks(providers, rd)}`;
  sendPage(res, 200, 'Sign in', body, cookies.length > 0 ? { 'Set-Cookie': [...cookies] } : {});
}

/**
 * One "Sign in with NAME" link per provider, each starting that provider's login with the same
 * `rd`; on the login host (`loginOrigin`, for a page an app host shows), else on this host.
 */
function providerLinks(providers: readonly ProviderChoice[], rd: string, loginOrigin = ''): string {
  const href = (p: ProviderChoice) => `${loginOrigin}/oauth2/authorization/${encodeURIComponent(p.name)}?rd=${encodeURIComponent(rd)}`;
  const items = providers.map((p) => `<li><a href="${escapeHtml(href(p))}">Sign in with ${escapeHtml(p.displayName)}</a></li>`).join('\n');
  return `<ul class="providers">\n${items}\n</ul>`;
}

/** Why a login failed, in words for the person: not allowed (403), start again (400), or the provider's fault (502). */
export function loginErrorPage(res: ServerResponse, status: number, err: LoginError, headers: Record<string, string[]>): void {
  if (err.problem.startsWith('email_')) {
    const who = err.email ? `<p>You signed in as <strong>${escapeHtml(err.email)}</strong>.</p>` : '';
    const advice = '<p>Ask an administrator to allow it, or log out and sign in with another account.</p>';
    sendPage(
      res,
      status,
      'This account is not allowed',
      `${who}<p>${escapeHtml(err.detail)}.</p>${advice}${logoutForm('Log out and try another account')}`,
      headers,
    );
  } else if (status === 400 || err.problem === 'cancelled') {
    sendPage(res, status, 'Login could not be finished', `<p>${escapeHtml(err.detail)}.</p><p><a class="button" href="/login">Start again</a></p>`, headers);
  } else {
    const advice = '<p>This is not your fault. Try again in a moment; if it keeps failing, tell an administrator.</p>';
    sendPage(
      res,
      status,
      'The identity provider failed',
      `<p>${escapeHtml(err.detail)}.</p>${advice}<p><a class="button" href="/login">Try again</a></p>`,
      headers,
    );
  }
}

/** A logout that did not come from this site: nothing is cleared until the person confirms. */
export function confirmLogoutPage(res: ServerResponse): void {
  sendPage(res, 200, 'Log out?', `<p>Another page asked to log you out. Press the button to log out.</p>${logoutForm('Log out')}`);
}

/** The login host's page after a login that named no app to return to; static, it names nobody. */
export function signedInPage(res: ServerResponse): void {
  sendPage(res, 200, 'Signed in', '<p>You are signed in. Go back to the app you were using; it now lets you in.</p>');
}

/** The login host's page after a logout that named no app to return to; static, it names nobody. */
export function signedOutPage(res: ServerResponse): void {
  sendPage(res, 200, 'Signed out', '<p>You are signed out.</p><p><a class="button" href="/login">Sign in again</a></p>');
}
