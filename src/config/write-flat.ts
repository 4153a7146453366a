import yaml from 'js-yaml';
import { isOidcKey, isSecretKey, keySpec, keyType, type SettingKey } from './keys.js';
import type { Settings } from './settings.js';

/** The data of a ConfigMap and of its Secret, in the flat form `readFlatData` reads. */
export interface FlatData {
  readonly configMap: Record<string, string>;
  readonly secret: Record<string, string>;
}

/** The flat key Airy Core's controller used for a setting: OIDC keys get an `oidc.` prefix. */
export function flatKey(key: SettingKey): string {
  return isOidcKey(key) ? `oidc.${key}` : key;
}

/**
 * Settings (read from an airy.yaml and validated) → the flat keys of a ConfigMap and a Secret.
 * Every key goes where the catalogue says: secrets only into the Secret, lists joined with
 * commas (the reader splits them again, and splits list items on commas too, so nothing
 * changes), a `named` key such as `policies` as one key per field, `policies.NAME.FIELD`.
 */
export function writeFlatData(settings: Settings): FlatData {
  const configMap: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [key, raw] of settings) {
    if (isUnset(raw.value)) continue;
    const into = isSecretKey(key) ? secret : configMap;
    if (keyType(keySpec(key)) === 'named' && isMapping(raw.value)) {
      const fields = keySpec(key).fields ?? {};
      // A secret field (a provider's clientSecret) goes into the Secret, as `providers.NAME.clientSecret`.
      for (const [name, value] of Object.entries(namedEntries(flatKey(key), raw.value, Object.keys(fields)[0] ?? ''))) {
        const field = name.split('.').slice(2).join('.');
        (fields[field]?.secret === true ? secret : into)[name] = value;
      }
      continue;
    }
    into[flatKey(key)] = scalarText(raw.value);
  }
  return { configMap, secret };
}

/**
 * `NAME: {FIELD: value}` → `KEY.NAME.FIELD: value`. A field left empty stays as an empty key, and
 * an entry with no field at all keeps one empty field: otherwise the name itself (a policy a route
 * asks for with `?policy=NAME`) would vanish, and that route would be refused.
 */
function namedEntries(prefix: string, entries: Record<string, unknown>, anyField: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, body] of Object.entries(entries)) {
    if (!isMapping(body)) {
      out[`${prefix}.${name}`] = scalarText(body);
      continue;
    }
    const fields = Object.entries(body);
    // Any field will do: left empty, it sets no rule, as the empty entry does.
    if (fields.length === 0) out[`${prefix}.${name}.${anyField}`] = '';
    for (const [field, value] of fields) out[`${prefix}.${name}.${field}`] = isUnset(value) ? '' : scalarText(value);
  }
  return out;
}

function scalarText(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(',') : String(value);
}

function isUnset(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ConfigMap and (with a secret name) the Secret as one YAML stream, ready for `kubectl apply -f -`. */
export function configMapManifests(flat: FlatData, names: { name: string; namespace?: string | undefined; secretName?: string | undefined }): string {
  const metadata = (name: string) => ({
    name,
    ...(names.namespace ? { namespace: names.namespace } : {}),
    labels: { 'app.kubernetes.io/part-of': 'airy-auth' },
  });
  const docs: object[] = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(names.name), data: flat.configMap }];
  if (names.secretName) docs.push({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: metadata(names.secretName), stringData: flat.secret });
  // Every value quoted: a ConfigMap value must be a string, and "true" or "0123" would not stay one.
  return docs.map((d) => yaml.dump(d, { lineWidth: -1, quotingType: '"', forceQuotes: true })).join('---\n');
}
