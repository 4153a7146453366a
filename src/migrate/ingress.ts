import yaml from 'js-yaml';

/** The parts of a networking.k8s.io/v1 Ingress that a migration reads, checked to have these types. */
export interface Ingress {
  apiVersion: string;
  kind: 'Ingress';
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    ingressClassName?: string;
    defaultBackend?: unknown;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: {
      host?: string;
      http?: { paths: { path?: string; pathType?: string; backend: { service?: { name: string; port: { number?: number; name?: string } } } }[] };
    }[];
  };
}

/** The ports of a Service in the same file, to resolve an Ingress backend's named port. */
export interface ServicePorts {
  readonly namespace: string;
  readonly name: string;
  readonly ports: ReadonlyMap<string, number>;
}

/** An Ingress item that does not have the shape of one: it is named and refused, never half-read. */
export interface MalformedIngress {
  readonly id: string;
  readonly problem: string;
}

export interface ReadIngresses {
  readonly ingresses: Ingress[];
  readonly malformed: MalformedIngress[];
  readonly services: ServicePorts[];
  readonly skipped: string[];
}

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || v === null || ok(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Every Ingress in a YAML stream (List items included); other kinds are named so none is skipped
 * silently. Items are hostile until checked: one whose metadata, annotations or rules do not have
 * the types an Ingress has is reported in `malformed`, and the others are still read.
 */
export function readIngresses(text: string): ReadIngresses {
  const out: ReadIngresses = { ingresses: [], malformed: [], services: [], skipped: [] };
  let position = 0;
  const visit = (doc: unknown) => {
    position++;
    if (!isMap(doc)) return;
    if (doc.kind === 'List' && Array.isArray(doc.items)) return doc.items.forEach(visit);
    const meta = isMap(doc.metadata) ? doc.metadata : {};
    const name = isString(meta.name) ? meta.name : undefined;
    if (doc.kind === 'Ingress') {
      const id = name !== undefined ? `${isString(meta.namespace) ? meta.namespace : 'default'}/${name}` : `Ingress #${position}`;
      const problem = ingressProblem(doc);
      if (problem) out.malformed.push({ id, problem });
      else out.ingresses.push(doc as unknown as Ingress);
      return;
    }
    if (doc.kind === 'Service' && name !== undefined && isMap(doc.spec) && Array.isArray(doc.spec.ports)) {
      const ports = new Map<string, number>();
      for (const p of doc.spec.ports) if (isMap(p) && isString(p.name) && Number.isInteger(p.port)) ports.set(p.name, p.port as number);
      out.services.push({ namespace: isString(meta.namespace) ? meta.namespace : 'default', name, ports });
    }
    out.skipped.push(`${isString(doc.kind) ? doc.kind : '(no kind)'} ${name ?? ''}`.trim());
  };
  yaml.loadAll(text, visit, { schema: yaml.CORE_SCHEMA });
  return out;
}

/** Why an Ingress item cannot be read as one, or undefined. */
function ingressProblem(doc: Record<string, unknown>): string | undefined {
  const meta = doc.metadata;
  if (!isMap(meta)) return 'metadata is not a mapping';
  if (!isString(meta.name) || meta.name === '') return 'metadata.name is not a string';
  if (!optional(meta.namespace, isString)) return 'metadata.namespace is not a string';
  if (!optional(meta.annotations, isMap)) return 'metadata.annotations is not a mapping';
  for (const [k, v] of Object.entries((meta.annotations ?? {}) as Record<string, unknown>)) {
    if (!isString(v)) return `annotation ${k.slice(0, 100)} is not a string`;
  }
  if (!optional(meta.labels, isMap)) return 'metadata.labels is not a mapping';
  const spec = doc.spec;
  if (!optional(spec, isMap)) return 'spec is not a mapping';
  if (!isMap(spec)) {
    doc.spec = {};
    return undefined;
  }
  if (!optional(spec.tls, Array.isArray)) return 'spec.tls is not a list';
  if (!optional(spec.rules, Array.isArray)) return 'spec.rules is not a list';
  for (const [i, rule] of ((spec.rules ?? []) as unknown[]).entries()) {
    if (!isMap(rule) || !optional(rule.host, isString)) return `spec.rules[${i}] is not a rule with a host`;
    if (!optional(rule.http, (h) => isMap(h) && Array.isArray(h.paths))) return `spec.rules[${i}].http has no list of paths`;
    for (const [j, p] of (((rule.http as { paths?: unknown[] } | null)?.paths ?? []) as unknown[]).entries()) {
      const at = `spec.rules[${i}].http.paths[${j}]`;
      if (!isMap(p) || !optional(p.path, isString) || !optional(p.pathType, isString) || !isMap(p.backend)) return `${at} is not a path with a backend`;
      const svc = p.backend.service;
      if (!optional(svc, (s) => isMap(s) && isString(s.name) && isMap(s.port))) return `${at}.backend.service has no name and port`;
      const port = (svc as { port?: Record<string, unknown> } | null)?.port;
      if (port && !optional(port.number, Number.isInteger)) return `${at}.backend.service.port.number is not a number`;
      if (port && !optional(port.name, isString)) return `${at}.backend.service.port.name is not a string`;
    }
  }
  return undefined;
}

/** The ingress-nginx annotations of an Ingress, without the prefix. */
export function nginxAnnotations(ing: Ingress): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(ing.metadata.annotations ?? {})) if (k.startsWith(NGINX_PREFIX)) out.set(k.slice(NGINX_PREFIX.length), v);
  return out;
}

/** The Service behind an in-cluster auth-url (`http://name.namespace.svc[.cluster.local]:port/path`). */
export function serviceOf(
  authUrl: string,
  defaultNamespace: string,
): { name: string; namespace: string; port: number; path: string; origin: string } | undefined {
  let url: URL;
  try {
    url = new URL(authUrl);
  } catch {
    return undefined;
  }
  const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(url.hostname);
  if (!m || (m[2] === undefined && url.hostname.includes('.'))) return undefined;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { name: m[1]!, namespace: m[2] ?? defaultNamespace, port, path: url.pathname, origin: url.origin };
}

/** Whether an auth-url points at airy-auth's auth_request endpoint (so airy-auth's other adapters apply). */
export function isAiryAuth(authUrl: string): boolean {
  try {
    return new URL(authUrl).pathname === '/auth';
  } catch {
    return false;
  }
}
