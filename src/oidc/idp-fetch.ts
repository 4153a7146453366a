import type { Dispatcher } from 'undici';
import type { Metrics } from '../metrics/metrics.js';

/** The fetch shape openid-client accepts as `customFetch`. */
export type IdpFetch = (
  url: string,
  init: { method?: string; headers?: Record<string, string> | Headers; body?: unknown; redirect?: string; signal?: AbortSignal },
) => Promise<Response>;

/** Which provider endpoint a URL is, for the latency metric's label. */
export type EndpointLabeler = (url: string) => string;

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

export function createIdpFetch(provider: string, metrics: Metrics, labelOf: EndpointLabeler, timeoutMs = 10_000): IdpFetch {
  return async (url, init) => {
    const started = performance.now();
    const endpoint = labelOf(url);
    try {
      const d = await dispatcher(timeoutMs);
      return (await d.fetch(url, { ...(init as object), dispatcher: d.dispatcher })) as unknown as Response;
    } finally {
      metrics.idpDuration.observe({ provider, endpoint }, (performance.now() - started) / 1000);
    }
  };
}
