import type { IssueList } from './issues.js';

/** The parts of a URL a redirect target is judged by (a WHATWG `URL` has them). */
export interface RedirectOrigin {
  /** `https:` or `http:`. */
  readonly protocol: string;
  /** Lower case, without port. */
  readonly hostname: string;
  /** Empty for the scheme's default port, as `URL.port` is. */
  readonly port: string;
}

/** `redirectDomains`: the origins a login on the login host may send the browser back to. */
export interface HostMatcher {
  readonly patterns: readonly string[];
  matches(target: RedirectOrigin): boolean;
}

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
const DEFAULT_PORT: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };
/** `[scheme://]host-or-*.domain[:port]`: the scheme and port an entry names are part of what it allows. */
const ENTRY = /^(?:(https?):\/\/)?([^:/]+)(?::(\d{1,5}))?$/;

/**
 * Entries name an origin or a tree of them: `app.example.com` (https on 443, as a bare host
 * means), `http://app.example.com:8080`, `*.example.com` (one label or more before
 * `.example.com`, not example.com itself; https on 443), `http://*.example.com:8080`. A target
 * matches only with the same scheme and port: an entry for https never opens the plain-http
 * origin of the same host, where a network attacker could read the page. A set look-up and
 * suffix checks: linear in the host.
 */
export function compileRedirectDomains(entries: readonly string[], path: string, issues: IssueList): HostMatcher {
  const exact = new Set<string>();
  const suffixes: { readonly origin: string; readonly suffix: string }[] = [];
  const allowed = 'hosts such as app.example.com (https on 443), *.example.com for every subdomain, or http://app.example.com:8080 for another scheme or port';
  for (const raw of entries) {
    const m = ENTRY.exec(raw.toLowerCase());
    const scheme = `${m?.[1] ?? 'https'}:`;
    const hostPart = m?.[2] ?? '';
    const wildcard = hostPart.startsWith('*.');
    const host = wildcard ? hostPart.slice(2) : hostPart;
    const port = m?.[3] === undefined ? DEFAULT_PORT[scheme]! : String(Number(m[3]));
    if (!m || !HOST.test(host) || (wildcard && host.split('.').length < 2) || Number(port) < 1 || Number(port) > 65535) {
      issues.error(path, `"${raw}" is not a host, *.domain or scheme://host:port`, { allowed });
      continue;
    }
    if (wildcard) suffixes.push({ origin: `${scheme}${port}`, suffix: `.${host}` });
    else exact.add(`${scheme}${port}/${host}`);
  }
  return {
    patterns: entries,
    matches(target) {
      const port = target.port === '' ? DEFAULT_PORT[target.protocol] : target.port;
      if (port === undefined) return false;
      const origin = `${target.protocol}${port}`;
      const host = target.hostname;
      if (exact.has(`${origin}/${host}`)) return true;
      for (const s of suffixes) if (s.origin === origin && host.length > s.suffix.length && host.endsWith(s.suffix)) return true;
      return false;
    },
  };
}
