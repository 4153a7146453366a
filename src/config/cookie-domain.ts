import { parse } from 'tldts';
import type { IssueList } from './issues.js';

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

/**
 * `cookieDomain`: the Domain attribute of the session cookie, lower case without the leading dot.
 * Refused: a public suffix (`co.uk`, `github.io`: browsers drop such a cookie, or worse, it would
 * be sent to every site under it), an IP address, and a domain that does not cover the `publicUrl`
 * host (the login there would set a cookie the browser never sends back: a login loop). The
 * public suffix list comes from a maintained package (private suffixes included, as browsers use).
 */
export function compileCookieDomain(text: string | undefined, path: string, publicUrl: string | undefined, issues: IssueList): string | undefined {
  if (text === undefined) return undefined;
  const domain = text.toLowerCase().replace(/^\./, '');
  const allowed = 'a parent domain of the protected hosts, such as .example.com';
  if (!DOMAIN.test(domain)) {
    issues.error(path, `"${text}" is not a domain`, { allowed });
    return domain;
  }
  const parsed = parse(domain, { allowPrivateDomains: true });
  if (parsed.isIp) {
    issues.error(path, `"${text}" is an IP address; a cookie for it cannot be shared with other hosts`, {
      fix: 'leave cookieDomain unset (a host-only cookie), or use a DNS name',
    });
  } else if (parsed.publicSuffix === domain) {
    issues.error(path, `"${text}" is a public suffix: browsers refuse a cookie for it, or send it to every site registered under it`, {
      allowed,
      fix: `use your own domain under it, such as .example.${domain}`,
    });
  }
  const publicHost = publicUrl === undefined ? undefined : new URL(publicUrl).hostname;
  if (publicHost !== undefined && publicHost !== domain && !publicHost.endsWith(`.${domain}`)) {
    issues.error(path, `"${text}" does not cover the publicUrl host ${publicHost}: the login there would set a cookie its browser never sends back`, {
      fix: `use a domain that ${publicHost} is under, or a publicUrl under ${domain}`,
    });
  }
  return domain;
}
