/**
 * The path as an upstream would resolve it: percent-decoded once, `.` and `..` segments resolved,
 * repeated slashes collapsed. Undefined when the path cannot be decoded safely (bad escapes,
 * non-UTF-8, control characters, backslashes, or an escape left over after decoding, which a
 * second decoding upstream could turn into a separator), and when it has a `;`: Tomcat and Spring
 * (Airy Core's servers) drop `;params` from each segment before resolving dot segments, so
 * `/webhooks/..;/admin` is `/admin` to them and a path under `/webhooks/` to nginx; and when it has
 * an encoded slash or dot (`%2F`, `%2E`), which upstreams decode at different steps; and when it has
 * a `#` (or an encoded `#` or `?`): some servers cut the path there, so `/admin#/../webhooks/x` is
 * `/admin` to them; and when it has an empty segment (`//`). A path that
 * upstreams read differently is never public.
 */
export function normalizePath(rawPath: string): string | undefined {
  if (!rawPath.startsWith('/')) return undefined;
  // Fast path: nothing to decode or resolve.
  if (!/[%;#\\\x00-\x1f\x7f]|\/\.|\/\//.test(rawPath)) return rawPath;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (/[\x00-\x1f\x7f\\;#?]/.test(decoded) || /%[0-9a-fA-F]{2}/.test(decoded)) return undefined;
  // An encoded slash or dot: some upstreams decode it before splitting the path into segments and
  // resolving dot segments, others after (or never), so `/admin%2F..%2Fwebhooks/x` is `/webhooks/x`
  // to one and a path under `/admin%2F..%2Fwebhooks` to another.
  if (/%2[fFeE]/.test(rawPath)) return undefined;
  // An empty segment: servers that merge slashes and servers that keep them resolve `..` against
  // different segments (`/admin//..//webhooks/x`), and `//host/x` reads as a host to some parsers.
  if (decoded.includes('//')) return undefined;
  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const trailing = decoded.endsWith('/') && out.length > 0 ? '/' : '';
  return `/${out.join('/')}${trailing}`;
}
