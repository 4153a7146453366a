#!/usr/bin/env node
// Regenerates test/fixtures/k8s-schemas/ (the schemas test/helpers/k8s-schema.ts validates rendered
// objects against) from their upstream sources, keeping only what the tests use:
//
//   node scripts/k8s-schemas.mjs [--openapi FILE] [--git OWNER/NAME=DIR ...]
//
// --git names a clone (or bare git directory) of an upstream repository: from it the sources below
// are read at their pinned tag or commit. For the built-in kinds that is the kube-apiserver's
// /openapi/v3 of the newest Kubernetes release (kubectl-validate keeps kubernetes/kubernetes'
// api/openapi-spec/v3 of each release), for custom resources the openAPIV3Schema of their CRDs.
// --openapi FILE is a running kube-apiserver's /openapi/v2 (`kubectl get --raw /openapi/v2 > FILE`):
// kept as kubernetes-MAJOR.MINOR.json, for the chart's oldest supported Kubernetes (the v1.24
// apiserver in ../shared/tools/kube-apiserver). Of the built-in schemas only the definitions reachable
// from the kinds below are kept, their $refs written as #/definitions/NAME. Sources not given keep
// their current file. Descriptions and CEL rules (x-kubernetes-validations, which the validator does
// not evaluate) are dropped to keep the files small; everything else is kept as upstream has it.
// README.md there is rewritten with the provenance.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test', 'fixtures', 'k8s-schemas');

/** Built-in kinds the tests validate, as `apiVersion/kind`. */
const BUILT_IN = [
  'v1/ConfigMap',
  'v1/Secret',
  'v1/Service',
  'v1/ServiceAccount',
  'apps/v1/Deployment',
  'autoscaling/v2/HorizontalPodAutoscaler',
  'networking.k8s.io/v1/Ingress',
  'networking.k8s.io/v1/NetworkPolicy',
  'policy/v1/PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
];

/** The newest release's built-in schemas: one JSON document per group-version, as the apiserver serves /openapi/v3. */
const BUILT_IN_V3 = {
  file: 'kubernetes-1.35.json',
  repo: 'kubernetes-sigs/kubectl-validate',
  ref: 'a97ccfaca20b164819afdae780392496f6ed6bbd',
  dir: 'pkg/openapiclient/builtins/1.35',
  note:
    "The files are kubernetes/kubernetes' api/openapi-spec/v3 of release-1.35 (what its kube-apiserver serves at /openapi/v3), " +
    'as kubectl-validate embeds them',
};

/** Custom resources the tests validate: where upstream keeps their CRD, at which release. */
const CRDS = [
  {
    file: 'gateway-api.json',
    repo: 'kubernetes-sigs/gateway-api',
    tag: 'v1.6.1',
    note: 'The experimental channel: the ExternalAuth HTTPRoute filter (GEP-1494) is only there',
    paths: {
      'config/crd/experimental/gateway.networking.k8s.io_httproutes.yaml': ['gateway.networking.k8s.io/v1/HTTPRoute'],
      'config/crd/experimental/gateway.networking.k8s.io_referencegrants.yaml': ['gateway.networking.k8s.io/v1beta1/ReferenceGrant'],
    },
  },
  {
    file: 'prometheus-operator.json',
    repo: 'prometheus-operator/prometheus-operator',
    tag: 'v0.93.0',
    paths: {
      'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml': ['monitoring.coreos.com/v1/ServiceMonitor'],
      'example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml': ['monitoring.coreos.com/v1/PrometheusRule'],
    },
  },
  {
    file: 'traefik.json',
    repo: 'traefik/traefik-helm-chart',
    tag: 'v41.3.0',
    note: "the Helm chart's copy of Traefik v3.7's CRDs",
    paths: { 'traefik/crds/traefik.io_middlewares.yaml': ['traefik.io/v1alpha1/Middleware'] },
  },
  {
    file: 'envoy-gateway.json',
    repo: 'envoyproxy/gateway',
    tag: 'v1.9.0',
    paths: { 'charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_securitypolicies.yaml': ['gateway.envoyproxy.io/v1alpha1/SecurityPolicy'] },
  },
  {
    file: 'istio.json',
    repo: 'istio/istio',
    tag: '1.30.3',
    paths: { 'manifests/charts/base/files/crd-all.gen.yaml': ['security.istio.io/v1/AuthorizationPolicy'] },
  },
];

