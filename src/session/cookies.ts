/** At most this many cookies of one name are looked at; more is an attack or a broken client. */
const MAX_SAME_NAME = 8;

/**
 * All values of cookie `name` in a Cookie header, in the order sent (browsers put the most
 * specific path first). Malformed pairs are skipped; nothing here throws.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  // Scan with indexOf rather than split: this runs on every request, on headers of kilobytes.
  let from = 0;
  while (from < header.length && out.length < MAX_SAME_NAME) {
    const at = header.indexOf(name, from);
    if (at < 0) break;
    from = at + name.length;
    // A match only at the start of a pair ("; name=" or the header's start), never inside another name.
    const before = header.slice(header.lastIndexOf(';', at) + 1, at);
    if (before.trim() !== '') continue;
    let eq = from;
    while (header[eq] === ' ' || header[eq] === '\t') eq++;
    if (header[eq] !== '=') continue;
    const end = header.indexOf(';', eq);
    let value = header.slice(eq + 1, end < 0 ? header.length : end).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value !== '') out.push(value);
  }
  return out;
}

export interface CookieOptions {
  readonly maxAgeSeconds: number;
  readonly secure: boolean;
  readonly path?: string;
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
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
