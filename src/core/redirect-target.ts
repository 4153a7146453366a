import { normalizeOrigin, type OriginMatcher } from '../config/origins.js';
import type { HostMatcher } from '../config/redirect-domains.js';

/**
 * A slash or backslash, then only white space or one or two dots, then another slash or
 * backslash: `//`, `/\`, `/./`, `/../`, `/ /`. Browsers and servers read these as "another host"
 * or walk out of the path, so no redirect target may contain one anywhere, query included.
 */
const SLASH_TRICK = /[/\\](?:[\s\v]*|\.{1,2})[/\\]/;
const CONTROL = /[\x00-\x1f\x7f\\]/;
const MAX_LENGTH = 4096;

/** Every form a target takes when decoded again and again (a proxy or browser may decode twice). */
function decodedForms(target: string): string[] | undefined {
  const forms = [target];
  let current = target;
  for (let i = 0; i < 3 && current.includes('%'); i++) {
    try {
      current = decodeURIComponent(current.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
    forms.push(current);
  }
  return forms;
}

/**
 * Where a login or logout may send the browser: a path on this host, or an absolute http(s) URL
 * whose origin is this service's own (`ownOrigin`) or listed in allowedOrigins. Anything else
 * (other hosts, other schemes, credentials in the URL, numeric or encoded hosts, slash tricks,
 * control characters, non-ASCII) is refused with undefined.
 */
export function safeRedirect(target: string, ownOrigin: string, origins: OriginMatcher, hosts?: HostMatcher): string | undefined {
  if (target === '' || target.length > MAX_LENGTH || !/^[\x21-\x7e]+$/.test(target)) return undefined;
  const forms = decodedForms(target);
  if (forms === undefined) return undefined;
  for (const form of forms) if (CONTROL.test(form)) return undefined;

  if (target.startsWith('/')) {
    for (const form of forms) if (!form.startsWith('/') || SLASH_TRICK.test(form)) return undefined;
    return target;
  }

  const m = /^(https?):\/\/([^/?#]+)([/?#].*)?$/i.exec(target);
  if (!m) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  // The host as written must be the host as parsed: this refuses user-info (`a@b`), encoded
  // and numeric host spellings (`0xd8.0x3a...`, `%67oogle.com`) and anything normalized away.
  if (url.username !== '' || url.password !== '' || normalizeOrigin(`${m[1]}://${m[2]}`) !== url.origin) return undefined;
  const rest = m[3] ?? '';
  for (const form of decodedForms(rest) ?? [undefined]) if (form === undefined || SLASH_TRICK.test(form) || CONTROL.test(form)) return undefined;
  if (url.origin !== ownOrigin && !origins.matches(url.origin) && !(hosts?.matches(url) ?? false)) return undefined;
  return url.href;
}
