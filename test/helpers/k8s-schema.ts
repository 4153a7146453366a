import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type FuncKeywordDefinition, type SchemaObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import type { K8sObject } from './helm.js';
import { REPO_ROOT } from './repo.js';

/**
 * Validates rendered objects against the schemas kept in test/fixtures/k8s-schemas (built-in kinds
 * from the kube-apiserver's OpenAPI of the newest Kubernetes release and of the chart's oldest one,
 * custom resources from their upstream CRDs; see the README there), the way an apiserver with strict
 * field validation (kubectl's default) would: unknown fields, wrong types, missing required fields,
 * values outside enums and patterns are refused. Not checked: CEL rules (x-kubernetes-validations),
 * and what the apiserver checks in code only (name syntax, label syntax; enums of built-in kinds after
 * 1.24, whose OpenAPI names them in descriptions only). Stricter than the apiserver: a null where the
 * schema does not say nullable is refused (a built-in kind drops it; rendered, it is a template mistake).
 */
const SCHEMA_DIR = join(REPO_ROOT, 'test', 'fixtures', 'k8s-schemas');

type Schema = SchemaObject;
interface KeptBuiltIn {
  kinds: Record<string, string>;
  definitions: Record<string, Schema>;
}
interface KeptCrds {
  kinds: Record<string, Schema>;
}

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const BUILT_IN_FILE = /^kubernetes-(\d+\.\d+)\.json$/;

/** What ParseQuantity accepts as a string (the apiserver's error message names this expression). */
const QUANTITY = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
/** RFC 3339 date-time, as metav1.Time parses it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const FORMATS: Record<string, Parameters<Ajv['addFormat']>[1]> = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number', validate: (n: number) => Number.isSafeInteger(n) },
  double: { type: 'number', validate: () => true },
  float: { type: 'number', validate: () => true },
  byte: BASE64,
  'date-time': DATE_TIME,
};

/**
 * Patterns are Go (RE2) regular expressions. The one RE2 form in the kept schemas that JavaScript
 * lacks is a leading `(?i)` (case-insensitive), which becomes the `i` flag; any other inline flag is refused.
 */
function goRegExp(pattern: string, flags: string): RegExp {
  const m = /^(\^?)\(\?i\)/.exec(pattern);
  const source = m ? m[1] + pattern.slice(m[0].length) : pattern;
  if (/\(\?[a-zA-Z]+[):]/.test(source)) throw new Error(`Go regular expression flags not supported by test/helpers/k8s-schema.ts: ${pattern}`);
  return new RegExp(source, m ? `${flags}i` : flags);
}
goRegExp.code = 'goRegExp';

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
const JUNCTORS = new Set(['allOf', 'anyOf', 'oneOf']);
/** Keys that say how a value is stored, merged or documented, but refuse nothing. */
const ANNOTATIONS = /^(description|default|example|title|x-kubernetes-(patch-strategy|patch-merge-key|map-type|group-version-kind|unions|embedded-resource))$/;

/**
 * An OpenAPI schema as ajv reads it, with Kubernetes' extensions turned into what they mean.
 * `crd` is true for a CustomResourceDefinition's structural schema, where an object without
 * `properties` or `additionalProperties` holds no fields at all (the apiserver prunes them); in the
 * built-in kinds such an object is free-form (RawExtension, FieldsV1). In both, an object that lists
 * its properties and neither allows more nor preserves unknown fields refuses any other field.
 * Schemas inside allOf/anyOf/oneOf/not only add constraints to the node they sit in, so they are not closed.
 */
function convert(s: Schema, crd: boolean, inJunctor = false): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(s)) {
    if (ANNOTATIONS.test(key)) continue;
    if (SCHEMA_MAPS.has(key)) out[key] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, convert(v, crd)]));
    else if (key === 'items') out.items = convert(value, crd);
    else if (key === 'additionalProperties') out.additionalProperties = typeof value === 'object' ? convert(value, crd) : value;
    else if (key === 'not') out.not = convert(value, crd, true);
    else if (JUNCTORS.has(key)) out[key] = (value as Schema[]).map((v) => convert(v, crd, true));
    else if (key === 'x-kubernetes-list-type') {
      if (value === 'set') out.uniqueItems = true;
      if (value === 'map') out.listMapKeys = s['x-kubernetes-list-map-keys'] ?? [];
    } else if (key === 'x-kubernetes-int-or-string') {
      if (value === true && !s.anyOf && !s.type) out.type = ['integer', 'string'];
    } else if (key === 'format') {
      if (value === 'int-or-string') out.type = ['integer', 'string'];
      else if (value in FORMATS) out.format = value;
      // Other formats are ones the apiserver ignores too (it validates a fixed list, and only in CRDs).
    } else if (key === 'type' && s.format === 'int-or-string') continue;
    else if (key === 'nullable' || key === 'x-kubernetes-list-map-keys' || key === 'x-kubernetes-preserve-unknown-fields') continue;
    else if (key.startsWith('x-')) throw new Error(`schema extension ${key} not understood by test/helpers/k8s-schema.ts`);
    else out[key] = value;
  }
  const isObject = s.type === 'object' || s.properties !== undefined;
  const open = s.additionalProperties !== undefined || s['x-kubernetes-preserve-unknown-fields'] === true;
  if (!inJunctor && isObject && !open && (s.properties !== undefined || (crd && s.type === 'object'))) out.additionalProperties = false;
  return s.nullable === true ? { anyOf: [{ type: 'null' }, out] } : out;
}

