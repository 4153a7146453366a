import { DEFAULT_SESSION_TTL_SECONDS } from '../session/claims.js';
import { compileCookieDomain } from './cookie-domain.js';
import { durationSetting } from './duration.js';
import type { IssueList } from './issues.js';
import { normalizeOrigin } from './origins.js';
import { compileRedirectDomains, type HostMatcher } from './redirect-domains.js';
import { type Settings, settingPath } from './settings.js';
import { listValue, stringValue } from './values.js';

/** Where the service lives and how long its sessions last: the cookie, the redirects, the lifetimes. */
export interface SessionSettings {
  readonly redirectDomains: HostMatcher;
  readonly publicUrl: string | undefined;
  readonly cookieDomain: string | undefined;
  readonly sessionTtlSeconds: number;
  readonly sessionRecheckSeconds: number | undefined;
  readonly loginSuccessUrl: string;
  readonly logoutSuccessUrl: string;
}

const YEAR_AND_A_DAY_SECONDS = 366 * 86400;
/** What sessionRecheck may be, globally and per provider. */
export const RECHECK_BOUNDS = { min: 60, max: YEAR_AND_A_DAY_SECONDS, fallback: 3600 } as const;

export function compileSessionSettings(settings: Settings, issues: IssueList): SessionSettings {
  const str = (k: 'publicUrl' | 'cookieDomain' | 'sessionRecheck' | 'sessionTtl' | 'loginSuccessUrl' | 'logoutSuccessUrl') =>
    stringValue(settings.get(k), issues);
  const redirectDomains = compileRedirectDomains(listValue(settings.get('redirectDomains'), issues), settingPath(settings, 'redirectDomains'), issues);
  const publicUrl = compilePublicUrl(str('publicUrl'), settingPath(settings, 'publicUrl'), issues);
  const cookieDomain = compileCookieDomain(str('cookieDomain'), settingPath(settings, 'cookieDomain'), publicUrl, issues);
  const recheckText = str('sessionRecheck');
  const sessionRecheckSeconds =
    recheckText === undefined ? undefined : durationSetting(recheckText, settingPath(settings, 'sessionRecheck'), issues, RECHECK_BOUNDS);
  const sessionTtlSeconds = durationSetting(str('sessionTtl'), settingPath(settings, 'sessionTtl'), issues, {
    min: 60,
    max: YEAR_AND_A_DAY_SECONDS,
    fallback: DEFAULT_SESSION_TTL_SECONDS,
  });
  return {
    redirectDomains,
    publicUrl,
    cookieDomain,
    sessionTtlSeconds,
    sessionRecheckSeconds,
    loginSuccessUrl: str('loginSuccessUrl') ?? '/',
    logoutSuccessUrl: str('logoutSuccessUrl') ?? '/',
  };
}

/** The service's own origin, for callback URLs and the cookie's domain; a trailing slash is dropped. */
function compilePublicUrl(text: string | undefined, path: string, issues: IssueList): string | undefined {
  if (text === undefined) return undefined;
  const publicUrl = normalizeOrigin(text.replace(/\/$/, ''));
  if (publicUrl === undefined) issues.error(path, `"${text}" is not a scheme and host`, { allowed: 'https://auth.example.com (no path)' });
  return publicUrl;
}
