import { request } from 'undici';

/**
 * A minimal cookie jar keyed by host (ports ignored, as browsers do); enough for these flows. Like
 * a browser it drops a cookie whose name and value exceed 4096 bytes.
 */
export class CookieJar {
  readonly #byHost = new Map<string, Map<string, string>>();
  store(url: string, setCookie: string | string[] | undefined): void {
    const host = new URL(url).hostname;
    const jar = this.#byHost.get(host) ?? new Map<string, string>();
    this.#byHost.set(host, jar);
    for (const line of [setCookie ?? []].flat()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '' || name.length + value.length > 4096) jar.delete(name);
      else jar.set(name, value);
    }
  }
  header(url: string): string {
    return [...(this.#byHost.get(new URL(url).hostname) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(host: string, name: string): string | undefined {
    return this.#byHost.get(host)?.get(name);
  }
}

export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
  /** The Set-Cookie lines of this answer. */
  readonly setCookies: string[];
}

async function hop(
  url: string,
  jar: CookieJar,
  init: { method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Hop> {
  const headers: Record<string, string> = { ...(init.headers ?? {}), cookie: jar.header(url) };
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await request(url, { method: init.method ?? 'GET', headers, body: init.form ? new URLSearchParams(init.form).toString() : null });
  jar.store(url, res.headers['set-cookie']);
  const body = await res.body.text();
  const loc = res.headers.location;
  const setCookies = [res.headers['set-cookie'] ?? []].flat();
  return { url, status: res.statusCode, location: typeof loc === 'string' ? new URL(loc, url).href : undefined, body, setCookies };
}

/**
 * Drives a login the way a browser would, at the HTTP level: airy-auth's /login, the IdP's pages
 * (oidc-provider's development login and consent forms, or the GitHub double's), and back to the
 * callback. Returns every hop; the last one is airy-auth's answer to the callback.
 */
export async function driveLogin(
  startUrl: string,
  login: string,
  jar = new CookieJar(),
  options: { stopAtCallback?: (url: string) => string } = {},
): Promise<{ hops: Hop[]; jar: CookieJar }> {
  const hops: Hop[] = [];
  let next: { url: string; method?: 'GET' | 'POST'; form?: Record<string, string> } | undefined = { url: startUrl };
  for (let i = 0; i < 20 && next; i++) {
    if (options.stopAtCallback && next.url.includes('/login/oauth2/code/')) next = { url: options.stopAtCallback(next.url) };
    const h = await hop(next.url, jar, next);
    hops.push(h);
    if (h.url.includes('/login/oauth2/code/')) break; // airy-auth's callback answered
    if (h.location) {
      next = { url: h.location };
      continue;
    }
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(h.body);
    if (h.status !== 200 || !form) break;
    const fields: Record<string, string> = {};
    for (const m of form[2]!.matchAll(/<input([^>]*)>/g)) {
      const name = /name="([^"]+)"/.exec(m[1]!)?.[1];
      const value = /value="([^"]*)"/.exec(m[1]!)?.[1] ?? '';
      if (name) fields[name] = value.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    }
    if ('login' in fields) fields.login = login;
    if ('password' in fields) fields.password = 'any-password';
    next = { url: new URL(form[1]!.replace(/&amp;/g, '&'), h.url).href, method: 'POST', form: fields };
  }
  return { hops, jar };
}
