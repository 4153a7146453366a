import { REPEATED, type RequestHeaders, splitAbsoluteUrl, validHost, validMethod } from './request-headers.js';

/** The request an adapter judges: its method, lower-cased host[:port], and target (path and query). */
export interface JudgedRequest {
  readonly method: string;
  readonly host: string;
  readonly target: string;
}

/** The headers of each family, lower-cased: an adapter reads its own family and compares the other. */
export const ORIGINAL_HEADERS = ['x-original-url', 'x-original-method'] as const;
export const FORWARDED_HEADERS = ['x-forwarded-uri', 'x-forwarded-host', 'x-forwarded-method'] as const;

/**
 * Why the call's request-describing headers name another request than the one judged; undefined
 * when every one present agrees. Two gateway families describe the request in two header
 * families: nginx sets X-Original-URL/-Method (overwriting a client copy) and passes a client's
 * X-Forwarded-*; Traefik and Caddy set X-Forwarded-Method/-Host/-Uri and pass a client's
 * X-Original-*. Each adapter trusts its own family; when the other family is present and
 * disagrees, the call comes through the other kind of gateway (or a client forged it), and it is
 * refused: only the client's own request is ever refused this way, never another's allowed. `own`
 * names the family the adapter judged from, which needs no comparison with itself.
 */
export function anotherRequestNamed(headers: RequestHeaders, judged: JudgedRequest, own: 'original' | 'forwarded'): string | undefined {
  if (own !== 'original') {
    const url = headers.single('x-original-url');
    const method = headers.single('x-original-method');
    if (url === REPEATED || method === REPEATED) return 'X-Original-URL or X-Original-Method sent twice';
    if (url !== undefined) {
      const split = splitAbsoluteUrl(url);
      if (split === undefined || split.host !== judged.host || split.path + split.query !== judged.target) return 'X-Original-URL names another request';
    }
    if (method !== undefined && validMethod(method) !== judged.method) return 'X-Original-Method names another method';
  }
  if (own !== 'forwarded') {
    const uri = headers.single('x-forwarded-uri');
    const host = headers.single('x-forwarded-host');
    const method = headers.single('x-forwarded-method');
    if (uri === REPEATED || host === REPEATED || method === REPEATED) return 'X-Forwarded-Uri, -Host or -Method sent twice';
    if (uri !== undefined && uri !== judged.target) return 'X-Forwarded-Uri names another request';
    if (host !== undefined && validHost(host.split(',', 1)[0]!.trim()) !== judged.host) return 'X-Forwarded-Host names another host';
    if (method !== undefined && validMethod(method) !== judged.method) return 'X-Forwarded-Method names another method';
  }
  return undefined;
}
