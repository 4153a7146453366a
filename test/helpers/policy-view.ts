import { createHash, KeyObject } from 'node:crypto';
import type { Policy } from '../../src/config/policy.js';

/**
 * A compiled Policy as plain data, to compare two policies for "decides the same": every field,
 * walked generically so a field added later is compared too. Matchers keep their patterns (the
 * functions are built from them), keys and digests become hashes, sets become sorted lists, and
 * each named policy is resolved as a route asking for it would be.
 *
 * The fingerprint keeps only its keys: it hashes each value as written, and a list written as
 * "a,b" in a ConfigMap and as [a, b] in airy.yaml is the same setting.
 */
export function policyView(policy: Policy): unknown {
  const { routeRules, fingerprint, sessions: _derivedFromSessionKey, ...rest } = policy;
  return {
    ...(plain(rest) as object),
    fingerprintKeys: [...fingerprint.keys()].sort(),
    routeRules: {
      names: [...routeRules.names].sort(),
      namedGroups: [...routeRules.namedGroups].sort(),
      resolved: Object.fromEntries(routeRules.names.map((name) => [name, plain(routeRules.resolve(`policy=${encodeURIComponent(name)}`))])),
    },
  };
}

function plain(value: unknown): unknown {
  if (value instanceof KeyObject) return `key:${hash(value.export())}`;
  if (Buffer.isBuffer(value)) return `bytes:${hash(value)}`;
  if (value instanceof Set) return [...value].map(plain).sort();
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'function') return undefined;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => typeof v !== 'function' && v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

function hash(bytes: Buffer | { toString(): string }): string {
  return createHash('sha256')
    .update(Buffer.isBuffer(bytes) ? bytes : String(bytes))
    .digest('base64url');
}
