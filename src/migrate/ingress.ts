import yaml from 'js-yaml';

/** The parts of a networking.k8s.io/v1 Ingress that a migration reads. */
export interface Ingress {
  apiVersion: string;
  kind: 'Ingress';
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    ingressClassName?: string;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: {
      host?: string;
      http?: { paths: { path?: string; pathType?: string; backend: { service?: { name: string; port: { number?: number; name?: string } } } }[] };
    }[];
  };
}

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

/** Every Ingress in a YAML stream (List items included); other kinds are named so none is skipped silently. */
export function readIngresses(text: string): { ingresses: Ingress[]; skipped: string[] } {
  const ingresses: Ingress[] = [];
  const skipped: string[] = [];
  const visit = (doc: unknown) => {
    if (!doc || typeof doc !== 'object') return;
    const o = doc as { kind?: string; items?: unknown[]; metadata?: { name?: string } };
    if (o.kind === 'List' && Array.isArray(o.items)) return o.items.forEach(visit);
    if (o.kind === 'Ingress') ingresses.push(doc as Ingress);
    else skipped.push(`${o.kind ?? '(no kind)'} ${o.metadata?.name ?? ''}`.trim());
  };
  yaml.loadAll(text, visit, { schema: yaml.CORE_SCHEMA });
  return { ingresses, skipped };
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
