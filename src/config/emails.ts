import { compileGlobSet } from './glob.js';
import type { IssueList } from './issues.js';

/** The compiled `allowedEmailPatterns`. */
export interface EmailMatcher {
  readonly patterns: readonly string[];
  matches(email: string): boolean;
}

/**
 * Glob patterns, case-insensitive, where `.` is a literal dot. (Airy Core turned patterns into
 * regexes without escaping, so `*@example.com` also admitted `x@exampleXcom`; this does not.)
 */
export function compileEmails(entries: readonly string[], path: string, issues: IssueList): EmailMatcher {
  const accepted: string[] = [];
  for (const entry of entries) {
    if (/\s/.test(entry)) {
      issues.error(path, `"${entry}" contains white space`, { allowed: 'comma-separated globs such as *@example.com' });
      continue;
    }
    if (entry.includes('@') && !entry.includes('*') && entry.split('@').length !== 2) {
      issues.error(path, `"${entry}" has more than one "@"`, { allowed: 'a single address or a glob such as *@example.com' });
      continue;
    }
    const domainPart = entry.includes('@') ? entry.slice(entry.lastIndexOf('@') + 1) : undefined;
    if (entry !== '*' && !entry.includes('@') && entry.startsWith('*')) {
      issues.warn(path, `"${entry}" has no "@", so it also matches other domains that end the same way`, {
        fix: `write "*@${entry.replace(/^\*+\.?/, '')}" for one domain, or "*@*.${entry.replace(/^\*+\.?/, '')}" for its subdomains`,
      });
    } else if (domainPart === '*') {
      issues.warn(path, `"${entry}" allows that user name on every domain`);
    }
    accepted.push(entry);
  }
  // Exact addresses and `*@domain` patterns are set look-ups: 10,000 entries cost what one does.
  const matcher = compileGlobSet(accepted, { nocase: true });
  return {
    patterns: entries,
    matches(email: string): boolean {
      return comparableEmail(email) && matcher(email);
    },
  };
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const NON_ASCII = /[^\x00-\x7f]/g;

/**
 * An address that rules may compare as text: exactly one `@` between a local part and a domain,
 * no white space or control characters, and no letter that case folding turns into ASCII.
 * Unicode lower-cases the Kelvin sign to `k` and `İ` to `i̇`, so `eve@\u212Aelvin.io` would pass
 * `*@kelvin.io`; such addresses match no rule. Other non-ASCII letters (`jürgen@`) compare safely.
 */
export function comparableEmail(email: string): boolean {
  if (!isSingleAddress(email)) return false;
  if (VISIBLE_ASCII.test(email)) return true;
  if (/[\s\x00-\x1f\x7f]/.test(email)) return false;
  return email.toLowerCase().replace(NON_ASCII, '') === email.replace(NON_ASCII, '').toLowerCase();
}

/**
 * Exactly one local part and one domain: `eve@evil.com@example.com` is not an address any
 * pattern may match, whichever way it arrived (an IdP, or a token minted with the shared secret).
 */
function isSingleAddress(email: string): boolean {
  const at = email.indexOf('@');
  return at > 0 && at < email.length - 1 && email.indexOf('@', at + 1) < 0;
}
