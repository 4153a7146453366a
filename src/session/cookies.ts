/** At most this many cookies of one name are looked at; more is an attack or a broken client. */
const MAX_SAME_NAME = 8;

/**
 * All values of cookie `name` in a Cookie header, in the order sent (browsers put the most
 * specific path first). Malformed pairs are skipped; nothing here throws.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  // One forward pass over the pairs, never looking back: linear in the header's length, however
  // the header is shaped (a cookie name repeated thousands of times without ";" included).
  let start = 0;
  while (start < header.length && out.length < MAX_SAME_NAME) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    let i = start;
    while (i < end && (header[i] === ' ' || header[i] === '\t')) i++;
    if (header.startsWith(name, i)) {
      let eq = i + name.length;
      while (eq < end && (header[eq] === ' ' || header[eq] === '\t')) eq++;
      if (eq < end && header[eq] === '=') {
        let value = header.slice(eq + 1, end).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        if (value !== '') out.push(value);
      }
    }
    start = end + 1;
  }
  return out;
}

export interface CookieOptions {
  readonly maxAgeSeconds: number;
  readonly secure: boolean;
  readonly path?: string;
  /** The Domain attribute (no leading dot); undefined: a host-only cookie. */
  readonly domain?: string | undefined;
  readonly sameSite?: 'Lax' | 'Strict';
}

/** A Set-Cookie value: always HttpOnly, because no script needs the session token. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new TypeError(`serializeCookie: bad cookie name ${name}`);
  if (!/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/.test(value)) throw new TypeError('serializeCookie: value has characters a cookie cannot carry');
  const parts = [
    `${name}=${value}`,
    `Path=${options.path ?? '/'}`,
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
    'HttpOnly',
    `SameSite=${options.sameSite ?? 'Lax'}`,
  ];
  if (options.maxAgeSeconds <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (options.domain !== undefined) parts.push(`Domain=${options.domain}`);
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
