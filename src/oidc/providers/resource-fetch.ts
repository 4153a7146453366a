import type { OidcSettings } from '../../config/oidc-settings.js';
import { classifyIdpError } from '../classify-error.js';
import { LoginError } from '../login-error.js';
import type { ProviderClient } from '../provider-client.js';

/** `uri` with one more query parameter, after any query it already has. */
export function withQueryParam(uri: string, name: string, value: string): string {
  return `${uri}${uri.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

/** A protected resource call with the access token sent the configured way (header, form or query). */
export async function fetchJson(pc: ProviderClient, uri: string, accessToken: string, how: OidcSettings['userInfoAuth'], step: string): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'airy-auth' };
  let url = uri;
  let method = 'GET';
  let body: string | undefined;
  if (how === 'header') headers.authorization = `Bearer ${accessToken}`;
  else if (how === 'query') url = withQueryParam(uri, 'access_token', accessToken);
  else {
    method = 'POST';
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams({ access_token: accessToken }).toString();
  }
  let res: Response;
  try {
    res = await pc.fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw classifyIdpError(err, step);
  }
  if (!res.ok) throw new LoginError('idp_error', `${step}: the provider answered ${res.status}`);
  try {
    return await res.json();
  } catch {
    throw new LoginError('idp_error', `${step}: the answer is not JSON`);
  }
}

/** A JSON answer and its `Link` header (for APIs that page with `rel="next"`), the token in the header. */
export async function fetchJsonWithLink(
  pc: ProviderClient,
  url: string,
  accessToken: string,
  step: string,
  accept = 'application/json',
): Promise<{ body: unknown; link: string | undefined }> {
  let res: Response;
  try {
    res = await pc.fetch(url, {
      headers: { accept, 'user-agent': 'airy-auth', authorization: `Bearer ${accessToken}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw classifyIdpError(err, step);
  }
  if (!res.ok) throw new LoginError('idp_error', `${step}: the provider answered ${res.status}`);
  try {
    return { body: await res.json(), link: res.headers.get('link') ?? undefined };
  } catch {
    throw new LoginError('idp_error', `${step}: the answer is not JSON`);
  }
}

/** The userinfo answer as an object, or LoginError. */
export async function fetchUserInfo(pc: ProviderClient, uri: string, accessToken: string): Promise<Record<string, unknown>> {
  const info = await fetchJson(pc, uri, accessToken, pc.settings.userInfoAuth, 'userinfo');
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new LoginError('idp_error', 'userinfo did not return a JSON object');
  return info as Record<string, unknown>;
}
