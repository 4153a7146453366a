import type { IncomingMessage } from 'node:http';

/** A header sent more than once where one value is expected: the request is ambiguous, so it is refused. */
export const REPEATED = Symbol('repeated header');

/**
 * The few headers an adapter reads, in one pass over the raw headers. Node would otherwise build
 * `req.headers` (which silently keeps only the first Authorization) and `req.headersDistinct`;
 * this keeps every value, so a repeated header can be refused, and is cheaper on the hot path.
 */
export class RequestHeaders {
  /** A header sent once is kept as its string; only a repeated one costs an array. */
  readonly #values = new Map<string, string | string[]>();

  constructor(req: IncomingMessage, wanted: ReadonlySet<string>) {
    const raw = req.rawHeaders;
    const lengths = lengthsOf(wanted);
    for (let i = 0; i < raw.length; i += 2) {
      // Most headers are of no interest: a length no wanted name has rules them out before any lower-casing.
      if (!lengths.has(raw[i]!.length)) continue;
      const name = raw[i]!.toLowerCase();
      if (!wanted.has(name)) continue;
      const value = raw[i + 1]!;
      const seen = this.#values.get(name);
      if (seen === undefined) this.#values.set(name, value);
      else if (typeof seen === 'string') this.#values.set(name, [seen, value]);
      else seen.push(value);
    }
  }

  /** The one value of a header; REPEATED when it was sent more than once. */
  single(name: string): string | undefined | typeof REPEATED {
    const value = this.#values.get(name);
    return typeof value === 'object' ? REPEATED : value;
  }

  /** Every value joined as HTTP/2 and proxies split Cookie headers: with "; ". */
  cookie(): string | undefined {
    const value = this.#values.get('cookie');
    return typeof value === 'object' ? value.join('; ') : value;
  }
}

/** Visible ASCII and spaces only; everything else in a credential or URL header is malformed. */
export function isPrintableAscii(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/**
 * Splits `scheme://authority/path?query` without normalizing the path the way WHATWG URL does.
 * ingress-nginx builds X-Original-URL from the client's Host header as sent, and nginx lets `?`
 * and `#` through in it: `Host: app:1#` makes `http://app:1#/admin` of a request for /admin. So the
 * authority runs to the first `/` and must be exactly host[:port] (followed by `/` or nothing), and a
 * `#` is never cut as a fragment: nginx's `$request_uri` has none, so one there is the client's,
 * kept in the path (where it is never public) or the query.
 */
export function splitAbsoluteUrl(text: string): { scheme: 'http' | 'https'; host: string; path: string; query: string } | undefined {
  const m = /^(https?):\/\/([^/]*)(\/[^?]*)?(\?.*)?$/i.exec(text);
  if (!m) return undefined;
  // The authority ends at the first `/`: a `?` or `#` (or `@`, a backslash) in it fails validHost.
  const host = validHost(m[2]!);
  if (host === undefined) return undefined;
  return { scheme: m[1]!.toLowerCase() as 'http' | 'https', host, path: m[3] ?? '/', query: m[4] ?? '' };
}

/** Lower-cased host[:port], or undefined when it is not one. */
export function validHost(text: string): string | undefined {
  const host = text.toLowerCase();
  return /^([a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(host) ? host : undefined;
}

/** An HTTP method token (RFC 9110), upper-cased. */
export function validMethod(text: string): string | undefined {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/.test(text) ? text.toUpperCase() : undefined;
}

/** The lengths of a set of header names, computed once per set (the sets are made once per adapter). */
const lengthCache = new WeakMap<ReadonlySet<string>, ReadonlySet<number>>();
function lengthsOf(names: ReadonlySet<string>): ReadonlySet<number> {
  let lengths = lengthCache.get(names);
  if (!lengths) {
    lengths = new Set([...names].map((n) => n.length));
    lengthCache.set(names, lengths);
  }
  return lengths;
}
