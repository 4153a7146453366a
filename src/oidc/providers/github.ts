import type { OidcSettings } from '../../config/oidc-settings.js';
import type { LoginProvider } from '../../config/policy.js';
import { type Identity, subjectOf, textClaim, wellFormedEmail } from '../identity.js';
import { LoginError } from '../login-error.js';
import type { ProviderClient } from '../provider-client.js';
import type { ProviderKind } from './kind.js';
import { fetchJson, fetchJsonWithLink, fetchUserInfo, withQueryParam } from './resource-fetch.js';

/**
 * GitHub (and GitHub Enterprise, through the URI keys): plain OAuth 2.0 with its own identity API.
 * The email comes from /user/emails (verified addresses only); there is no groups claim, so the
 * user's orgs and teams become the groups `org` and `org:team-slug`, as oauth2-proxy names them.
 * They are read under the `read:org` scope, which is asked for only when some rule of the
 * configuration names a group.
 */
export const githubKind: ProviderKind = {
  kind: 'github',
  scopes(settings) {
    const { scopes } = settings;
    return readsGroups(settings) && !scopes.includes('read:org') ? [...scopes, 'read:org'] : scopes;
  },
  extraEndpoints(settings) {
    const api = apiBase(settings);
    if (api === undefined) return [];
    return [
      ['emails', `${api}/emails`],
      ...(readsGroups(settings)
        ? ([
            ['orgs', `${api}/orgs`],
            ['teams', `${api}/teams`],
          ] as const)
        : []),
    ];
  },
  async identity({ provider, pc, config, tokens }): Promise<Identity> {
    const api = apiBase(provider.settings);
    const userInfoUri = pc.userInfoUri(config);
    if (api === undefined || userInfoUri === undefined) throw new LoginError('idp_error', 'GitHub login needs userInfoUri');
    const user = await fetchUserInfo(pc, userInfoUri, tokens.access_token);
    const emails = parseEmails(await fetchJson(pc, `${api}/emails`, tokens.access_token, 'header', 'emails'));
    const identity = identityOf(user, emails, provider);
    if (!readsGroups(provider.settings)) return identity;
    const orgs = await fetchAllPages(pc, `${api}/orgs`, tokens.access_token, 'orgs');
    const teams = await fetchAllPages(pc, `${api}/teams`, tokens.access_token, 'teams');
    return { ...identity, groups: groupsOf(orgs, teams) };
  },
};

function readsGroups(settings: OidcSettings): boolean {
  return settings.groupRules && apiBase(settings) !== undefined;
}

/** `https://api.github.com/user` (or the Enterprise one): /emails, /orgs and /teams are below it. */
function apiBase(settings: OidcSettings): string | undefined {
  return settings.userInfoUri?.replace(/\/+$/, '');
}

interface GithubEmail {
  readonly email: string;
  readonly primary: boolean;
  readonly verified: boolean;
}

function parseEmails(body: unknown): GithubEmail[] {
  if (!Array.isArray(body)) throw new LoginError('idp_error', 'GitHub /user/emails did not return a list');
  return body.filter((e): e is GithubEmail => typeof e === 'object' && e !== null && typeof (e as GithubEmail).email === 'string');
}

/**
 * The email comes from /user/emails, verified ones only, the primary first; the first verified
 * address that the provider's patterns allow is used, so a user whose primary address is not
 * verified, or not allowed, can still log in with a verified one that is.
 */
function identityOf(user: Record<string, unknown>, emails: readonly GithubEmail[], provider: LoginProvider): Identity {
  const sub = subjectOf(user, provider.settings.userNameAttribute);
  const verified = emails.filter((e) => e.verified === true && typeof e.email === 'string' && wellFormedEmail(e.email));
  if (verified.length === 0) {
    throw new LoginError('email_unverified', 'this GitHub account has no verified email address', textClaim(emails.find((e) => e.primary)?.email));
  }
  verified.sort((a, b) => Number(b.primary) - Number(a.primary));
  const chosen = verified.find((e) => provider.emails?.matches(e.email) ?? false) ?? verified[0]!;
  return { sub, email: chosen.email, name: textClaim(user.name) ?? textClaim(user.login), avatarUrl: textClaim(user.avatar_url) };
}

/** At most this many pages of 100 are read: 1,000 orgs or teams is more than any rule needs. */
const MAX_PAGES = 10;

/** Every item of a paginated GitHub list, following `Link: <...>; rel="next"`. */
async function fetchAllPages(pc: ProviderClient, uri: string, accessToken: string, step: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let next: string | undefined = withQueryParam(uri, 'per_page', '100');
  for (let page = 0; next !== undefined && page < MAX_PAGES; page++) {
    const { body, link } = await fetchJsonWithLink(pc, next, accessToken, step, 'application/vnd.github+json');
    if (!Array.isArray(body)) throw new LoginError('idp_error', `GitHub ${step} did not return a list`);
    items.push(...body);
    next = /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];
    // Only ever follow links to the same API host, whatever the answer says.
    if (next !== undefined && new URL(next).origin !== new URL(uri).origin) next = undefined;
  }
  return items;
}

/** Orgs and teams as oauth2-proxy names them: `org` and `org:team-slug`. */
function groupsOf(orgs: readonly unknown[], teams: readonly unknown[]): string[] {
  const groups = new Set<string>();
  for (const o of orgs) {
    const login = (o as { login?: unknown } | null)?.login;
    if (typeof login === 'string' && login !== '') groups.add(login);
  }
  for (const t of teams) {
    const slug = (t as { slug?: unknown } | null)?.slug;
    const org = (t as { organization?: { login?: unknown } } | null)?.organization?.login;
    if (typeof slug === 'string' && slug !== '' && typeof org === 'string' && org !== '') groups.add(`${org}:${slug}`);
  }
  return [...groups];
}
