import { createHash } from 'node:crypto';
import type { OidcSettings } from '../config/oidc-settings.js';
import type { Policy } from '../config/policy.js';
import type { Metrics } from '../metrics/metrics.js';
import { createProviderClient, type ProviderClient, type ProviderClientOptions } from './provider-client.js';

/**
 * The clients of every configured provider, kept across config reloads: a client (its discovery,
 * its JWKS cache) is reused by the next policy when that provider's settings are the same (by
 * content, not by object), and dropped when the provider is gone or changed. Kept per metrics
 * registry, so two servers in one process (the tests) never share one.
 */
interface ClientCache {
  /** The clients of the newest policy seen, by settings fingerprint. */
  live: Map<string, ProviderClient>;
  readonly perPolicy: WeakMap<Policy, ReadonlyMap<string, ProviderClient>>;
}

const caches = new WeakMap<Metrics, ClientCache>();

/** The client for the provider `name` of `policy`; undefined when the policy has no such provider. */
export function providerClientOf(policy: Policy, name: string, options: ProviderClientOptions): ProviderClient | undefined {
  return clientsOf(policy, options).get(name);
}

/** Every provider's client, by provider name, in config order. */
export function clientsOf(policy: Policy, options: ProviderClientOptions): ReadonlyMap<string, ProviderClient> {
  let cache = caches.get(options.metrics);
  if (cache === undefined) {
    cache = { live: new Map(), perPolicy: new WeakMap() };
    caches.set(options.metrics, cache);
  }
  const known = cache.perPolicy.get(policy);
  if (known !== undefined) return known;
  const live = new Map<string, ProviderClient>();
  const byName = new Map<string, ProviderClient>();
  for (const provider of policy.providers.values()) {
    const key = settingsFingerprint(provider.settings, options.timeoutMs);
    const pc = live.get(key) ?? cache.live.get(key) ?? createProviderClient(provider.settings, options);
    live.set(key, pc);
    byName.set(provider.name, pc);
  }
  // A policy applied later than another drops the clients of providers it no longer has. (An
  // older policy still answering a request in flight keeps its own map until it is collected.)
  cache.live = live;
  cache.perPolicy.set(policy, byName);
  return byName;
}

/** Every setting of the provider, the client secret included (hashed: it never leaves this function). */
function settingsFingerprint(settings: OidcSettings, timeoutMs: number | undefined): string {
  const entries = Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256')
    .update(JSON.stringify([entries, timeoutMs ?? null]))
    .digest('base64url');
}
