import type { Minimatch } from 'minimatch';
import { compileGlob } from './glob.js';
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
  const res: Minimatch[] = [];
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
    const re = compileGlob(entry, { nocase: true });
    if (re === undefined) {
      issues.error(path, `"${entry}" is not a valid glob`, { allowed: 'globs with *, ? and [...]' });
      continue;
    }
    res.push(re);
  }
  return {
    patterns: entries,
    matches(email: string): boolean {
      return res.some((re) => re.match(email));
    },
  };
}
