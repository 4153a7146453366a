import type { IssueList } from './issues.js';

/** The compiled `allowedOrigins`: answers whether a normalized origin may call cross-origin. */
export interface OriginMatcher {
  readonly any: boolean;
  readonly patterns: readonly string[];
  matches(origin: string): boolean;
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Normalizes an origin (`scheme://host[:port]`): lower case, default port dropped. Undefined for
 * anything else, including the `null` origin and origins with a path or credentials.
 */
export function normalizeOrigin(text: string): string | undefined {
  const m = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const scheme = `${m[1]!.toLowerCase()}:`;
  const host = m[2]!.toLowerCase();
  const port = m[3] !== undefined ? String(Number(m[3])) : undefined;
  if (port !== undefined && (Number(port) === 0 || Number(port) > 65535)) return undefined;
  if (host.startsWith('.') || host.endsWith('.') || host.includes('..')) return undefined;
  return port === undefined || port === DEFAULT_PORT[scheme] ? `${scheme}//${host}` : `${scheme}//${host}:${port}`;
}

export function compileOrigins(entries: readonly string[], path: string, issues: IssueList): OriginMatcher {
  const exact = new Set<string>();
  const wildcards: WildcardOrigin[] = [];
  let any = false;
  for (const entry of entries) {
    if (entry === '*') {
      any = true;
      continue;
    }
    const compiled = compileOne(entry, path, issues);
    if (typeof compiled === 'string') exact.add(compiled);
    else if (compiled !== undefined) wildcards.push(compiled);
  }
  if (any && entries.length > 1) issues.warn(path, '"*" allows every origin, so the other entries have no effect');
  // `https://*.example.com` (one leading "*") is the common shape: indexed by what follows the
  // star, so a thousand of them cost a look-up per label of the origin, not a match each.
  const leading = new Set<string>();
  // The most labels a leading pattern's fixed part has: only that many suffixes of an origin can match.
  let leadingMaxLabels = 0;
  const general: WildcardOrigin[] = [];
  for (const w of wildcards) {
    if (w.labels[0] === '*' && !w.labels.slice(1).includes('*')) {
      leading.add(`${w.prefix}|${w.port}|${w.labels.slice(1).join('.')}`);
      leadingMaxLabels = Math.max(leadingMaxLabels, w.labels.length - 1);
    } else general.push(w);
  }
  return {
    any,
    patterns: entries,
    matches(origin: string): boolean {
      if (any) return true;
      if (exact.has(origin)) return true;
      if (wildcards.length === 0) return false;
      const parts = splitOrigin(origin);
      if (parts === undefined) return false;
      if (leading.size > 0) {
        // The star takes one label or more: try the suffixes of at most leadingMaxLabels labels
        // that leave at least one label to it, from the shortest. Each look-up hashes a suffix,
        // so trying every suffix of a 30 KB host of dots was quadratic in its length; this is
        // linear (leadingMaxLabels is a property of the config, not of the request).
        const host = parts.host;
        let dot = host.length;
        for (let n = 1; n <= leadingMaxLabels; n++) {
          dot = host.lastIndexOf('.', dot - 1);
          if (dot <= 0) break;
          if (leading.has(`${parts.prefix}|${parts.port}|${host.slice(dot + 1)}`)) return true;
        }
      }
      for (const w of general) {
        // The fixed labels after the last "*" must end the host: one suffix test before any label walk.
        if (w.prefix !== parts.prefix || w.port !== parts.port || !parts.host.endsWith(w.tail)) continue;
        if (labelsMatch(w.labels, parts.host)) return true;
      }
      return false;
    },
  };
}

/** An allowedOrigins entry with `*` labels: scheme and port exact, host labels matched by labelsMatch. */
interface WildcardOrigin {
  readonly prefix: string;
  readonly port: string;
  readonly labels: readonly string[];
  /** `.` and the fixed labels after the last `*`, which every matching host ends with. */
  readonly tail: string;
}

/** A normalized origin as scheme prefix, host (and its labels) and port (empty for the default). */
function splitOrigin(origin: string): { prefix: string; host: string; port: string } | undefined {
  const m = /^(https?:\/\/)([^:/]+)(?::(\d+))?$/.exec(origin);
  return m ? { prefix: m[1]!, host: m[2]!, port: m[3] ?? '' } : undefined;
}

/**
 * Host labels against a pattern whose `*` stands for one label or more. The set of pattern
 * positions reachable after each label is carried forward: time linear in the number of labels
 * whatever the pattern, where a regex with one `(label.)+` group per `*` backtracks
 * exponentially on a long crafted Origin.
 */
function labelsMatch(pattern: readonly string[], host: string): boolean {
  // states[j] = 1: pattern position j is reachable after the labels so far (two arrays, swapped).
  // The host's labels are walked in place, never split into strings.
  let states = new Uint8Array(pattern.length + 1);
  let next = new Uint8Array(pattern.length + 1);
  states[0] = 1;
  for (let start = 0; start <= host.length; ) {
    let end = host.indexOf('.', start);
    if (end < 0) end = host.length;
    next.fill(0);
    let any = false;
    for (let j = 0; j < pattern.length; j++) {
      if (states[j] === 0) continue;
      const p = pattern[j]!;
      if (p === '*') {
        next[j] = 1; // the star takes this label and may take more
        next[j + 1] = 1; // or stops here
        any = true;
      } else if (p.length === end - start && host.startsWith(p, start)) {
        next[j + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    const done = states;
    states = next;
    next = done;
    start = end + 1;
  }
  return states[pattern.length] === 1;
}

function compileOne(entry: string, path: string, issues: IssueList): string | WildcardOrigin | undefined {
  const allowed = 'https://host, http://host:port, or https://*.example.com (a "*" label stands for one label or more), or "*" alone';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(entry);
  if (!m) {
    issues.error(path, `"${entry}" is not an origin: it has no scheme`, { allowed, fix: `write "https://${entry.replace(/\/+$/, '')}"` });
    return undefined;
  }
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!.toLowerCase();
  const rest = m[3]!;
  if (scheme !== 'http' && scheme !== 'https') {
    issues.error(path, `"${entry}" has scheme "${scheme}"; browsers send only http and https origins`, { allowed });
    return undefined;
  }
  if (rest !== '') {
    issues.error(path, `"${entry}" has a path, query or trailing slash; an origin never has one`, {
      allowed,
      fix: `write "${scheme}://${authority}"`,
    });
    return undefined;
  }
  const hm = /^([^:@]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!hm) {
    issues.error(path, `"${entry}" has a malformed host or port`, { allowed });
    return undefined;
  }
  const labels = hm[1]!.split('.');
  const badLabel = labels.find((l) => l !== '*' && !LABEL.test(l));
  if (badLabel !== undefined) {
    issues.error(path, `"${entry}": "${badLabel}" is not a valid host label${badLabel.includes('*') ? ' ("*" must be a whole label)' : ''}`, { allowed });
    return undefined;
  }
  if (labels.includes('*') && labels.length - labels.lastIndexOf('*') - 1 < 2) {
    issues.error(path, `"${entry}": at least two fixed labels must follow the last "*" (otherwise it matches whole top-level domains)`, { allowed });
    return undefined;
  }
  const port = hm[2];
  const plain = normalizeOrigin(`${scheme}://${labels.join('.').replace(/\*/g, 'x')}${port ? `:${port}` : ''}`);
  if (plain === undefined) {
    issues.error(path, `"${entry}" has an invalid port`, { allowed });
    return undefined;
  }
  if (!labels.includes('*')) return plain;
  const portPart = port && port !== DEFAULT_PORT[`${scheme}:`] ? String(Number(port)) : '';
  return { prefix: `${scheme}://`, port: portPart, labels, tail: `.${labels.slice(labels.lastIndexOf('*') + 1).join('.')}` };
}
