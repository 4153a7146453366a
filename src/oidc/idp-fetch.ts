import type { Dispatcher } from 'undici';
import type { Metrics } from '../metrics/metrics.js';

/** The fetch shape openid-client accepts as `customFetch`. */
export type IdpFetch = (
  url: string,
  init: { method?: string; headers?: Record<string, string> | Headers; body?: unknown; redirect?: string; signal?: AbortSignal },
) => Promise<Response>;

/** Which provider endpoint a URL is, for the latency metric's label. */
export type EndpointLabeler = (url: string) => string;

/** How a call to the provider ended: the metric's `outcome` label, a closed set. */
export type IdpOutcome = 'ok' | 'http_3xx' | 'http_4xx' | 'http_5xx' | 'timeout' | 'too_large' | 'unreachable';

/** No provider answer airy-auth reads (discovery, JWKS, tokens, userinfo, a page of GitHub teams) needs more. */
export const IDP_ANSWER_MAX_BYTES = 1024 * 1024;

/** An answer larger than IDP_ANSWER_MAX_BYTES: refused before it is all read. */
export class IdpAnswerTooLargeError extends Error {
  override readonly name = 'IdpAnswerTooLargeError';
  readonly code = 'IDP_ANSWER_TOO_LARGE';
  constructor(url: string, limit: number) {
    super(`the answer of ${new URL(url).origin} is larger than ${limit} bytes`);
  }
}

let sharedDispatcher: Dispatcher | undefined;

/**
 * One dispatcher for all IdP calls: honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY, and bounds
 * connect, header and body time so a hanging provider turns into a 502, never a stuck login.
 * TLS trusts Node's CA store, which includes NODE_EXTRA_CA_CERTS.
 */
async function dispatcher(timeoutMs: number): Promise<{ dispatcher: Dispatcher; fetch: typeof import('undici').fetch }> {
  // undici is loaded on the first call to a provider (it is 20 MiB of RSS an install without
  // login or machine tokens would carry for nothing).
  const undici = await import('undici');
  sharedDispatcher ??= new undici.EnvHttpProxyAgent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { dispatcher: sharedDispatcher, fetch: undici.fetch };
}

/** The whole body, or IdpAnswerTooLargeError as soon as it passes `limit` (the rest is never read). */
async function readCapped(res: Response, url: string, limit: number): Promise<Uint8Array | null> {
  if (res.body === null) return null;
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await res.body.cancel().catch(() => {});
    throw new IdpAnswerTooLargeError(url, limit);
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new IdpAnswerTooLargeError(url, limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function outcomeOfError(err: unknown): IdpOutcome {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof IdpAnswerTooLargeError) return 'too_large';
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || (e as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
    if ((e as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT' || (e as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  }
  return 'unreachable';
}

function outcomeOfStatus(status: number): IdpOutcome {
  if (status < 300) return 'ok';
  if (status < 400) return 'http_3xx';
  return status < 500 ? 'http_4xx' : 'http_5xx';
}

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * The fetch for one provider. Every call has an overall deadline of `timeoutMs` (connecting,
 * headers and the whole body: a provider that drips its answer a byte at a time is cut off, where
 * undici's own timeouts restart with every byte), and the answer is read whole into memory up to
 * `maxBytes`, so an endless answer costs at most that. Each call is observed in the IdP metric
 * with its endpoint and outcome.
 */
export function createIdpFetch(provider: string, metrics: Metrics, labelOf: EndpointLabeler, timeoutMs = 10_000, maxBytes = IDP_ANSWER_MAX_BYTES): IdpFetch {
  return async (url, init) => {
    const started = performance.now();
    const endpoint = labelOf(url);
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    let outcome: IdpOutcome = 'unreachable';
    try {
      const d = await dispatcher(timeoutMs);
      const res = (await d.fetch(url, { ...(init as object), signal, dispatcher: d.dispatcher })) as unknown as Response;
      const body = await readCapped(res, url, maxBytes);
      outcome = outcomeOfStatus(res.status);
      const headers = new Headers(res.headers);
      // The body is already decoded; these described the encoded one.
      headers.delete('content-encoding');
      headers.delete('content-length');
      return new Response(NULL_BODY.has(res.status) || body === null ? null : new Blob([body as Uint8Array<ArrayBuffer>]), {
        status: res.status,
        statusText: res.statusText,
        headers,
      });
    } catch (err) {
      outcome = outcomeOfError(err);
      throw err;
    } finally {
      metrics.idpDuration.observe({ provider, endpoint, outcome }, (performance.now() - started) / 1000);
    }
  };
}