/** x-kubernetes-list-type: map: no two entries may have the same values for the key fields. */
const uniqueByKeys: SchemaValidateFunction = (keys: string[], data: unknown[]) => {
  const seen = new Set<string>();
  for (const item of data) {
    const id = JSON.stringify(keys.map((k) => (item as Record<string, unknown> | null)?.[k] ?? null));
    if (seen.has(id)) {
      uniqueByKeys.errors = [{ keyword: 'listMapKeys', message: `has two entries with the same ${keys.join(', ')} (${id})`, params: { keys } }];
      return false;
    }
    seen.add(id);
  }
  return true;
};
const listMapKeys: FuncKeywordDefinition = { keyword: 'listMapKeys', type: 'array', schemaType: 'array', errors: true, validate: uniqueByKeys };

/** The root of a kind: its apiVersion and kind fixed, and named metadata as the apiserver requires. */
function root(apiVersion: string, kind: string, body: Schema): Schema {
  return {
    allOf: [body],
    required: ['apiVersion', 'kind', 'metadata'],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: { anyOf: [{ required: ['name'] }, { required: ['generateName'] }] },
    },
  };
}

/** Kubernetes minor versions whose built-in schemas are kept, oldest first. */
export const KUBERNETES_VERSIONS = readdirSync(SCHEMA_DIR)
  .map((f) => BUILT_IN_FILE.exec(f)?.[1])
  .filter((v): v is string => v !== undefined)
  .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
const NEWEST = KUBERNETES_VERSIONS.at(-1)!;

/** Schemas by `${kubernetesVersion} ${apiVersion}/${kind}` for built-in kinds, by `${apiVersion}/${kind}` for custom resources. */
function load(): { ajv: Ajv; schemas: Map<string, Schema> } {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, code: { regExp: goRegExp } });
  for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format);
  ajv.addKeyword(listMapKeys);
  const schemas = new Map<string, Schema>();
  for (const version of KUBERNETES_VERSIONS) {
    const file = `kubernetes-${version}.json`;
    const builtIn = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as KeptBuiltIn;
    const definitions = Object.fromEntries(Object.entries(builtIn.definitions).map(([name, def]) => [name, convert(def, false)]));
    // A Quantity is a string in the OpenAPI document, but the apiserver also takes a JSON number (`cpu: 1`).
    definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { anyOf: [{ type: 'number' }, { type: 'string', pattern: QUANTITY }] };
    ajv.addSchema({ $id: file, definitions });
    for (const [key, name] of Object.entries(builtIn.kinds)) {
      const slash = key.lastIndexOf('/');
      schemas.set(`${version} ${key}`, root(key.slice(0, slash), key.slice(slash + 1), { $ref: `${file}#/definitions/${name}` }));
    }
  }
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json') && !BUILT_IN_FILE.test(f))) {
    const kept = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as KeptCrds;
    for (const [key, schema] of Object.entries(kept.kinds)) {
      const slash = key.lastIndexOf('/');
      const body = convert(schema, true);
      // Every custom resource has these three, whether its schema lists them or not.
      const meta = { $ref: `kubernetes-${NEWEST}.json#/definitions/${OBJECT_META}` };
      body.properties = { ...body.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: meta };
      schemas.set(key, root(key.slice(0, slash), key.slice(slash + 1), body));
    }
  }
  return { ajv, schemas };
}

let loaded: ReturnType<typeof load> | undefined;
const compiled = new Map<string, ValidateFunction>();

function explain(e: ErrorObject): string {
  const p = e.params as { additionalProperty?: string; allowedValues?: unknown[]; allowedValue?: unknown };
  const detail =
    p.additionalProperty !== undefined
      ? `: ${p.additionalProperty}`
      : p.allowedValues
        ? `: ${JSON.stringify(p.allowedValues)}`
        : e.keyword === 'const'
          ? `: ${JSON.stringify(p.allowedValue)}`
          : '';
  return `${e.instancePath || '/'} ${e.message}${detail}`;
}

/**
 * Throws, naming every violation with its path in the object, unless `obj` is valid for its apiVersion
 * and kind. Built-in kinds are checked against the newest kept Kubernetes release unless `kubernetes`
 * names another kept one (KUBERNETES_VERSIONS), for objects rendered for it (`helm template --kube-version`).
 */
export async function validateObject(obj: K8sObject, options: { kubernetes?: string } = {}): Promise<void> {
  loaded ??= load();
  const version = options.kubernetes ?? NEWEST;
  if (!KUBERNETES_VERSIONS.includes(version)) throw new Error(`no built-in schemas kept for Kubernetes ${version}: ${KUBERNETES_VERSIONS.join(', ')}`);
  const kind = `${obj.apiVersion}/${obj.kind}`;
  const key = loaded.schemas.has(`${version} ${kind}`) ? `${version} ${kind}` : kind;
  let validate = compiled.get(key);
  if (!validate) {
    const schema = loaded.schemas.get(key);
    if (!schema) throw new Error(`no schema kept for ${obj.apiVersion} ${obj.kind} in ${SCHEMA_DIR}: add it to scripts/k8s-schemas.mjs`);
    validate = loaded.ajv.compile(schema);
    compiled.set(key, validate);
  }
  if (!validate(obj as unknown)) {
    const problems = [...new Set((validate.errors ?? []).map(explain))];
    throw new Error(`${obj.kind} ${obj.metadata?.name ?? '(no name)'} is not valid:\n  ${problems.join('\n  ')}`);
  }
}