/** Keys inside a schema whose value is a map of names to schemas, or one schema, or a list of schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
const SCHEMA_ONE = new Set(['items', 'additionalProperties', 'not']);
const SCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf']);
const DROPPED = new Set(['description', 'x-kubernetes-validations']);

/** A copy of a schema without the dropped keys, walking only schema positions (a property may be named `description`). */
function strip(schema) {
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (SCHEMA_MAPS.has(key)) copy[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)]));
    else if (SCHEMA_ONE.has(key)) copy[key] = strip(value);
    else if (SCHEMA_LIST.has(key)) copy[key] = value.map(strip);
    else copy[key] = value;
  }
  return copy;
}

/** The schema with every `$ref` to `#/components/schemas/NAME` (OpenAPI v3) written as `#/definitions/NAME`; the names it refers to go into `found`. */
function relink(schema, found) {
  if (Array.isArray(schema)) return schema.map((s) => relink(s, found));
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') {
      const name = value.replace(/^#\/(definitions|components\/schemas)\//, '');
      found.push(name);
      copy[key] = `#/definitions/${name}`;
    } else copy[key] = relink(value, found);
  }
  return copy;
}

/** The built-in kinds' definitions and those reachable from them, out of an OpenAPI document's `schemas` (by name). */
function builtIn(schemas, where, source) {
  const names = {};
  for (const [name, def] of Object.entries(schemas)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) names[`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`] = name;
  }
  const kinds = Object.fromEntries(BUILT_IN.filter((k) => names[k]).map((k) => [k, names[k]]));
  const missing = BUILT_IN.filter((k) => !kinds[k]);
  if (missing.length > 0) throw new Error(`${where} has no definition for ${missing.join(', ')}`);
  const definitions = {};
  const queue = Object.values(kinds);
  while (queue.length > 0) {
    const name = queue.shift();
    if (definitions[name]) continue;
    if (!schemas[name]) throw new Error(`${where}: unresolved $ref ${name}`);
    definitions[name] = relink(strip(schemas[name]), queue);
  }
  const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b)));
  return { source, kinds, definitions: sorted };
}

function fromApiserver(file) {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  const [, minor] = /^v(\d+\.\d+)\./.exec(doc.info.version) ?? [];
  if (!minor) throw new Error(`${file}: info.version ${doc.info.version} is not a Kubernetes version`);
  return { file: `kubernetes-${minor}.json`, kept: builtIn(doc.definitions, file, { openapi: '/openapi/v2', version: doc.info.version }) };
}

