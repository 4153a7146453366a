import type { IssueList } from './issues.js';

/** `redirectDomains`: the hosts a login on the login host may send the browser back to. */
export interface HostMatcher {
  readonly patterns: readonly string[];
  /** `host` is lower case, without port. */
  matches(host: string): boolean;
}

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

/**
 * Exact hosts (`app.example.com`) and whole subdomain trees (`*.example.com`: one label or more
 * before `.example.com`, not example.com itself). A set look-up and suffix checks: linear in the host.
 */
export function compileRedirectDomains(entries: readonly string[], path: string, issues: IssueList): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  const allowed = 'hosts such as app.example.com, or *.example.com for every subdomain';
  for (const raw of entries) {
    const entry = raw.toLowerCase();
    const wildcard = entry.startsWith('*.');
    const host = wildcard ? entry.slice(2) : entry;
    if (!HOST.test(host) || (wildcard && host.split('.').length < 2)) {
      issues.error(path, `"${raw}" is not a host or *.domain`, { allowed });
      continue;
    }
    if (wildcard) suffixes.push(`.${host}`);
    else exact.add(host);
  }
  return {
    patterns: entries,
    matches(host) {
      if (exact.has(host)) return true;
      for (const s of suffixes) if (host.length > s.length && host.endsWith(s)) return true;
      return false;
    },
  };
}
