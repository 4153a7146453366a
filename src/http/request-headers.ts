import type { IncomingMessage } from 'node:http';

/** A header sent more than once where one value is expected: the request is ambiguous, so it is refused. */
export const REPEATED = Symbol('repeated header');

/** The one value of a header; REPEATED when it was sent more than once. */
export function singleHeader(req: IncomingMessage, name: string): string | undefined | typeof REPEATED {
  const values = req.headersDistinct[name];
  if (values === undefined) return undefined;
  return values.length === 1 ? values[0] : REPEATED;
}

/** Visible ASCII and spaces only; everything else in a credential or URL header is malformed. */
export function isPrintableAscii(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/** Splits `scheme://authority/path?query` without normalizing the path the way WHATWG URL does. */
export function splitAbsoluteUrl(text: string): { scheme: 'http' | 'https'; host: string; path: string; query: string } | undefined {
  const m = /^(https?):\/\/([^/?#@\\]*)([^?#]*)(\?[^#]*)?/i.exec(text);
  if (!m) return undefined;
  const host = validHost(m[2]!);
  if (host === undefined) return undefined;
  return { scheme: m[1]!.toLowerCase() as 'http' | 'https', host, path: m[3] || '/', query: m[4] ?? '' };
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