function fromV3(source, gitDir) {
  const git = (...args) => execFileSync('git', ['-C', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const commit = git('rev-parse', `${source.ref}^{commit}`).trim();
  const groupVersions = [...new Set(BUILT_IN.map((k) => k.slice(0, k.lastIndexOf('/'))))];
  const paths = groupVersions.map((gv) => `${source.dir}/${gv.includes('/') ? `apis/${gv}` : `api/${gv}`}.json`);
  const schemas = {};
  for (const path of paths) Object.assign(schemas, JSON.parse(git('show', `${commit}:${path}`)).components.schemas);
  return builtIn(schemas, `${source.repo}@${source.ref}:${source.dir}`, { repo: source.repo, ref: source.ref, commit, paths });
}

function crds(source, gitDir) {
  const git = (...args) => execFileSync('git', ['-C', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const commit = git('rev-parse', `${source.tag}^{commit}`).trim();
  const kinds = {};
  for (const [path, wanted] of Object.entries(source.paths)) {
    const docs = yaml.loadAll(git('show', `${commit}:${path}`)).filter((d) => d?.kind === 'CustomResourceDefinition');
    for (const key of wanted) {
      const [group, version, kind] = key.split('/');
      const crd = docs.find((d) => d.spec.group === group && d.spec.names.kind === kind);
      const served = crd?.spec.versions.find((v) => v.name === version);
      if (!served?.schema?.openAPIV3Schema) throw new Error(`${source.repo}@${source.tag} ${path}: no schema for ${key}`);
      kinds[key] = strip(served.schema.openAPIV3Schema);
    }
  }
  return { source: { repo: source.repo, tag: source.tag, commit, paths: Object.keys(source.paths) }, kinds };
}

const args = process.argv.slice(2);
const gitDirs = {};
let openapi;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--openapi') openapi = args[++i];
  else if (args[i] === '--git') {
    const [repo, dir] = args[++i].split('=');
    gitDirs[repo] = dir;
  } else throw new Error(`unknown argument ${args[i]}; usage: node scripts/k8s-schemas.mjs [--openapi FILE] [--git OWNER/NAME=DIR ...]`);
}
if (!openapi && Object.keys(gitDirs).length === 0) throw new Error('nothing to regenerate: give --openapi and/or --git (see the header of this script)');
const write = (file, data) => {
  writeFileSync(join(out, file), `${JSON.stringify(data)}\n`);
  console.log(`wrote test/fixtures/k8s-schemas/${file}`);
};
if (gitDirs[BUILT_IN_V3.repo]) write(BUILT_IN_V3.file, fromV3(BUILT_IN_V3, gitDirs[BUILT_IN_V3.repo]));
if (openapi) {
  const { file, kept } = fromApiserver(openapi);
  write(file, kept);
}
for (const source of CRDS) if (gitDirs[source.repo]) write(source.file, crds(source, gitDirs[source.repo]));

const read = (file) => (existsSync(join(out, file)) ? JSON.parse(readFileSync(join(out, file), 'utf8')) : undefined);
const lines = [
  '# Kubernetes schemas for the manifest tests',
  '',
  'Generated by `scripts/k8s-schemas.mjs` (see docs/development.md); do not edit by hand. Each file keeps',
  'only the kinds the tests validate (`test/helpers/k8s-schema.ts`), without descriptions and without',
  'CEL rules (`x-kubernetes-validations`, not evaluated by the validator).',
  '',
];
const entry = (file, kept, note, ref) => {
  lines.push(`## ${file}`, '', `Kinds: ${Object.keys(kept.kinds).join(', ')}.`, '');
  if (note) lines.push(`${note}.`, '');
  if (kept.source.repo) {
    lines.push(`From ${kept.source.repo} at ${ref} (commit \`${kept.source.commit}\`):`, '');
    for (const p of kept.source.paths) lines.push(`- https://github.com/${kept.source.repo}/blob/${kept.source.commit}/${p}`);
    lines.push('');
  }
};
const v3 = read(BUILT_IN_V3.file);
if (v3) entry(BUILT_IN_V3.file, v3, BUILT_IN_V3.note, 'its main branch');
for (const file of readdirSync(out).filter((f) => /^kubernetes-\d+\.\d+\.json$/.test(f) && f !== BUILT_IN_V3.file)) {
  const kept = read(file);
  const how = 'the v1.24 apiserver of ../shared/tools/kube-apiserver (see docs/development.md)';
  entry(file, kept, `\`kubectl get --raw /openapi/v2\` of a real kube-apiserver ${kept.source.version}, the chart's \`kubeVersion\` floor: ${how}`);
}
for (const source of CRDS) {
  const kept = read(source.file);
  if (kept) entry(source.file, kept, source.note, `tag ${kept.source.tag}`);
}
writeFileSync(join(out, 'README.md'), `${lines.join('\n').trimEnd()}\n`);
console.log('wrote test/fixtures/k8s-schemas/README.md');
