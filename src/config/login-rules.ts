import { compileEmails, type EmailMatcher } from './emails.js';
import type { IssueList } from './issues.js';
import { compileOidc, type OidcSettings, oidcRequested } from './oidc-settings.js';
import { compileRouteRules, type RouteRules } from './route-rules.js';
import { type Settings, settingPath } from './settings.js';
import { listValue, stringValue } from './values.js';

/** Who may log in and who may reach what: the provider, the email patterns, the groups, the named policies. */
export interface LoginRules {
  readonly oidc: OidcSettings | undefined;
  readonly emails: EmailMatcher | undefined;
  readonly groups: ReadonlySet<string> | undefined;
  readonly routeRules: RouteRules;
  readonly groupsClaim: string;
}

/** `hasJwtSecret`: a login needs the key that signs its session cookie. */
export function compileLoginRules(settings: Settings, hasJwtSecret: boolean, issues: IssueList): LoginRules {
  const emailPatterns = listValue(settings.get('allowedEmailPatterns'), issues);
  const emails = emailPatterns.length > 0 ? compileEmails(emailPatterns, settingPath(settings, 'allowedEmailPatterns'), issues) : undefined;
  const baseOidc = oidcRequested(settings) ? compileOidc(settings, issues) : undefined;
  if (oidcRequested(settings)) {
    if (!hasJwtSecret) {
      issues.error(settingPath(settings, 'jwtSecret'), 'is required when OIDC login is configured: it signs the session cookie', {
        fix: 'set jwtSecret; generate one with `openssl rand -base64 48`',
      });
    }
    if (emails === undefined) {
      issues.error(settingPath(settings, 'allowedEmailPatterns'), 'is required with OIDC login, or anyone with an account at the provider gets in', {
        fix: 'list who may log in, e.g. "*@example.com"; "*" allows every verified email',
      });
    }
  }
  const allowedGroups = listValue(settings.get('allowedGroups'), issues);
  const routeRules = compileRouteRules(settings.get('policies'), issues);
  const groupsClaim = stringValue(settings.get('groupsClaim'), issues) ?? 'groups';
  return {
    oidc: withGithubGroups(baseOidc, allowedGroups.length > 0 || routeRules.namedGroups.size > 0),
    emails,
    groups: allowedGroups.length > 0 ? new Set(allowedGroups) : undefined,
    routeRules,
    groupsClaim,
  };
}

/**
 * GitHub has no groups claim: its orgs and teams are read at login, under the `read:org` scope,
 * which is asked for only when some rule of the configuration names a group (an org or a team).
 */
function withGithubGroups(oidc: OidcSettings | undefined, groupRules: boolean): OidcSettings | undefined {
  if (oidc?.preset !== 'github' || !groupRules || !oidc.userInfoUri) return oidc;
  const base = oidc.userInfoUri.replace(/\/+$/, '');
  return {
    ...oidc,
    scopes: oidc.scopes.includes('read:org') ? oidc.scopes : [...oidc.scopes, 'read:org'],
    orgsUri: `${base}/orgs`,
    teamsUri: `${base}/teams`,
  };
}
