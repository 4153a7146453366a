import { compilePathGlob, type StringMatcher } from './glob.js';
import type { IssueList } from './issues.js';

/** The compiled `publicPaths`: matched against the normalized, decoded path, never the query. */
export interface PathMatcher {
  readonly patterns: readonly string[];
  /** The pattern that makes every path public, when one does: authentication is then off in effect. */
  readonly everything: string | undefined;
  matches(normalizedPath: string): boolean;
}

export function compilePublicPaths(entries: readonly string[], path: string, issues: IssueList): PathMatcher {
  const res: StringMatcher[] = [];
  let everything: string | undefined;
  for (const entry of entries) {
    if (!entry.startsWith('/')) {
      issues.error(path, `"${entry}" must start with "/"`, { allowed: 'path globs such as /webhooks/** or /healthz', fix: `write "/${entry}"` });
      continue;
    }
    if (entry.includes('?') && entry.indexOf('?') > entry.lastIndexOf('/') && /\?.*=/.test(entry)) {
      issues.error(path, `"${entry}" looks like it has a query string; public paths never match the query`);
      continue;
    }
    const re = compilePathGlob(entry);
    if (re('/') && re('/admin/secret') && re('/a/b/c/') && re('/.x')) everything ??= entry;
    res.push(re);
  }
  return {
    patterns: entries,
    everything,
    matches(normalizedPath: string): boolean {
      for (const re of res) if (re(normalizedPath)) return true;
      return false;
    },
  };
}
