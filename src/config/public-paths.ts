import type { Minimatch } from 'minimatch';
import { compileGlob } from './glob.js';
import type { IssueList } from './issues.js';

/** The compiled `publicPaths`: matched against the normalized, decoded path, never the query. */
export interface PathMatcher {
  readonly patterns: readonly string[];
  matches(normalizedPath: string): boolean;
}

export function compilePublicPaths(entries: readonly string[], path: string, issues: IssueList): PathMatcher {
  const res: Minimatch[] = [];
  for (const entry of entries) {
    if (!entry.startsWith('/')) {
      issues.error(path, `"${entry}" must start with "/"`, { allowed: 'path globs such as /webhooks/** or /healthz', fix: `write "/${entry}"` });
      continue;
    }
    if (entry.includes('?') && entry.indexOf('?') > entry.lastIndexOf('/') && /\?.*=/.test(entry)) {
      issues.error(path, `"${entry}" looks like it has a query string; public paths never match the query`);
      continue;
    }
    const re = compileGlob(entry);
    if (re === undefined) {
      issues.error(path, `"${entry}" is not a valid glob`, { allowed: 'globs with *, ** and ?' });
      continue;
    }
    if (re.match('/') && re.match('/admin/secret')) {
      issues.warn(path, `"${entry}" matches every path: nothing is protected`);
    }
    res.push(re);
  }
  return {
    patterns: entries,
    matches(normalizedPath: string): boolean {
      for (const re of res) if (re.match(normalizedPath)) return true;
      return false;
    },
  };
}
