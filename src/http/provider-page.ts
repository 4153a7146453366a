import type { ServerResponse } from 'node:http';
import type { Policy } from '../config/policy.js';
import { escapeHtml, sendPage } from './pages.js';

/**
 * The 403 page for a person signed in through a provider this app does not accept: which providers
 * it accepts, with a link per provider that starts a login there (`rd`, when given, brings the
 * person back). Everything in it is escaped: display names come from the config, the email from
 * the session, and the URL from the request.
 */
export function providerNotAllowedPage(
  res: ServerResponse,
  policy: Policy,
  refused: { readonly email: string | undefined; readonly provider: string | undefined; readonly accepted: readonly string[] },
  loginOrigin: string,
  rd: string | undefined,
  headers: Record<string, string>,
): void {
  const names = refused.accepted.map((name) => policy.providers.get(name)?.displayName ?? name);
  const used = refused.provider === undefined ? undefined : (policy.providers.get(refused.provider)?.displayName ?? refused.provider);
  const who =
    refused.email === undefined
      ? ''
      : `<p>You are signed in as <strong>${escapeHtml(refused.email)}</strong>${used === undefined ? '' : ` with ${escapeHtml(used)}`}.</p>`;
  const query = rd === undefined ? '' : `?rd=${encodeURIComponent(rd)}`;
  const links = refused.accepted.map((name, i) => {
    const href = `${loginOrigin}/oauth2/authorization/${encodeURIComponent(name)}${query}`;
    return `<p><a class="button" href="${escapeHtml(href)}">Sign in with ${escapeHtml(names[i]!)}</a></p>`;
  });
  const body =
    names.length === 0
      ? `${who}<p>This app accepts none of the sign-ins this service offers. Ask an administrator.</p>`
      : `${who}<p>This app accepts sign-in with ${names.map((n) => `<strong>${escapeHtml(n)}</strong>`).join(' or ')}.</p>${links.join('')}`;
  sendPage(res, 403, 'Sign in with another account', body, headers);
}
